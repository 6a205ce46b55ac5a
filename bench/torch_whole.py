"""The PyTorch (and scikit-learn / imbalanced-learn) side of bench/whole_run.sh: whole commands that do
the work of a tailor command, timed from the outside by the script (so Python's and the libraries'
start-up count, as tailor's does).

  torch_whole.py train ARCH EPOCHS SEED   the docs/results.md recipe (bench/torch_ref.py's data view,
                                          augmentation and SGD loop) on ARCH (cnn, resnet32), then
                                          the evaluation pass on the 10,000 test images and its metrics
  torch_whole.py eval RUN                 RUN/model.safetensors (python/tailor_torch.py) on the test
                                          images, batches of 256 as `tailor eval`, and the metrics
  torch_whole.py predict RUN              the same pass, logits and softmax as CSV on stdout, as
                                          `tailor predict` writes them
  torch_whole.py mlp TRAIN.csv TEST.csv EPOCHS [smote]
                                          scikit-learn's MLPClassifier (256/128, batch 128, SGD lr 0.01 (0.1 diverges without BN),
                                          momentum 0.9, L2 5e-4) for EPOCHS epochs, with
                                          imbalanced-learn's SMOTE (k = 5, every class to the largest)
                                          first when `smote` is given; accuracy on TEST

Threads: TORCH_THREADS (torch), OPENBLAS_NUM_THREADS (numpy). Each mode prints one `seconds=` line
(the time inside the process, after imports) to stderr.
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def test_pass(model, xt, mean, std, batch=256):
    import torch
    model.eval()
    with torch.no_grad():
        return torch.cat([model((torch.from_numpy(xt[i:i + batch])[:, None] - mean) / std)
                          for i in range(0, len(xt), batch)])


def main():
    mode = sys.argv[1]
    t0 = time.time()
    if mode in ("train", "eval", "predict"):
        import torch
        import torch_ref as R
        import tailor_torch
        torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
        x, y, xt, yt = R.load_view()
        counts, mean, std = R.stats(x, y)
        t0 = time.time()
        if mode == "train":
            arch, epochs, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
            torch.manual_seed(seed)
            model = tailor_torch.build(arch, (1, 28, 28), R.C)
            R.train(model, x, y, mean, std, seed, epochs, lambda xb, yb, e: torch.nn.functional.cross_entropy(model(xb), yb))
        else:
            model = tailor_torch.load(os.path.join(sys.argv[2], "model.safetensors"))
        z = test_pass(model, xt, mean, std)
        if mode == "predict":
            p = torch.softmax(z, 1).numpy()
            zn = z.numpy()
            out = sys.stdout
            out.write("index,class," + ",".join(f"logit_{c}" for c in range(R.C)) + "," +
                      ",".join(f"prob_{c}" for c in range(R.C)) + "\n")
            for i in range(len(zn)):
                out.write(f"{i},{int(zn[i].argmax())}," + ",".join(f"{v:.9g}" for v in zn[i]) + "," +
                          ",".join(f"{v:.9g}" for v in p[i]) + "\n")
        else:
            m = R.metrics(z.argmax(1).numpy(), yt, counts)
            print(f"balanced_accuracy={m['balanced_accuracy']:.4f}")
    elif mode == "mlp":
        import csv
        import warnings
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
        from sklearn.preprocessing import StandardScaler
        warnings.simplefilter("ignore", ConvergenceWarning)
        def read(path):  # header row, numeric features, the label last (R's write.csv)
            with open(path, newline="") as f:
                rows = list(csv.reader(f))[1:]
            return np.array([r[:-1] for r in rows], np.float32), np.array([r[-1] for r in rows])
        (xs, ys), (xq, yq) = read(sys.argv[2]), read(sys.argv[3])
        epochs = int(sys.argv[4])
        t0 = time.time()
        scale = StandardScaler().fit(xs)
        xs, xq = scale.transform(xs), scale.transform(xq)
        if len(sys.argv) > 5 and sys.argv[5] == "smote":
            from imblearn.over_sampling import SMOTE
            t1 = time.time()
            xs, ys = SMOTE(k_neighbors=5, random_state=0).fit_resample(xs, ys)
            print(f"smote_seconds={time.time() - t1:.3f}", file=sys.stderr)
        clf = MLPClassifier(hidden_layer_sizes=(256, 128), batch_size=128, max_iter=epochs, solver="sgd",
                            learning_rate_init=0.01, momentum=0.9, alpha=5e-4, tol=0, n_iter_no_change=epochs + 1,
                            random_state=0)
        clf.fit(xs, ys)
        print(f"accuracy={(clf.predict(xq) == yq).mean():.4f}")
    else:
        sys.exit(f"unknown mode {mode}")
    print(f"seconds={time.time() - t0:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main()
