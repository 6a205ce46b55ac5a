/* The subcommands of `tailor`; each returns the process exit status. */
#ifndef TL_CLI_COMMANDS_H
#define TL_CLI_COMMANDS_H
#include "cli/options.h"

int tl_cmd_train(int argc, char **argv);
int tl_cmd_eval(int argc, char **argv);
int tl_cmd_predict(int argc, char **argv);
int tl_cmd_data(int argc, char **argv);
int tl_cmd_compare(int argc, char **argv);
int tl_cmd_retrain(int argc, char **argv);
int tl_cmd_plot(int argc, char **argv);
int tl_cmd_distill(int argc, char **argv);
int tl_cmd_study(int argc, char **argv);
/* Whether argv are `tailor train` options (names known, values present); for tailor study's grid. */
int tl_train_options_check(int argc, char **argv, tl_error *err);
/* The `tailor train` options the run folder DIR was made with (DIR/config.json) into *run, for the
 * commands that read a run's settings. */
int tl_train_settings(tl_opts *run, const char *dir, tl_error *err);
#endif
