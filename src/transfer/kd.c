/* Hinton knowledge distillation and the --distill kd hook (docs/methods.md §10.1). */
#include <math.h>
#include <stdlib.h>
#include "core/error.h"
#include "train/hook.h"
#include "transfer/kd.h"
#include "transfer/teacher.h"

/* Allocates nothing (it runs every training step): each log-probability is formed where it is used. */
double tl_kd_loss(float *dzs, const float *zs, const float *zt, int N, int C, double T, double w) {
    double total = 0;
    for (int i = 0; i < N; i++) {
        const float *a = zs + (size_t)i * C, *b = zt + (size_t)i * C;
        double ma = -INFINITY, mb = -INFINITY, sa = 0, sb = 0;
        for (int j = 0; j < C; j++) { ma = fmax(ma, a[j] / T); mb = fmax(mb, b[j] / T); }
        for (int j = 0; j < C; j++) { sa += exp(a[j] / T - ma); sb += exp(b[j] / T - mb); }
        double la = ma + log(sa), lb = mb + log(sb);
        for (int j = 0; j < C; j++) {
            double ls = a[j] / T - la, lt = b[j] / T - lb, pt = exp(lt);
            if (pt > 0) total += pt * (lt - ls);
            if (dzs) dzs[(size_t)i * C + j] += (float)(w * T / N * (exp(ls) - pt));
        }
    }
    return T * T * total / N;
}

/* ---- the hook: L = task·(task loss) + alpha·L_KD (the additive form of the RKD code by default;
 * Hinton's convex form is task=1−a, alpha=a) ---- */
typedef struct {
    tl_teacher teacher;
    double T, alpha, task;
} kd_hook;

static int kd_create(tl_hook *k, tl_spec *spec, const tl_hook_env *env, tl_error *err) {
    kd_hook *h = calloc(1, sizeof *h);
    if (!h) return tl_fail(err, "out of memory");
    k->priv = h;
    if (tl_spec_double(spec, "T", 4, &h->T, err) || tl_spec_double(spec, "alpha", 1, &h->alpha, err) ||
        tl_spec_double(spec, "task", 1, &h->task, err))
        return -1;
    return tl_teacher_for_hook(&h->teacher, spec, env, 1, err);
}

static int kd_loss(tl_hook *k, tl_model *m, const int *y, double *loss, float *dfeat, tl_error *err) {
    (void)y;
    kd_hook *h = k->priv;
    if (tl_teacher_forward(&h->teacher, tl_model_input(m), err)) return -1;
    tl_hook_scale_task(m, dfeat, h->task);
    double kd = tl_kd_loss(m->dlogits, m->logits, h->teacher.model.logits, m->N, m->cfg.num_classes, h->T, h->alpha);
    *loss = h->task * *loss + h->alpha * kd;
    return 0;
}

static void kd_destroy(tl_hook *k) {
    kd_hook *h = k->priv;
    if (h) tl_teacher_close(&h->teacher);
    free(h);
}

const tl_hook_ops tl_hook_kd = {.name = "kd", .option = "--distill", .create = kd_create, .loss = kd_loss,
                                .destroy = kd_destroy,
    .keys = "T=4,alpha=1,task=1",
    .help = "Hinton distillation: task·(task loss) + alpha·T²·KL(teacher ‖ student) at temperature T"};
