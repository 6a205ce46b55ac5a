#include <math.h>
#include "spec/spec.h"
#include "train/schedule.h"

int tl_schedule_parse(tl_schedule *out, const char *text, const char *option, tl_error *err) {
    static const char *const names[] = {"constant", "step", "cosine"};
    tl_spec s;
    if (tl_spec_parse(&s, text, option, err)) return -1;
    int kind = tl_spec_lookup(&s, names, sizeof names[0], 3, err);
    if (kind < 0) return -1;
    *out = (tl_schedule){.kind = kind, .gamma = 1.0};
    if (kind == TL_SCHEDULE_STEP) {
        double ms[TL_SCHEDULE_MAX_MILESTONES] = {160, 180};
        int n = 2;
        if (tl_spec_doubles(&s, "milestones", ms, TL_SCHEDULE_MAX_MILESTONES, &n, err) ||
            tl_spec_double(&s, "gamma", 0.01, &out->gamma, err) || tl_spec_check_unused(&s, err))
            return -1;
        for (int i = 0; i < n; i++) {
            if (ms[i] != floor(ms[i]) || ms[i] < 1 || ms[i] > 1e6)
                return tl_spec_fail(err, &s, "milestone %g is not an epoch number >= 1", ms[i]);
            if (i && ms[i] <= ms[i - 1])
                return tl_spec_fail(err, &s, "milestones must increase (%g after %g)", ms[i], ms[i - 1]);
            out->milestones[i] = (int)ms[i];
        }
        out->nmilestones = n;
    } else if (kind == TL_SCHEDULE_COSINE) {
        if (tl_spec_double(&s, "min", 0.0, &out->eta_min, err) || tl_spec_check_unused(&s, err)) return -1;
    } else if (tl_spec_check_unused(&s, err)) {
        return -1;
    }
    return 0;
}

double tl_schedule_lr(const tl_schedule *s, double base, int epoch, int epochs) {
    if (epoch < s->warmup) return base * (epoch + 1) / s->warmup;
    double lr = base;
    if (s->kind == TL_SCHEDULE_STEP) {
        for (int i = 0; i < s->nmilestones; i++)
            if (s->milestones[i] <= epoch) lr *= s->gamma;
    } else if (s->kind == TL_SCHEDULE_COSINE && epochs > 0) {
        lr = s->eta_min + (base - s->eta_min) * (1 + cos(M_PI * epoch / epochs)) / 2;
    }
    return lr;
}

double tl_schedule_lr_at_step(const tl_schedule *s, double base, int epoch, int epochs, int step, int steps) {
    if (epoch < s->warmup && steps > 0)
        return base * ((double)epoch * steps + step + 1) / ((double)s->warmup * steps);
    return tl_schedule_lr(s, base, epoch, epochs);
}

int tl_epoch_scale(int epoch, int from, int to) {
    return (int)((2LL * epoch * to + from) / (2LL * from));
}

int tl_warmup_scale(int warmup, int from, int to) {
    if (warmup <= 0) return 0;
    int w = tl_epoch_scale(warmup, from, to);
    return w < 1 ? 1 : w;
}

void tl_schedule_scale(tl_schedule *s, int from, int to) {
    for (int i = 0; i < s->nmilestones; i++) s->milestones[i] = tl_epoch_scale(s->milestones[i], from, to);
    s->warmup = tl_warmup_scale(s->warmup, from, to);
}
