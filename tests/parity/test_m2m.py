"""M2m parity (docs/methods.md §12): the objective CE(g(x), k) + λ·f_k0(x) (batch means over the S slot rows)
and its gradient with respect to the [0, 1] pixels p, through both networks in evaluation mode, each
with its own input normalisation x = (255·p − mean)/std, and one normalised step
p ← clamp(p − η·G/(‖G‖ + 1e-10), 0, 1); tailor (tests/parity/m2m_dump.c) against autograd on the PyTorch
modules of python/tailor_torch.py loaded from the same model files. As in test_models.py, each tensor
must agree with the float64 reference within max(1e-4, 2 x the error of PyTorch's own float32 run)."""
import torch
import torch.nn.functional as F

import parity
import st
import tailor_torch


def run_torch(out, dump, dtype):
    f = tailor_torch.load(out + ".f.model").to(dtype).eval()
    g = tailor_torch.load(out + ".g.model").to(dtype).eval()
    S, lam, eta = int(dump["S"]), float(dump["lambda"]), float(dump["eta"])
    k = torch.tensor(dump["k"][:S], dtype=torch.long)
    k0 = torch.tensor(dump["k0"][:S], dtype=torch.long)
    p = torch.tensor(dump["p"], dtype=dtype, requires_grad=True)

    def norm(name):
        mean = torch.tensor(dump["mean_" + name], dtype=dtype)[None, :, None, None]
        std = torch.tensor(dump["std_" + name], dtype=dtype)[None, :, None, None]
        return (255 * p - mean) / std

    loss = F.cross_entropy(g(norm("g"))[:S], k) + lam * f(norm("f"))[:S].gather(1, k0[:, None]).mean()
    (G,) = torch.autograd.grad(loss, [p])
    with torch.no_grad():
        n = G[:S].flatten(1).norm(dim=1)[:, None, None, None]
        p1 = p.detach().clone()
        p1[:S] = torch.clamp(p1[:S] - eta * G[:S] / (n + 1e-10), 0, 1)
    return {"loss": loss.detach().double().numpy(), "G": G.double().numpy(), "p_step": p1.double().numpy()}


def check(farch, garch, fhead):
    with parity.dump("m2m_dump", farch, garch, fhead, parity.FILE) as out:
        dump, _ = st.load(out)
        ref64 = run_torch(out, dump, torch.float64)
        ref32 = run_torch(out, dump, torch.float32)
    for key in ref64:
        parity.close_to_torch(f"f {farch}/{fhead}, g {garch}: {key}", dump[key], ref64[key], ref32[key])


check("cnn", "mlp", "linear")
check("mlp", "cnn", "cosine:s=16")
check("cnn", "cnn", "linear")
parity.finish()
