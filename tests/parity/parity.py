"""Shared scaffolding of the PyTorch parity tests, imported first by every tests/parity/test_*.py (it is
not a test itself: tests/run.sh runs test_*.py only). Importing it puts python/ (st, tailor_torch) on
the path and sets BUILD (the build folder in TL_BUILD). It gives dump/load to run a dump program of
BUILD/tests/parity into a temporary folder, report to count results, close and close_to_torch (the
relative-error rules the tests compare tensors with), loss_and_grad, model_steps (PyTorch's side of
model_dump's whole-model dump), and finish for the
"N passed, N failed" last line that tests/run.sh parses."""
import contextlib
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import st  # noqa: E402

BUILD = os.environ.get("TL_BUILD", "build")
FILE, DIR = object(), object()  # stand-ins in dump()'s arguments for its temporary file or folder
passed = failed = 0


def report(ok, what):
    global passed, failed
    passed, failed = passed + bool(ok), failed + (not ok)
    print(("ok   " if ok else "FAIL ") + what)


def finish():
    """The summary line, then exit non-zero if anything failed."""
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


@contextlib.contextmanager
def dump(name, *args, env=None):
    """Runs BUILD/tests/parity/NAME ARGS with FILE in ARGS replaced by a safetensors path in a fresh
    temporary folder (DIR: by that folder) and yields that path while the folder lives (with anything
    else the program wrote there). If the program fails, that is reported with its stderr and the
    test finishes."""
    with tempfile.TemporaryDirectory() as d:
        path = d if DIR in args else os.path.join(d, "dump.safetensors")
        argv = [os.path.join(BUILD, "tests", "parity", name)] + [path if a is FILE or a is DIR else a for a in args]
        r = subprocess.run(argv, env=env, capture_output=True, text=True)
        if r.returncode != 0:
            report(False, f"{name}: exit {r.returncode}: {r.stderr.strip()}")
            finish()
        yield path


def load(name, *args):
    """(tensors, metadata) of the safetensors file BUILD/tests/parity/NAME ARGS FILE writes."""
    with dump(name, *args, FILE) as path:
        return st.load(path)


def cases(tensors, meta):
    """(case, its metadata string, its tensors with the "case." prefix dropped) for each case of a dump
    file that keys every tensor by its case."""
    for cs, desc in meta.items():
        yield cs, desc, {k.split(".", 1)[1]: v for k, v in tensors.items() if k.split(".", 1)[0] == cs}


def array(a):
    """float64 numpy array of a numpy array, number or torch tensor."""
    return np.asarray(a.detach() if hasattr(a, "detach") else a, dtype=np.float64)


def rel_err(got, want, floor):
    """max |got − want| / max(max |want|, floor): the error relative to the tensor's largest magnitude,
    floor keeping it finite for tensors that vanish; inf where the shapes differ, 0 for empty ones."""
    got, want = array(got), array(want)
    if got.shape != want.shape:
        return float("inf")
    return np.abs(got - want).max(initial=0.0) / max(np.abs(want).max(initial=0.0), floor)


def close(name, got, want, tol, floor=1e-12):
    """Reports whether rel_err(got, want, floor) <= tol."""
    err = rel_err(got, want, floor)
    report(err <= tol, f"{name}  rel err {err:.2e} (tol {tol:.1e})")


def close_to_torch(name, got, want64, want32):
    """The whole-model rule: got within max(1e-4, 2 x the error of PyTorch's own float32 run want32) of
    the float64 reference want64, errors relative to the largest magnitude floored at 1e-2 (for
    tensors that vanish in exact arithmetic, like the gradient of a bias feeding a BatchNorm)."""
    close(name, got, want64, max(1e-4, 2 * rel_err(want32, want64, 1e-2)), floor=1e-2)


def loss_and_grad(what, got_loss, want_loss, got_grad, want_grad, loss_rtol, grad_rtol, grad_atol):
    """One check of a loss (relative error <= loss_rtol) and its gradient (np.allclose with grad_rtol and
    grad_atol: tailor stores gradients in float32)."""
    got_loss, want_loss, got_grad, want_grad = float(got_loss), float(want_loss), array(got_grad), array(want_grad)
    ok_l = abs(got_loss - want_loss) <= loss_rtol * abs(want_loss)
    same = got_grad.shape == want_grad.shape
    ok_g = same and np.allclose(got_grad, want_grad, rtol=grad_rtol, atol=grad_atol)
    err_g = np.max(np.abs(got_grad - want_grad) / np.maximum(np.abs(want_grad), grad_atol)) if same else np.inf
    report(ok_l and ok_g, f"{what}: loss {got_loss:.9g} vs {want_loss:.9g}, max rel grad diff {err_g:.1e}")


def model_steps(model, dump, dtype, labels=True):
    """What model_dump dumped, recomputed by PyTorch in dtype on `model` (holding the dump's initial
    weights): training-mode logits, loss, input and parameter gradients, the running statistics after
    that forward, the parameters and statistics after 3 SGD steps, evaluation-mode logits. labels:
    the module's forward takes the labels (tailor_torch's modules; torchvision's do not)."""
    import torch
    import torch.nn.functional as F
    model = model.to(dtype).train()
    fwd = (lambda x, y: model(x, y)) if labels else (lambda x, y: model(x))
    out = {}
    x = torch.tensor(dump["x"], dtype=dtype, requires_grad=True)
    y = torch.tensor(dump["y"], dtype=torch.long)
    logits = fwd(x, y)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    out["logits"], out["loss"], out["input_grad"] = logits.detach(), loss.detach(), x.grad
    for name, p in model.named_parameters():
        out["grad/" + name] = p.grad.clone()
    for name, b in model.named_buffers():
        if "num_batches" not in name:
            out["state1/" + name] = b.clone()
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=5e-4, nesterov=True)
    xs, ys = dump["steps/x"], dump["steps/y"]
    for s in range(3):  # step 0 uses the gradients computed above, as the C side does
        if s > 0:
            opt.zero_grad()
            ys_s = torch.tensor(ys[s], dtype=torch.long)
            F.cross_entropy(fwd(torch.tensor(xs[s], dtype=dtype), ys_s), ys_s).backward()
        opt.step()
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        if "num_batches" not in name:
            out["final/" + name] = t.detach().clone()
    model.eval()
    with torch.no_grad():
        out["eval_logits"] = model(torch.tensor(dump["x"], dtype=dtype))
    return {k: v.double().numpy() for k, v in out.items()}
