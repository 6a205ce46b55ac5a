"""README.md's "From Python" block works as typed: it runs in a fresh interpreter from the repository
root (PYTHONPATH=python, as the README says) and prints what it says (ten lines at most)."""
import os
import re
import subprocess
import sys

from check import check, finish

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
with open(os.path.join(root, "README.md")) as f:
    readme = f.read()
m = re.search(r"^## From Python\n.*?^```python\n(.*?)^```", readme, re.S | re.M)
check("README has a From Python block", m is not None and len(m.group(1).splitlines()) <= 10)
r = subprocess.run([sys.executable, "-c", m.group(1) if m else ""], cwd=root, capture_output=True, text=True,
                   env=dict(os.environ, PYTHONPATH=os.path.join(root, "python")))
lines = r.stdout.splitlines()
check("the block runs as typed", r.returncode == 0, r.stderr[-500:])
check("it prints predictions, the report's metrics and the estimator's score",
      len(lines) >= 4 and lines[0].startswith("[") and 0 < float(lines[-1]) <= 1, r.stdout)
finish()
