"""The Python package tailor on arrays: data sets, training, prediction, features, reports, saving
and loading, pickling, progress and cancellation (a callback, a token, Ctrl-C), the logging callback,
and errors raised as Python exceptions carrying tailor's own message."""
import logging
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading

import numpy as np

import tailor
from check import blobs, check, finish, raises

tmp = tempfile.mkdtemp(prefix="tailor-py-")
x, y = blobs([300, 60, 12])
xt, yt = blobs([40, 40, 40], seed=1)
SMALL = dict(model="mlp", hidden=16, epochs=3, batch=32, threads=1, optim="sgd:lr=0.05,momentum=0.9,wd=5e-4")


def test_data():
    d = tailor.Dataset(x, y, test=(xt, yt))
    check("Dataset: rows, classes and counts from arrays",
          d.num_classes == 3 and d.rows("train") == 372 and d.rows("test") == 120 and d.rows("val") == 0
          and list(d.class_counts()) == [300, 60, 12])
    check("Dataset: labels read back", np.array_equal(d.labels("test"), yt) and d.class_names is None)
    v = d.view(lt="exp:10", val=2)
    check("Dataset.view: the long-tailed cut and the held-out validation rows",
          list(v.class_counts()) == [298, 58, 10] and v.rows("val") == 6 and v.rows("test") == 120)
    path = os.path.join(tmp, "train.csv")
    with open(path, "w") as f:
        f.write("a,b,c,d,label\n")
        for row, label in zip(x, y):
            f.write(",".join("%.9g" % v for v in row) + ",%d\n" % label)
    s = tailor.Dataset("csv:" + path, lt="exp:10", val=2)
    check("Dataset(spec): the same view as the arrays'", list(s.class_counts()) == [298, 58, 10] and s.rows("val") == 6)
    named = tailor.Dataset(x, y, class_names=["a", "b", "c"])
    check("Dataset: class names", named.class_names == ["a", "b", "c"])
    d64 = tailor.Dataset(x.astype(np.float64), y.astype(np.float64))
    check("Dataset: float64 rows and whole-number float labels are taken", list(d64.class_counts()) == [300, 60, 12])
    raises("Dataset: a label out of range names the row", tailor.TailorError, r"train row 371 has label 3",
           tailor.Dataset, x, np.where(np.arange(len(y)) == 371, 3, y), num_classes=3)
    bad = xt.copy()
    bad[5, 2] = np.nan
    raises("Dataset: a NaN names the row and column", tailor.TailorError, r"test row 5, column 2 is not a finite number",
           tailor.Dataset, x, y, test=(bad, yt))
    raises("Dataset: one class is refused by tailor", tailor.TailorError, r"num_classes 1",
           tailor.Dataset, x, np.zeros(len(y), int))
    raises("Dataset: a missing file is named", tailor.TailorError, r"/nonexistent/train\.csv",
           tailor.Dataset, "csv:/nonexistent/train.csv")
    raises("Dataset: fractional labels", TypeError, r"whole numbers", tailor.Dataset, x, y + 0.5)
    raises("Dataset: one label per row", ValueError, r"expected 372 labels", tailor.Dataset, x, y[:-1])
    raises("Dataset: rows of another width in the test split", ValueError, r"split test", tailor.Dataset, x, y,
           test=(xt[:, :3], yt))
    raises("Dataset: a 1-D array", ValueError, r"feature rows \[n, d\] or images", tailor.Dataset, x[:, 0], y)
    raises("Dataset: float images", TypeError, r"uint8", tailor.Dataset, np.zeros((4, 8, 8)), np.arange(4) % 2)
    check("TailorError is a ValueError", issubclass(tailor.TailorError, ValueError))


def test_train_predict():
    d = tailor.Dataset(x, y, test=(xt, yt))
    seen = []
    m = tailor.train(d, progress=lambda s: seen.append((s.epoch, s.step, s.epoch_end)), **SMALL)
    steps = 372 // 32
    check("train: the progress callback sees every step and epoch",
          len([s for s in seen if not s[2]]) == 3 * steps and [s[0] for s in seen if s[2]] == [0, 1, 2], str(seen[-3:]))
    check("Model: classes, features and input shape", m.num_classes == 3 and m.feature_dim == 16 and m.input_shape == (4, 1, 1))
    labels, probs, logits = m.predict(xt), m.predict_proba(xt), m.logits(xt)
    check("predict / predict_proba / logits: shapes and types",
          labels.shape == (120,) and probs.shape == (120, 3) and logits.shape == (120, 3) and probs.dtype == np.float32)
    check("predict_proba: rows sum to 1, argmax is predict",
          np.allclose(probs.sum(1), 1, atol=1e-5) and np.array_equal(probs.argmax(1), labels) and np.array_equal(logits.argmax(1), labels))
    check("predict: better than chance on the blobs", (labels == yt).mean() > 0.5, str((labels == yt).mean()))
    check("predict on the Dataset's split = predict on its arrays", np.array_equal(m.logits(d, "test"), logits))
    check("predict on float64 rows", np.array_equal(m.logits(xt.astype(np.float64)), logits))
    feats = m.features(xt)
    check("features: [n, D], the same from arrays and from the Dataset",
          feats.shape == (120, 16) and np.array_equal(feats, m.features(d, "test")))
    la = m.predict(xt, rule="logit-adjust:tau=1")
    check("an inference rule moves predictions toward the rare class", (la == 2).sum() >= (labels == 2).sum())
    raises("tau=auto without a validation split", tailor.TailorError, r"tau=auto needs the run's validation set",
           m.predict, xt, rule="logit-adjust:tau=auto")
    raises("an unknown inference rule", tailor.TailorError, r"--posthoc", m.predict, xt, rule="bogus")
    raises("predict: rows of the wrong width", ValueError, r"shape \(4,\)", m.predict, xt[:, :3])
    r = m.evaluate(d)
    recall = [np.mean(labels[yt == k] == k) for k in range(3)]
    check("evaluate: the report as a dict, its metrics those of the predictions",
          r["schema"] and abs(r["accuracy"] - (labels == yt).mean()) < 1e-12
          and abs(r["balanced_accuracy"] - np.mean(recall)) < 1e-12 and r["run"]["model"] == "mlp", str(r.get("run")))
    again = tailor.train(d, **SMALL)
    check("train: the same options and data give the same model, bit for bit", np.array_equal(again.logits(xt), logits))
    check("Model.config: the resolved options", m.config["hidden"] == "16" and m.config["epochs"] == "3")

    run = os.path.join(tmp, "run")
    m.save(run)
    raises("save: an existing folder is refused", tailor.TailorError, r"already exists", m.save, run)
    # A model opened from its folder runs at another batch size (256 rows, not --batch), which can
    # move a logit in its last bits (include/tailor.h, tl_run_set_batch, says why): the same classes,
    # logits within float32 rounding.
    back = tailor.load(run)
    check("save + load: the same classes and logits", np.array_equal(back.predict(xt), labels)
          and np.allclose(back.logits(xt), logits, rtol=0, atol=1e-5) and back.config == m.config
          and sorted(os.listdir(run)) == ["config.json", "metrics.jsonl", "model.safetensors", "train_counts.json"])
    check("save + load: a rule that needs the training counts (theirs travel in train_counts.json)",
          np.array_equal(back.predict(xt, rule="logit-adjust:tau=1"), la))
    raises("load: a missing run folder", tailor.TailorError, r"no such run folder", tailor.load, os.path.join(tmp, "none"))
    p = pickle.loads(pickle.dumps(m))
    check("pickle: the same classes and logits", np.array_equal(p.predict(xt), labels)
          and np.allclose(p.logits(xt), logits, rtol=0, atol=1e-5))
    check("pickle: a rule that needs the training counts", np.array_equal(p.predict(xt, rule="logit-adjust:tau=1"), la)
          and np.array_equal(pickle.loads(pickle.dumps(back)).predict(xt, rule="logit-adjust:tau=1"), la))

    # The logging callback: --init says which tensors it loaded, through the logger "tailor".
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("tailor").addHandler(handler)
    logging.getLogger("tailor").setLevel(logging.INFO)
    tailor.train(d, init=os.path.join(run, "model.safetensors"), **dict(SMALL, epochs=1))
    logging.getLogger("tailor").removeHandler(handler)
    check("the library's log lines reach the logger 'tailor'",
          any("--init" in rec.getMessage() and "loaded" in rec.getMessage() for rec in records),
          str([rec.getMessage() for rec in records]))

    dv = tailor.Dataset(x, y, test=(xt, yt), val=5)
    crt = m.retrain(dv, "crt", epochs=2, threads=1)
    check("retrain: a new model on the frozen backbone (crt), this one unchanged",
          np.array_equal(crt.features(xt), feats) and not np.array_equal(crt.logits(xt), logits)
          and np.array_equal(m.logits(xt), logits) and crt.config["head"] == "linear")
    raises("retrain: an unknown method", tailor.TailorError, r"^--method: unknown name 'nope' \(valid: crt, ncm, tau, lws\)",
           m.retrain, dv, "nope")
    raises("retrain: an unknown option lists the valid ones", tailor.TailorError, r"unknown option 'nope' \(valid: sampler",
           m.retrain, dv, "crt", nope=1)
    raises("retrain: data of the wrong type", TypeError, r"tailor.Dataset", m.retrain, xt, "crt")
    raises("train: an unknown loss, with the command's message", tailor.TailorError,
           r"^--loss: unknown name 'nope' \(valid: ce, ", tailor.train, d, loss="nope", **SMALL)
    raises("train: an unknown option lists the valid ones", tailor.TailorError,
           r"unknown option 'nosuch'.*sampler", tailor.train, d, nosuch=1)
    raises("train: a value out of range", tailor.TailorError, r"--optim sgd: lr=1e\+30 must be <= 10",
           tailor.train, d, **dict(SMALL, optim="sgd:lr=1e30"))
    raises("train: data of the wrong type", TypeError, r"tailor.Dataset", tailor.train, x)
    check("train: underscores for dashes, sequences joined by /",
          tailor.train(d, **dict(SMALL, hidden=(8, 8), feat_dim=8, backbone_lr_mult=0.5)).config["hidden"] == "8/8")


def test_images():
    rng = np.random.default_rng(2)
    yi = np.arange(90) % 3
    px = (rng.uniform(0, 30, size=(90, 8, 8)) + 20).astype(np.uint8)
    for i, k in enumerate(yi):
        px[i, 3 * k] += 180
    d = tailor.Dataset(px, yi, test=(px, yi))
    m = tailor.train(d, **dict(SMALL, model="cnn"))
    check("images: a cnn on uint8 [n, h, w]", m.input_shape == (1, 8, 8) and np.array_equal(m.predict(px), m.predict(d)))
    check("images: [n, h, w, 1] is the same", np.array_equal(m.logits(px[..., None]), m.logits(px)))
    check("images: features of arrays = features of the Dataset's split",
          m.features(px).shape == (90, m.feature_dim) and np.array_equal(m.features(px), m.features(d, "test")))
    raises("images: the feature model refuses pixels", ValueError, r"images of shape", m.predict, px[:, :4])


def test_cancel():
    d = tailor.Dataset(x, y)
    e = raises("a progress callback returning True stops training", tailor.Cancelled,
               r"^training stopped at epoch 0, step 2$", tailor.train, d, progress=lambda s: s.step == 1, **SMALL)
    check("Cancelled is a TailorError", isinstance(e, tailor.TailorError))
    token = tailor.CancelToken()
    threading.Timer(0.2, token.cancel).start()
    raises("a CancelToken set from another thread stops training", tailor.Cancelled, r"training stopped at epoch",
           tailor.train, d, cancel=token, **dict(SMALL, epochs=100000))

    early = tailor.CancelToken()
    early.cancel()
    e = raises("a bad option with a set token: the option's error", tailor.TailorError, r"^--loss",
               tailor.train, d, cancel=early, **dict(SMALL, loss="nope"))
    check("... which is not a Cancelled", e is not None and not isinstance(e, tailor.Cancelled))
    raises("a token set before training stops it at the first step", tailor.Cancelled, r"epoch 0, step 1$",
           tailor.train, d, cancel=early, **SMALL)

    def boom(s):
        raise RuntimeError("from the callback")
    raises("an exception in the callback stops training and is raised", RuntimeError, "from the callback",
           tailor.train, d, progress=boom, **SMALL)
    # Ctrl-C during a long training with no callback of the caller's: KeyboardInterrupt, promptly.
    # The child takes Python's own Ctrl-C handler whatever it inherited: a suite started in the
    # background by a non-interactive shell runs with SIGINT ignored, and the signal would be lost.
    child = subprocess.Popen([sys.executable, "-c", """
import signal, sys, tailor
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.path.insert(0, %r)
from check import blobs
x, y = blobs([300, 60, 12])
d = tailor.Dataset(x, y)
print("ready", flush=True)
try:
    tailor.train(d, model="mlp", hidden=16, epochs=100000, batch=32, threads=1)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(3)
""" % os.path.dirname(os.path.abspath(__file__))], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = child.stdout.readline()
    threading.Event().wait(0.5)
    child.send_signal(signal.SIGINT)
    try:
        out, err = child.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
    check("Ctrl-C stops training and raises KeyboardInterrupt", line.strip() == "ready" and child.returncode == 3
          and "interrupted" in out, "rc %s: %s %s" % (child.returncode, out, err))


def test_library_lookup():
    env = dict(os.environ, TAILOR_LIB="/nonexistent/libtailor.so.0")
    r = subprocess.run([sys.executable, "-c", "import tailor"], env=env, capture_output=True, text=True)
    check("TAILOR_LIB naming no library: ImportError naming it",
          r.returncode != 0 and "ImportError: tailor: cannot load libtailor: tried /nonexistent/libtailor.so.0 (not there)"
          in r.stderr, r.stderr[-300:])
    check("tailor.__version__ is the library's", tailor.__version__.count(".") == 2)
    names = dict(tailor.Config.names())
    check("Config.names: the command's options with their help", "loss" in names and "out" not in names and names["epochs"])


test_data()
test_train_predict()
test_images()
test_cancel()
test_library_lookup()
finish()
