#!/usr/bin/env bash
# The ImageNet ResNets from the command, on a small 32x32 grayscale IDX set the test writes itself
# (10 classes, 16 training and 4 test images each): fine-tuning from a converted torchvision model
# (--init reproduces its logits, --freeze keeps the frozen tensors bitwise, a different class count
# gets a new classifier), the run's model loads strictly into torchvision and gives tailor's logits,
# the methods of tailor on these backbones, every architecture trains, and bad input gives one clear
# error line and no run folder.
. "$(dirname "$0")/lib.sh"
export PYTHONPATH=$PWD/python

$PY - "$tmp" <<'EOF' || bad "making the data and the torchvision models"
import os, struct, sys
import numpy as np, torch
import tailor_convert, tailor_torch
tmp = sys.argv[1]
rng = np.random.default_rng(0)
os.makedirs(f"{tmp}/d")
for pre, n in (("train", 16), ("t10k", 4)):
    y = np.repeat(np.arange(10), n).astype(np.uint8)
    x = rng.integers(0, 256, size=(len(y), 32, 32)).astype(np.uint8)
    x[:, :8, :8] = y[:, None, None] * 25   # a class cue
    open(f"{tmp}/d/{pre}-images-idx3-ubyte", "wb").write(struct.pack(">IIII", 0x803, len(x), 32, 32) + x.tobytes())
    open(f"{tmp}/d/{pre}-labels-idx1-ubyte", "wb").write(struct.pack(">II", 0x801, len(y)) + y.tobytes())
torch.manual_seed(0)
def save(arch, classes, name, edit=None):
    sd = tailor_torch.torchvision_resnet(arch, classes, in_ch=1).state_dict()
    if edit:
        edit(sd)
    tailor_convert.to_tailor(sd, arch, f"{tmp}/{name}.safetensors", (1, 32, 32), mean=(120.0,), std=(60.0,))
    return sd
save("resnet10", 10, "init")
save("resnet10", 5, "init5")
save("resnet18", 10, "r18")
save("resnet10", 10, "missing", lambda sd: sd.pop("layer1.0.conv1.weight"))
save("resnet10", 10, "shape", lambda sd: sd.__setitem__("layer2.0.conv2.weight", torch.zeros(128, 128, 1, 1)))
EOF
D=idx:$tmp/d
common="--data $D --epochs 1 --batch 16 --augment none --quiet"

# --init with everything but a negligible head step frozen: tailor predict gives the torchvision
# model's evaluation logits on the same (normalised as the file says) images.
if $T train $common --model resnet10 --init "$tmp/init.safetensors" --freeze backbone \
    --optim sgd:lr=1e-12,momentum=0,wd=0 --out "$tmp/a" >"$tmp/a.out" 2>"$tmp/a.err"; then ok "train --init"; else bad "train --init: $(cat "$tmp/a.err")"; fi
check "--init note" "grep -q -- '--init .*init.safetensors: loaded 62 of 62 tensors' '$tmp/a.out'"
check "--init note in report.json" "grep -q '\"init_loaded\": *\"loaded 62 of 62 tensors\"' '$tmp/a/report.json'"
$T predict --run "$tmp/a" --input "$tmp/d/t10k-images-idx3-ubyte" >"$tmp/a.csv" 2>"$tmp/e" || bad "predict: $(cat "$tmp/e")"
$PY - "$tmp" <<'EOF' && ok "--init reproduces the torchvision logits; frozen backbone bitwise; strict load into torchvision" || bad "--init logits / frozen backbone / interop"
import sys
import numpy as np, torch
import st, tailor_convert, tailor_torch
tmp = sys.argv[1]
raw = np.fromfile(f"{tmp}/d/t10k-images-idx3-ubyte", dtype=np.uint8, offset=16).reshape(-1, 1, 32, 32)
x = torch.from_numpy((raw.astype(np.float32) - 120) / 60)
got = np.loadtxt(f"{tmp}/a.csv", delimiter=",", skiprows=1)[:, 2:12]
for path in (f"{tmp}/init.safetensors", f"{tmp}/a/model.safetensors"):
    tv = tailor_torch.torchvision_resnet("resnet10", 10, in_ch=1)
    tv.load_state_dict(tailor_convert.to_state_dict(path), strict=True)
    with torch.no_grad():
        want = tv.eval()(x).numpy()
    err = np.abs(got - want).max() / np.abs(want).max()
    assert err < 1e-4, (path, err)
a, _ = st.load(f"{tmp}/init.safetensors")
b, _ = st.load(f"{tmp}/a/model.safetensors")
assert all(np.array_equal(a[k], b[k]) for k in a if not k.startswith("fc.") and "num_batches" not in k)
EOF

# A 5-class file for a 10-class run: a new classifier; stem, layer1 and layer2 frozen, layer3 trains
# at a tenth of the learning rate.
$T train $common --model resnet10 --init "$tmp/init5.safetensors" --freeze layer2 --backbone-lr-mult 0.1 \
    --out "$tmp/b" >"$tmp/b.out" 2>"$tmp/e" || bad "train --init (5 classes): $(cat "$tmp/e")"
check "--init note: new classifier" "grep -q 'loaded 60 of 62 tensors; 2 re-initialised (fc.weight, fc.bias)' '$tmp/b.out'"
check "--init note in report.json: new classifier" "grep -q '\"init_loaded\": *\"loaded 60 of 62 tensors; 2 re-initialised (fc.weight, fc.bias)\"' '$tmp/b/report.json'"
$PY - "$tmp" <<'EOF' && ok "--freeze layer2: stem, layer1, layer2 bitwise; layer3 trained" || bad "--freeze layer2"
import sys
import numpy as np
import st
a, _ = st.load(sys.argv[1] + "/init5.safetensors")
b, _ = st.load(sys.argv[1] + "/b/model.safetensors")
front = [k for k in a if k.startswith(("conv1.", "bn1.", "layer1.", "layer2.")) and "num_batches" not in k]
assert len(front) == 5 + 10 + 15 and all(np.array_equal(a[k], b[k]) for k in front)
assert not np.array_equal(a["layer3.0.conv1.weight"], b["layer3.0.conv1.weight"])
assert not np.array_equal(a["layer3.0.bn1.running_mean"], b["layer3.0.bn1.running_mean"])
EOF

# tailor's methods on these backbones (one short epoch each), stage 2 and distillation from run a.
for extra in "--sampler class --loss ldam:drw=1,weights=effective --epochs 2" "--head arcface:s=30,m=0.5" "--ssl sla:sd=1" "--open 9 --head rpl" "--teacher $tmp/a --distill kd" \
    "--teacher $tmp/a --distill rkd" "--teacher $tmp/a --synth m2m:steps=1,start=0"; do
    r="$tmp/m-$(echo "$extra" | tr -c 'a-z0-9' _)"
    # shellcheck disable=SC2086
    if $T train $common --model resnet10 $extra --out "$r" >/dev/null 2>"$tmp/e" && [ -f "$r/report.json" ]; then
        ok "resnet10 $extra"
    else
        bad "resnet10 $extra: $(cat "$tmp/e")"
    fi
done
for m in crt lws ncm; do
    $T retrain --run "$tmp/a" --method $m --epochs 1 --quiet --out "$tmp/s-$m" >/dev/null 2>"$tmp/e" && ok "retrain $m" || bad "retrain $m: $(cat "$tmp/e")"
done
# Every architecture trains from the command (the torchvision ones in one batch of 16).
for arch in resnet18 resnet34 resnet50 resnext50 "resnet18:zero_init_residual=1"; do
    $T train --data "$D" --lt exp:10 --epochs 1 --batch 16 --quiet --model "$arch" --feat-dim 32 --out "$tmp/x-${arch//[:=]/_}" >/dev/null 2>"$tmp/e" \
        && ok "train --model $arch" || bad "train --model $arch: $(cat "$tmp/e")"
done

# Bad input: one line naming the option and the problem, no run folder.
expect_error "--init: another architecture" "--init .*r18.safetensors: does not fit the resnet10 model: 48 unexpected (layer1.1.conv1.weight, " \
    $T train $common --model resnet10 --init "$tmp/r18.safetensors" --out "$tmp/bad1"
expect_error "--init: a missing tensor" "1 missing (layer1.0.conv1.weight)" \
    $T train $common --model resnet10 --init "$tmp/missing.safetensors" --out "$tmp/bad2"
expect_error "--init: a mis-shaped tensor" "layer2.0.conv2.weight: 128x128x1x1 in the file, 128x128x3x3 here" \
    $T train $common --model resnet10 --init "$tmp/shape.safetensors" --out "$tmp/bad3"
expect_error "--init: no such file" "^tailor: --init: .*nope.safetensors" \
    $T train $common --model resnet10 --init "$tmp/nope.safetensors" --out "$tmp/bad4"
expect_error "--freeze layer5" "--freeze layer5: the resnet10 model has no such part" \
    $T train $common --model resnet10 --freeze layer5 --out "$tmp/bad5"
expect_error "--freeze stem on the cnn" "--freeze stem: the cnn model has no such part" \
    $T train $common --model cnn --freeze stem --out "$tmp/bad6"
expect_error "--freeze bad value" "--freeze: unknown value 'head'" $T train $common --model resnet10 --freeze head --out "$tmp/bad7"
expect_error "--backbone-lr-mult -1" "--backbone-lr-mult: '-1' is not a number >= 0" \
    $T train $common --model resnet10 --backbone-lr-mult -1 --out "$tmp/bad8"
expect_error "--model key" "--model resnet18: unknown key 'zero_init'" $T train $common --model resnet18:zero_init=1 --out "$tmp/bad9"
expect_error "images under 32x32" "--model resnet18: needs images of at least 32x32, got 28x28" \
    $T train --data fashion-mnist --lt exp:100 --epochs 1 --quiet --model resnet18 --out "$tmp/bad10"
finish
