"""Per-call conv timings, tailor (bench/bench_conv.c) against PyTorch, on the conv shapes of the two
reference models at batch 128, at 1 and 2 threads. Prints a markdown table: milliseconds (median),
GFLOP/s and the speed-up tailor/torch for forward, backward data and backward weights.
The machine may be shared, and other load only slows a run down, so tailor and torch alternate for
ROUNDS rounds and each figure is the lowest of its per-round medians.
Usage: /usr/bin/python3 bench/bench_conv.py [REPS [ROUNDS]]   (env TL_BUILD, default build)"""
import os
import subprocess
import sys
import time

SHAPES = [  # name, C, H, OC, stride, bias  (K = 3, pad = 1)
    ("cnn1 1x28x28->32", 1, 28, 32, 1, 1), ("cnn2 32x14x14->64", 32, 14, 64, 1, 1),
    ("cnn3 64x7x7->128", 64, 7, 128, 1, 1), ("rn1 3x32x32->16", 3, 32, 16, 1, 0),
    ("rn2 16x32x32->16", 16, 32, 16, 1, 0), ("rn3 16x32x32->32 s2", 16, 32, 32, 2, 0),
    ("rn4 32x16x16->32", 32, 16, 32, 1, 0), ("rn5 32x16x16->64 s2", 32, 16, 64, 2, 0),
    ("rn6 64x8x8->64", 64, 8, 64, 1, 0),
]
N = 128


def torch_times(nt, reps):
    """Run in a child so that OMP_NUM_THREADS is in place before torch (and oneDNN) start."""
    code = f"""
import time, torch, torch.nn.functional as F
torch.set_num_threads({nt}); torch.manual_seed(0)
for name, C, H, OC, s, bias in {SHAPES!r}:
    x = torch.randn({N}, C, H, H); w = torch.randn(OC, C, 3, 3); b = torch.randn(OC) if bias else None
    with torch.no_grad():
        y = F.conv2d(x, w, b, s, 1)
        dy = torch.randn_like(y)
        ts = [[], [], []]
        for i in range(-3, {reps}):
            t0 = time.perf_counter(); F.conv2d(x, w, b, s, 1); t1 = time.perf_counter()
            torch.ops.aten.convolution_backward(dy, x, w, [OC] if bias else None, [s, s], [1, 1], [1, 1],
                                                False, [0, 0], 1, [True, False, False]); t2 = time.perf_counter()
            torch.ops.aten.convolution_backward(dy, x, w, [OC] if bias else None, [s, s], [1, 1], [1, 1],
                                                False, [0, 0], 1, [False, True, bool(bias)]); t3 = time.perf_counter()
            if i >= 0: ts[0].append(t1 - t0); ts[1].append(t2 - t1); ts[2].append(t3 - t2)
    print(name, *[1e3 * sorted(t)[len(t) // 2] for t in ts], sep="\\t")
"""
    return run([sys.executable, "-c", code], nt)


def run(cmd, nt):
    env = dict(os.environ, OMP_NUM_THREADS=str(nt), OPENBLAS_NUM_THREADS=str(nt))
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return {l.split("\t")[0]: [float(v) for v in l.split("\t")[1:]] for l in out.strip().split("\n")}


def lowest(acc, new):
    for k, v in new.items():
        acc[k] = [min(a, b) for a, b in zip(acc[k], v)] if k in acc else v


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    build = os.environ.get("TL_BUILD", "build")
    print("| threads | shape | pass | tailor ms | torch ms | tailor GFLOP/s | torch GFLOP/s | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    for nt in (1, 2):
        tl, th = {}, {}
        for _ in range(rounds):
            lowest(tl, run([os.path.join(build, "bench", "bench_conv"), str(nt), str(reps)], nt))
            lowest(th, torch_times(nt, reps))
        tot = [0.0, 0.0]
        for name, C, H, OC, s, bias in SHAPES:
            OH = (H + 2 - 3) // s + 1
            flop = 2.0 * N * OC * OH * OH * C * 9
            for k, pas in enumerate(("fwd", "bwd data", "bwd w")):
                a, b = tl[name][k], th[name][k]
                if not (k == 1 and name.startswith(("cnn1", "rn1"))):  # first layers need no dinp
                    tot[0] += a; tot[1] += b
                print(f"| {nt} | {name} | {pas} | {a:.3f} | {b:.3f} | {flop / a / 1e6:.1f} | {flop / b / 1e6:.1f} | {b / a:.2f} |")
        print(f"| {nt} | all (first-layer bwd data excluded) | sum | {tot[0]:.2f} | {tot[1]:.2f} | | | {tot[1] / tot[0]:.2f} |")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
