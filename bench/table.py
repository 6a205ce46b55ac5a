"""Markdown table rows of the accuracy benchmarks (bench/results_*.sh, bench/study.sh, through bench_py of
bench/lib.sh): cells of mean ± sample std over seeds, in percent, of the metrics in tailor's report.json
files and in the PyTorch references' JSON lines."""
import glob
import json
import os
import statistics


def cell(values, missing="—", one="", of=None):
    """Mean ± sample std of the values that are not None, times 100, to 2 decimals: a single value alone
    and then ONE; MISSING when there is none; with OF, a count other than OF is noted ("(2 seeds)")."""
    v = [x * 100 for x in values if x is not None]
    if not v:
        return missing
    if len(v) == 1:
        return f"{v[0]:.2f}{one}"
    note = "" if of in (None, len(v)) else f" ({len(v)} seeds)"
    return f"{statistics.mean(v):.2f} ± {statistics.stdev(v):.2f}{note}"


def cells(rows, keys, missing="—"):
    """The cells of KEYS over ROWS (dicts; a key a row lacks counts as no value), joined with " | "."""
    return " | ".join(cell([r.get(k) for r in rows], missing) for k in keys)


def line(*columns):
    """One Markdown table row."""
    return "| " + " | ".join(str(c) for c in columns) + " |"


def runs(pattern):
    """The finished run folders matching the glob PATTERN (those with a report.json), sorted."""
    return [os.path.dirname(p) for p in sorted(glob.glob(pattern + "/report.json"))]


def reports(pattern):
    """The report.json of each run folder matching PATTERN, sorted by folder."""
    return [load(d + "/report.json") for d in runs(pattern)]


def load(path):
    with open(path) as f:
        return json.load(f)


def jsonl(path):
    """The rows of a JSON-lines file; none when it is not there."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f]


def by_impl(out, method, ref, folders="-s*"):
    """METHOD's rows in tailor (the reports of OUT/METHOD<FOLDERS>) and in PyTorch (those of REF):
    (("tailor", rows), ("PyTorch", rows))."""
    return ("tailor", reports(f"{out}/{method}{folders}")), ("PyTorch", [r for r in ref if r["method"] == method])


LABELS = {"accuracy": "accuracy", "balanced_accuracy": "balanced acc", "macro_f1": "macro F1"}
GROUP_KEYS = ["balanced_accuracy", "macro_f1", "head", "mid", "tail"]


def impl_table(out, methods, first="method", keys=GROUP_KEYS, folders="-s*"):
    """Print the Markdown table of METHODS in tailor (run folders OUT/METHOD<FOLDERS>) and in PyTorch
    (OUT/torch.jsonl), one row per method and implementation, with the cells of KEYS."""
    ref = jsonl(f"{out}/torch.jsonl")
    print(line(first, "impl", "seeds", *(LABELS.get(k, k) for k in keys)))
    print("|---|---|" + "---:|" * (len(keys) + 1))
    for m in methods:
        for impl, rs in by_impl(out, m, ref, folders):
            print(line(m, impl, len(rs), cells(rs, keys)))
