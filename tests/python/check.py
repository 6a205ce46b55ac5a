"""Shared helpers of the Python package's tests (tests/python/test_*.py; this file is not a test):
ok/bad counting, raises() for error cases, finish() for the "N passed, N failed" line tests/run.sh
parses, and blobs() for a small long-tailed data set of Gaussian blobs."""
import re
import sys

import numpy as np

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok  ", name)
    else:
        failed += 1
        print("FAIL", name, detail)


def raises(name, exc, pattern, fn, *args, **kwargs):
    """fn(*args, **kwargs) raises exc (or a subclass) whose message matches the regular expression."""
    try:
        fn(*args, **kwargs)
    except exc as e:
        check(name, re.search(pattern, str(e)) is not None, "message: %s" % e)
        return e
    except BaseException as e:  # noqa: B902 - reported as the failure it is
        check(name, False, "raised %s: %s" % (type(e).__name__, e))
        return None
    check(name, False, "raised nothing")
    return None


def finish():
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


def blobs(per_class, dim=4, seed=0, spread=0.7):
    """Rows of Gaussian blobs in dim dimensions, class k centred at 2 * e_k: float32 x, int y."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(size=(n, dim)) * spread + 2.0 * np.eye(dim)[k] for k, n in enumerate(per_class)])
    y = np.concatenate([np.full(n, k) for k, n in enumerate(per_class)])
    return x.astype(np.float32), y
