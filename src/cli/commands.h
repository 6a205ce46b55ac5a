/* The subcommands of `tailor`; each returns the process exit status. */
#ifndef TL_CLI_COMMANDS_H
#define TL_CLI_COMMANDS_H

int tl_cmd_train(int argc, char **argv);
int tl_cmd_eval(int argc, char **argv);
int tl_cmd_predict(int argc, char **argv);
int tl_cmd_data(int argc, char **argv);
int tl_cmd_compare(int argc, char **argv);
int tl_cmd_retrain(int argc, char **argv);
int tl_cmd_plot(int argc, char **argv);
int tl_cmd_distill(int argc, char **argv);
int tl_cmd_study(int argc, char **argv);
#endif
