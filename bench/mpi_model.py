#!/usr/bin/env python3
"""The scaling model of issue 17 (bench/mpi.sh runs it): how a data-parallel `tailor train` job
would scale to 1..64 machines of 2 and 32 cores, from what one machine measured.

Per step of a global batch B on M machines (one rank per machine, its cores as threads):
  compute   = B * t_img / (c * M)            t_img: core-seconds per image, from the 1 process x 2
                                             threads run (2 / its images/s), taken to hold at c cores
  gradients = 2 (M-1)/M * 4 P / bw + 2 (M-1) a    the ring all-reduce of P float32 parameters
  BN sync   = 2 n_bn * 2 (M-1) a              a ring sum per BN layer in the forward and the backward
                                             pass (2 C doubles: latency, not bandwidth)
  efficiency = compute / (compute + gradients + BN sync)   (tailor sums after the backward pass:
                                                            no overlap)
Links: 10 Gbit/s Ethernet (TCP, latency a = 25 us) and 100 Gbit/s (RDMA, a = 3 us): assumed, not
measured. Two batch rules: B = 128 whatever M (the recipe's batch, strong scaling) and B = 128 per
machine (weak scaling, a larger global batch).
Usage: bench/mpi_model.py ARCH IMAGES_PER_SECOND_1x2 MEASURED_COLLECTIVE_MS_PER_STEP RUN_DIR
"""
import json
import struct
import sys

arch, ips, measured_ms, run = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
raw = open(f"{run}/model.safetensors", "rb").read()
header = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])
header.pop("__metadata__", None)
state = ("running_mean", "running_var", "num_batches_tracked")
P = sum((v["data_offsets"][1] - v["data_offsets"][0]) // 4 for k, v in header.items() if not k.endswith(state))
n_bn = sum(k.endswith("running_mean") for k in header)
t_img = 2 / ips
links = [("10 Gbit/s", 10e9 / 8, 25e-6), ("100 Gbit/s", 100e9 / 8, 3e-6)]
machines = [1, 2, 4, 8, 16, 32, 64]

print(f"### {arch}: {P} parameters ({4 * P / 1e6:.2f} MB summed per step), {n_bn} BN layers, "
      f"{1e3 * t_img:.2f} core-ms per image; measured on 2 ranks here: {measured_ms:.2f} ms per step in the collectives")
print()
print("| cores per machine | link | batch | " + " | ".join(f"{m} machines" for m in machines) + " |")
print("|--:|:--|:--|" + "--:|" * len(machines))
for cores in (2, 32):
    for name, bw, lat in links:
        for rule in ("128", "128 per machine"):
            cells = []
            for M in machines:
                B = 128 * M if rule != "128" else 128
                compute = B * t_img / (cores * M)
                grads = 2 * (M - 1) / M * 4 * P / bw + 2 * (M - 1) * lat
                bn = 2 * n_bn * 2 * (M - 1) * lat
                cells.append(f"{100 * compute / (compute + grads + bn):.0f}%")
            print(f"| {cores} | {name} | {rule} | " + " | ".join(cells) + " |")
print()
