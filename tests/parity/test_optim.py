"""Parity of src/train/optim.c and schedule.c with torch.optim (PyTorch 1.13).

build/tests/parity/optim_dump runs 5 steps of each optimizer spec on random float32 params with a
fixed sequence of random gradients, over three parameter groups (full lr with weight decay; lr x0.1
without decay; frozen), with the lr changing every step. Here torch.optim does the same on float32
tensors; final params and optimizer state must agree to rtol 1e-6. The schedules' 20 learning rates
are compared with torch.optim.lr_scheduler (MultiStepLR, CosineAnnealingLR) and the LDAM-DRW warm-up.
"""
import math

import numpy as np
import torch

import parity
from parity import report

STEPS, EPOCHS, BASE = 5, 20, 0.1
GROUPS = [(0, 600, 1.0, True), (600, 900, 0.1, False)]   # the frozen [900, N) is left out


def parse(spec):
    name, _, rest = spec.partition(":")
    kv = dict(p.split("=") for p in rest.split(",")) if rest else {}
    return name, {k: float(v) for k, v in kv.items()}


def torch_run(spec, p0, grads):
    """Returns (params, state as one flat array in tailor's layout) after STEPS steps."""
    name, kv = parse(spec)
    tensors = [torch.tensor(p0[b:e]).requires_grad_() for b, e, _, _ in GROUPS]
    if name == "sgd":
        lr, mom, wd = kv.get("lr", 0.1), kv.get("momentum", 0.9), kv.get("wd", 5e-4)
        groups = [{"params": [t], "lr": lr * m, "weight_decay": wd if d else 0.0}
                  for t, (_, _, m, d) in zip(tensors, GROUPS)]
        opt = torch.optim.SGD(groups, lr=lr, momentum=mom, nesterov=bool(kv.get("nesterov", 0)))
    else:
        lr, wd = kv.get("lr", 1e-3), kv.get("wd", 1e-2 if name == "adamw" else 0.0)
        groups = [{"params": [t], "lr": lr * m, "weight_decay": wd if d else 0.0}
                  for t, (_, _, m, d) in zip(tensors, GROUPS)]
        cls = torch.optim.AdamW if name == "adamw" else torch.optim.Adam
        opt = cls(groups, lr=lr, betas=(kv.get("beta1", 0.9), kv.get("beta2", 0.999)), eps=kv.get("eps", 1e-8))
    for s in range(STEPS):
        for t, g, (b, e, m, _) in zip(tensors, opt.param_groups, GROUPS):
            t.grad = torch.tensor(grads[s, b:e])
            g["lr"] = lr * (1.0 - 0.1 * s) * m
        opt.step()
    params = p0.copy()
    n = len(p0)
    state = np.zeros(2 * n if name != "sgd" else n, np.float32)
    for t, (b, e, _, _) in zip(tensors, GROUPS):
        params[b:e] = t.detach().numpy()
        stt = opt.state[t]
        if name == "sgd" and stt.get("momentum_buffer") is not None:
            state[b:e] = stt["momentum_buffer"].numpy()
        elif name != "sgd":
            state[b:e] = stt["exp_avg"].numpy()
            state[n + b:n + e] = stt["exp_avg_sq"].numpy()
    return params, state


def close(a, b, rtol):
    """allclose with rtol; the small atol only matters for values within 1e-2 of zero."""
    return np.allclose(a, b, rtol=rtol, atol=rtol * 1e-2)


def check_optimizers(t, meta):
    p0, grads = t["p0"], t["grads"]
    for key, spec in meta.items():
        if not (spec.startswith("sgd") or spec.startswith("adam")):
            continue
        want_p, want_s = torch_run(spec, p0, grads)
        got_p = t[key]
        diff = np.abs(got_p.astype(np.float64) - want_p) / np.maximum(np.abs(want_p), 1e-30)
        same = int(np.sum(got_p == want_p))
        print(f"     {key:13s} max rel diff {diff.max():.2e}, bitwise equal {same}/{len(p0)}")
        report(close(got_p, want_p, 1e-6), f"{key} ({spec}): params match torch.optim")
        report(np.array_equal(got_p[900:], p0[900:]), f"{key}: frozen group untouched")
        if f"{key}.state" in t:
            got_s = t[f"{key}.state"]
            n = len(p0)
            frozen_zero = not np.any(got_s[900:n]) and (len(got_s) == n or not np.any(got_s[n + 900:]))
            report(close(got_s, want_s, 1e-6) and frozen_zero, f"{key}: optimizer state matches, frozen state zero")
        else:
            report(not spec.startswith("adam") and "momentum=0" in spec, f"{key}: no state for plain SGD")


def torch_lrs(sched_fn):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=BASE)
    sched = sched_fn(opt)
    out = []
    for _ in range(EPOCHS):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def warm(lrs, w):
    return [BASE * (e + 1) / w if e < w else lr for e, lr in enumerate(lrs)]


def ldam_recipe_scaled(epoch0):
    """kaidic/LDAM-DRW adjust_learning_rate, 200-epoch recipe scaled to 20 epochs (docs/methods.md §0.6):
    warm-up 5 -> 1, milestones 160/180 -> 16/18."""
    epoch = epoch0 + 1
    if epoch <= 1:
        return BASE * epoch / 1
    if epoch > 18:
        return BASE * 0.0001
    if epoch > 16:
        return BASE * 0.01
    return BASE


def check_schedules(meta):
    MS, Cos = torch.optim.lr_scheduler.MultiStepLR, torch.optim.lr_scheduler.CosineAnnealingLR
    want = {
        "constant": [BASE] * EPOCHS,
        "step": torch_lrs(lambda o: MS(o, milestones=[8, 15], gamma=0.1)),
        "cosine": torch_lrs(lambda o: Cos(o, T_max=EPOCHS)),
        "cosine_min": torch_lrs(lambda o: Cos(o, T_max=EPOCHS, eta_min=0.001)),
        "step_warmup": warm(torch_lrs(lambda o: MS(o, milestones=[12, 16], gamma=0.01)), 3),
        "cosine_warmup": warm(torch_lrs(lambda o: Cos(o, T_max=EPOCHS)), 2),
        "recipe200": [ldam_recipe_scaled(e) for e in range(EPOCHS)],
    }
    closed = [BASE * (1 + math.cos(math.pi * e / EPOCHS)) / 2 for e in range(EPOCHS)]
    for key, lrs in want.items():
        got = [float(x) for x in meta[key].split()]
        ok = len(got) == EPOCHS and np.allclose(got, lrs, rtol=1e-12, atol=1e-15)
        report(ok, f"schedule {key}: 20 epochs match torch")
        if not ok:
            print("     got ", got, "\n     want", lrs)
    got = [float(x) for x in meta["cosine"].split()]
    report(got == closed, "schedule cosine: bitwise the closed form")


if __name__ == "__main__":
    t, meta = parity.load("optim_dump")
    check_optimizers(t, meta)
    check_schedules(meta)
    parity.finish()
