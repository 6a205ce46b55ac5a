/* Learning-rate schedules, evaluated once per epoch (docs/methods.md §0.6; epochs are 0-indexed), with an
 * optional linear warm-up that can also run per step.
 *   constant:  lr = base
 *   step:      lr = base · gamma^(number of milestones <= epoch)      torch MultiStepLR
 *   cosine:    lr = min + (base - min)·(1 + cos(π·e/T))/2, T = total  torch CosineAnnealingLR(T_max=T)
 *   warm-up W: lr = base·(e + 1)/W for e < W, then the schedule      (LDAM-DRW; docs/methods.md §15.1) */
#ifndef TL_TRAIN_SCHEDULE_H
#define TL_TRAIN_SCHEDULE_H
#include "tailor.h"

#define TL_SCHEDULE_MAX_MILESTONES 16

enum { TL_SCHEDULE_CONSTANT, TL_SCHEDULE_STEP, TL_SCHEDULE_COSINE };

typedef struct {
    int kind;
    int nmilestones;
    int milestones[TL_SCHEDULE_MAX_MILESTONES];   /* non-decreasing; a repeated one applies gamma twice */
    double gamma;                                 /* step */
    double eta_min;                               /* cosine: key `min` */
    int warmup;                                   /* warm-up epochs, 0 = none (set from --warmup) */
} tl_schedule;

/* Parses "constant", "step:milestones=160/180,gamma=0.01" (the defaults: 160/180 and 0.01) or
 * "cosine[:min=0]". Milestones must be integers >= 1 in increasing order. warmup is set to 0.
 * option (e.g. "--schedule") prefixes messages. */
int tl_schedule_parse(tl_schedule *out, const char *text, const char *option, tl_error *err);

/* The learning rate for epoch (0-based) of `epochs`. Multi-step multiplies by gamma once per
 * milestone passed (bitwise what MultiStepLR's chained updates give); cosine is the closed form. */
double tl_schedule_lr(const tl_schedule *s, double base, int epoch, int epochs);

/* As tl_schedule_lr, but warm-up advances per step: at step `step` (0-based) of `steps` per epoch,
 * lr = base·(epoch·steps + step + 1)/(warmup·steps), which meets the per-epoch value (e + 1)/W at
 * each epoch's last step. After warm-up it is the per-epoch schedule. */
double tl_schedule_lr_at_step(const tl_schedule *s, double base, int epoch, int epochs, int step, int steps);

/* docs/methods.md §0.6: a recipe written for `from` epochs run for `to` epochs scales its epoch numbers
 * proportionally, rounding half up: 160 -> 0.8·to, 180 -> 0.9·to (tl_epoch_scale). Warm-up keeps at
 * least one epoch: 5 -> max(1, round(0.025·to)) (tl_warmup_scale; 0 stays 0). */
int tl_epoch_scale(int epoch, int from, int to);
int tl_warmup_scale(int warmup, int from, int to);
/* Scales the milestones and warm-up of s in place. */
void tl_schedule_scale(tl_schedule *s, int from, int to);

#endif
