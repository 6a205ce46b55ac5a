"""Parity of tailor's evaluation metrics with reference formulas written here in numpy (float64).

tests/parity/metrics_dump.c writes random fixed inputs (labels, predictions, probabilities, training
counts, open-set scores) and tailor's metrics of them; this script recomputes every metric from the
inputs with the definitions of docs/methods.md §1.3 and §14 (scikit-learn semantics; sklearn itself is not
installed) and compares within 1e-9. AUROC here is the O(n^2) pair count, not the rank formula the C
code uses, so the two are independent.
"""
import json
import os

import numpy as np

import parity
import st

TOL = 1e-9


def check(name, got, want):
    """Every entry within TOL of want (relative above 1), NaN where want is NaN."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    same_nan = np.array_equal(np.isnan(got), np.isnan(want))
    ok = same_nan and got.shape == want.shape and np.all(
        np.abs(np.nan_to_num(got) - np.nan_to_num(want)) <= TOL * np.maximum(1.0, np.abs(np.nan_to_num(want))))
    parity.report(ok, name if ok else f"{name}: got {got} want {want}")


def null(v):
    return np.nan if v is None else v


def reference(y, p, prob, train):
    C = len(train)
    M = np.zeros((C, C), dtype=np.int64)
    np.add.at(M, (y, p), 1)
    tp = np.diag(M).astype(np.float64)
    n_true, n_pred = M.sum(1), M.sum(0)
    present = n_true > 0
    recall = np.where(present, tp / np.maximum(n_true, 1), np.nan)
    precision = np.where(n_pred > 0, tp / np.maximum(n_pred, 1), 0.0)
    r0 = np.nan_to_num(recall)
    f1 = np.where(precision + r0 > 0, 2 * precision * r0 / np.where(precision + r0 > 0, precision + r0, 1), 0.0)
    in_labels_or_preds = np.zeros(C, bool)
    in_labels_or_preds[np.union1d(y, p)] = True
    f1 = np.where(in_labels_or_preds, f1, np.nan)
    out = {
        "confusion": M,
        "accuracy": tp.sum() / len(y),
        "micro_f1": tp.sum() / len(y),
        "balanced_accuracy": recall[present].mean(),
        "macro_f1": f1[in_labels_or_preds].mean(),
        "precision": precision, "recall": recall, "f1": f1, "test_count": n_true,
    }
    shot = np.where(train > 100, 0, np.where(train >= 20, 1, 2))
    order = np.lexsort((np.arange(C), -train))   # count descending, label ascending
    rank = np.empty(C, int)
    rank[order] = np.arange(C)
    third = C // 3
    part = np.where(rank < third, 0, np.where(rank >= C - third, 2, 1))

    def group(mask):
        m = mask & present
        return recall[m].mean() if m.any() else np.nan

    for g, name in enumerate(["many", "medium", "few"]):
        out[name] = group(shot == g)
    for g, name in enumerate(["head", "mid", "tail"]):
        out[name] = group(part == g)
    out["shot"], out["part"] = shot, part

    conf = prob.astype(np.float64).max(1)
    ok = (p == y).astype(np.float64)
    ece = 0.0
    for b in range(15):
        lo, hi = b / 15, (b + 1) / 15
        m = (conf > lo) & (conf <= hi)
        if m.any():
            ece += m.sum() / len(y) * abs(ok[m].mean() - conf[m].mean())
    out["ece"] = ece
    return out


def auroc_pairs(s, pos):
    a, b = s[pos].astype(np.float64), s[~pos].astype(np.float64)
    gt = (a[:, None] > b[None, :]).sum()
    eq = (a[:, None] == b[None, :]).sum()
    return (gt + 0.5 * eq) / (len(a) * len(b))


def average_precision(s, pos):
    order = np.argsort(-s.astype(np.float64), kind="stable")
    s, pos = s[order], pos[order]
    last = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]   # last index of each distinct score
    tps = np.cumsum(pos)[last].astype(np.float64)
    fps = (last + 1) - tps
    precision = tps / (tps + fps)
    recall = tps / pos.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def main():
    with parity.dump("metrics_dump", parity.DIR) as d:
        k = 0
        while os.path.exists(os.path.join(d, f"case{k}.safetensors")):
            t, meta = st.load(os.path.join(d, f"case{k}.safetensors"))
            with open(os.path.join(d, f"case{k}.json")) as f:
                rep = json.load(f)
            y, p = t["labels"].astype(np.int64), t["pred"].astype(np.int64)
            train = t["train_count"].astype(np.int64)
            ref = reference(y, p, t["prob"], train)
            tag = f"case{k}"
            check(f"{tag} confusion", np.array(rep["confusion"]), ref["confusion"])
            for key in ["accuracy", "balanced_accuracy", "macro_f1", "micro_f1", "many", "medium", "few",
                        "head", "mid", "tail", "ece"]:
                check(f"{tag} {key}", null(rep[key]), ref[key])
            pc = rep["per_class"]
            for key in ["precision", "recall", "f1", "test_count", "train_count"]:
                want = train if key == "train_count" else ref[key]
                check(f"{tag} per_class {key}", [null(e[key]) for e in pc], want)
            check(f"{tag} shot", [["many", "medium", "few"].index(e["shot"]) for e in pc], ref["shot"])
            check(f"{tag} part", [["head", "mid", "tail"].index(e["part"]) for e in pc], ref["part"])
            s, pos = t["score"], t["positive"].astype(bool)
            check(f"{tag} auroc", float(meta["auroc"]), auroc_pairs(s, pos))
            check(f"{tag} aupr_in", float(meta["aupr_in"]), average_precision(s, pos))
            check(f"{tag} aupr_out", float(meta["aupr_out"]), average_precision(-s, ~pos))
            k += 1
        if k < 5:
            check("number of cases", k, 5)


if __name__ == "__main__":
    main()
    parity.finish()
