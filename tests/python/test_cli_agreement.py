"""The Python package and the `tailor` command agree: the same CSV files, options and seed give the
same model.safetensors, bit for bit (trained by `tailor train` and by tailor.train on the spec), the
same logits from the arrays themselves, the same predictions as `tailor predict`, the same report
as the command's report.json, and the same stage-2 models as `tailor retrain`."""
import csv
import json
import os
import subprocess
import tempfile

import numpy as np

import tailor
from check import blobs, check, finish

TAILOR = os.path.join(os.environ.get("TL_BUILD", "build"), "tailor")
tmp = tempfile.mkdtemp(prefix="tailor-agree-")
x, y = blobs([300, 60, 12])
xt, yt = blobs([40, 40, 40], seed=1)


def write_csv(path, rows, labels):
    with open(path, "w") as f:
        f.write("a,b,c,d,label\n")
        for row, label in zip(rows, labels):
            f.write(",".join("%.9g" % v for v in row) + ",%d\n" % label)   # 9 digits: float32 exactly


train_csv, test_csv = os.path.join(tmp, "train.csv"), os.path.join(tmp, "test.csv")
write_csv(train_csv, x, y)
write_csv(test_csv, xt, yt)
spec = "csv:%s,%s" % (train_csv, test_csv)
OPTIONS = dict(model="mlp", hidden="32/16", epochs=4, batch=32, threads=1, loss="balanced-softmax", sampler="sqrt",
               optim="sgd:lr=0.05,momentum=0.9,wd=5e-4", seed=7)


def cli(*args):
    return subprocess.run([TAILOR, *args], capture_output=True, text=True)


cmd = ["train", "--data", spec, "--out", os.path.join(tmp, "cli"), "--quiet"]
for name, value in OPTIONS.items():
    cmd += ["--" + name.replace("_", "-"), str(value)]
r = cli(*cmd)
check("tailor train ran", r.returncode == 0, r.stderr)


def read(path):
    with open(path, "rb") as f:
        return f.read()


from_spec = tailor.train(spec, **OPTIONS)
from_spec.save(os.path.join(tmp, "py"))
check("tailor.train on the spec: model.safetensors bit for bit the command's",
      read(os.path.join(tmp, "py", "model.safetensors")) == read(os.path.join(tmp, "cli", "model.safetensors")))
check("tailor.train on the spec: the same config.json",
      json.loads(read(os.path.join(tmp, "py", "config.json"))) == json.loads(read(os.path.join(tmp, "cli", "config.json"))))

from_arrays = tailor.train(tailor.Dataset(x, y, test=(xt, yt)), **OPTIONS)
check("tailor.train on the arrays: the logits of the command's model, bit for bit",
      np.array_equal(from_arrays.logits(xt), from_spec.logits(xt)))
# A model opened from its folder runs at another batch size than the trained one (256 rows, not
# --batch), which moves some logits by an ulp: the same classes, logits within float32 rounding.
cli_model = tailor.load(os.path.join(tmp, "cli"))
check("tailor.load of the command's run folder: the same classes, logits within 1e-5",
      np.array_equal(cli_model.predict(xt), from_arrays.predict(xt))
      and np.allclose(cli_model.logits(xt), from_arrays.logits(xt), rtol=0, atol=1e-5))

r = cli("predict", "--run", os.path.join(tmp, "cli"), "--input", test_csv)
rows = list(csv.DictReader(r.stdout.splitlines()))
check("tailor predict ran", r.returncode == 0 and len(rows) == len(yt), r.stderr)
pred = np.array([int(row["pred"]) for row in rows])
check("Model.predict: the classes of `tailor predict`", np.array_equal(from_arrays.predict(xt), pred))
probs = np.array([[float(row["prob_%d" % k]) for k in range(3)] for row in rows])
check("Model.predict_proba: the probabilities of `tailor predict` (as printed)",
      np.allclose(from_arrays.predict_proba(xt), probs, rtol=1e-5, atol=1e-7))

with open(os.path.join(tmp, "cli", "report.json")) as f:
    report = json.load(f)
mine = from_spec.evaluate(tailor.Dataset(spec))
same = all(mine[k] == report[k] for k in ("accuracy", "balanced_accuracy", "macro_f1", "many", "medium", "few", "ece"))
check("Model.evaluate: the metrics of the command's report.json", same and mine["per_class"] == report["per_class"]
      and mine["confusion"] == report["confusion"],
      str({k: (mine[k], report[k]) for k in ("accuracy", "balanced_accuracy")}))
# Stage 2 on the command's run folder: `tailor retrain` and Model.retrain on the same model and data.
for method in ("crt", "ncm:metric=cosine", "lws"):
    out = os.path.join(tmp, "cli-" + method.split(":")[0])
    r = cli("retrain", "--run", os.path.join(tmp, "cli"), "--method", method, "--epochs", "2", "--threads", "1",
            "--out", out, "--quiet")
    mine = cli_model.retrain(tailor.Dataset(spec), method, epochs=2, threads=1)
    mine.save(out + "-py")
    check("Model.retrain(%s): model.safetensors bit for bit that of `tailor retrain`" % method,
          r.returncode == 0 and read(os.path.join(out, "model.safetensors")) == read(os.path.join(out + "-py", "model.safetensors")),
          r.stderr)
finish()
