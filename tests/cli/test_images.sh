#!/usr/bin/env bash
# End-to-end tests of image collections of any size (tests/images.py makes them): the folder and list
# layouts give the same model; 1 and 3 loader workers, the cache on and off, and a SIGKILL + --resume
# give bitwise the same model; tailor data shows the classes and the image sizes; predict takes a
# folder and a single image; bad collections give one clear error line and no run folder.
. "$(dirname "$0")/lib.sh"

$PY tests/images.py collection "$tmp/c" || { bad "make the collection"; finish; }
F=folder:$tmp/c/folder
L=list:$tmp/c/folder,$tmp/c/list/train.txt,$tmp/c/list/test.txt,$tmp/c/list/val.txt
common="--size 32 --epochs 2 --batch 16 --quiet"

# tailor data: class names from the folders, sizes, what was skipped
$T data --data "$F" >"$tmp/data.txt" 2>&1
check "data: class names" "grep -q '| 0 | n00_a | 40 | 2 | 3 |' '$tmp/data.txt'"
check "data: sizes and skipped files" "grep -q 'image files: shorter side min 17 .*grayscale; 3 other files skipped' '$tmp/data.txt'"
$T data --data "$F" --lt exp:20 >"$tmp/data4.txt" 2>&1
check "data: a long-tailed view of a folder" "grep -q 'imbalance factor 20.00' '$tmp/data4.txt'"

# the same model from the folder and the list layouts, and from 1 and 3 workers, cache on and off
$T train --data "$F" $common --workers 1 --out "$tmp/w1" >/dev/null 2>"$tmp/e1" || bad "train on a folder: $(cat "$tmp/e1")"
$T train --data "$F" $common --workers 3 --cache-mb 0 --out "$tmp/w3" >/dev/null 2>&1
$T train --data "$L" $common --workers 2 --out "$tmp/list" >/dev/null 2>&1
check "1 worker = 3 workers without cache" "cmp -s '$tmp/w1/model.safetensors' '$tmp/w3/model.safetensors'"
# (the list layout names no classes, so only the tensors are compared, not the files' metadata)
check "folder = list" "$PY -c \"
import sys; sys.path.insert(0, 'python'); import st, numpy as np
a, _ = st.load('$tmp/w1/model.safetensors'); b, _ = st.load('$tmp/list/model.safetensors')
sys.exit(0 if a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a) else 1)\""
check "report names the classes" "grep -q '\"name\": \"n05_f\"' '$tmp/w1/report.json'"
check "config records the resolved transforms" "grep -q '\"eval-transform\": \"resize:size=37,center-crop:size=32\"' '$tmp/w1/config.json'"
$T eval --run "$tmp/w1" --out "$tmp/w1-eval" >/dev/null 2>&1
check "eval of a folder run gives the training report's figures" \
    "[ \"\$(grep -o '\"balanced_accuracy\": [0-9.e-]*' '$tmp/w1/report.json')\" = \"\$(grep -o '\"balanced_accuracy\": [0-9.e-]*' '$tmp/w1-eval/report.json')\" ]"
$T retrain --run "$tmp/w1" --method crt --epochs 1 --quiet --out "$tmp/crt" >/dev/null 2>&1
check "retrain on a folder run" "[ -f '$tmp/crt/model.safetensors' ]"

# the Decoupling recipe's transforms as written, gray images in colour and colour in gray
$T train --data "$F" --epochs 1 --batch 16 --quiet --augment random-resized-crop:size=40,flip,color-jitter:brightness=0.4,contrast=0.4,saturation=0.4 \
    --eval-transform resize:size=46,center-crop:size=40 --normalize imagenet --out "$tmp/dec" >/dev/null 2>"$tmp/e"
check "Decoupling transforms, ImageNet normalisation" "[ -f '$tmp/dec/model.safetensors' ] && grep -q '\"normalize\": \"imagenet\"' '$tmp/dec/config.json'"
$T train --data "$F" $common --channels 1 --out "$tmp/gray" >/dev/null 2>&1
check "--channels 1" "grep -q '\"channels\": \"1\"' '$tmp/gray/config.json'"

# predict: a folder (one row per image, path and class name) and a single image
$T predict --run "$tmp/w1" --input "$tmp/c/folder/test/n02_c" >"$tmp/p.csv" 2>"$tmp/pe"
check "predict a folder" "[ \$(wc -l <'$tmp/p.csv') = 4 ] && head -1 '$tmp/p.csv' | grep -q '^path,pred,logit_0.*,prob_5,pred_name$' && grep -q 'n02_c/001.*,n0[0-5]_[a-f]$' '$tmp/p.csv'"
one=$(ls "$tmp/c/folder/test/n01_b/"* | head -1)
$T predict --run "$tmp/w1" --input "$one" >"$tmp/p1.csv" 2>&1
check "predict one image" "[ \$(wc -l <'$tmp/p1.csv') = 2 ] && grep -q \"^$one,\" '$tmp/p1.csv'"

# SIGKILL mid-run, then --resume: the same model as the uninterrupted run
$T train --data "$F" --size 32 --epochs 2 --batch 8 --out "$tmp/k" --quiet >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do [ -f "$tmp/k.partial/checkpoint.safetensors" ] && break; sleep 0.05; done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
[ -d "$tmp/k.partial" ] && $T train --resume "$tmp/k" >/dev/null 2>&1
$T train --data "$F" --size 32 --epochs 2 --batch 8 --out "$tmp/k2" --quiet >/dev/null 2>&1
check "SIGKILL + --resume = uninterrupted" "cmp -s '$tmp/k/model.safetensors' '$tmp/k2/model.safetensors'"

# bad collections: one clear line, no run folder
cp -r "$tmp/c/folder" "$tmp/b1"
expect_error "--val with a val folder" "ships its own validation split" $T train --data "folder:$tmp/b1" $common --val 2 --out "$tmp/x1"
mkdir "$tmp/b1/train/zz_empty"
expect_error "a class folder without files" "zz_empty: the class folder holds no files" $T train --data "folder:$tmp/b1" $common --out "$tmp/x2"
echo "text" >"$tmp/b1/train/zz_empty/readme.txt"
expect_error "a class folder without images" "zz_empty: the class folder holds no PNG or JPEG image" $T train --data "folder:$tmp/b1" $common --out "$tmp/x3"
rm -r "$tmp/b1/train/zz_empty"
mkdir "$tmp/b1/train/.ipynb_checkpoints"
check "hidden folders are not classes" "$T data --data folder:$tmp/b1 2>&1 | grep -q ', 6 classes,'"
rmdir "$tmp/b1/train/.ipynb_checkpoints"
mkdir "$tmp/b1/test/zz_new"
cp "$one" "$tmp/b1/test/zz_new/"
expect_error "a test class unknown to train" "class 'zz_new' has no folder in" $T train --data "folder:$tmp/b1" $common --out "$tmp/x4"
rm -r "$tmp/b1/test/zz_new"
ln -s .. "$tmp/b1/train/n01_b/loop"
expect_error "a symbolic-link loop" "symbolic link loop" $T train --data "folder:$tmp/b1" $common --out "$tmp/x5"
rm "$tmp/b1/train/n01_b/loop"
expect_error "no train folder" "expected the sub-folders train/ and test/" $T train --data "folder:$tmp/b1/train" $common --out "$tmp/x6"
# a corrupt image found mid-epoch with the cache off: the file named, the run not kept
victim=$(ls "$tmp/b1/train/n00_a/"*.jpg | sed -n 3p)
head -c 3000 "$victim" >"$tmp/cut" && mv "$tmp/cut" "$victim"
expect_error "a truncated JPEG mid-epoch" "$(basename "$victim"): bad JPEG" $T train --data "folder:$tmp/b1" $common --cache-mb 0 --out "$tmp/x7"
# a decompression bomb: refused from its header before any pixel is decoded
$PY -c "
import struct, zlib, sys
def ch(k, d): return struct.pack('>I', len(d)) + k + d + struct.pack('>I', zlib.crc32(k + d) & 0xffffffff)
sys.stdout.buffer.write(b'\x89PNG\r\n\x1a\n' + ch(b'IHDR', struct.pack('>IIBBBBB', 60000, 60000, 8, 2, 0, 0, 0)) + ch(b'IEND', b''))
" >"$tmp/b1/train/n02_c/bomb.png"
expect_error "an image over the size limit" "bomb.png: PNG of 60000x60000 pixels is over the limit" $T train --data "folder:$tmp/b1" $common --out "$tmp/x8"
rm "$tmp/b1/train/n02_c/bomb.png"
printf 'train/../../etc/passwd 0\n' >"$tmp/esc.txt"
expect_error "a list path out of ROOT" "leaves ROOT" $T train --data "list:$tmp/c/folder,$tmp/esc.txt,$tmp/c/list/test.txt" $common --out "$tmp/x9"
: >"$tmp/empty.txt"
expect_error "an empty list" "empty.txt: the image list is empty" $T train --data "list:$tmp/c/folder,$tmp/empty.txt,$tmp/c/list/test.txt" $common --out "$tmp/x10"
expect_error "transforms of no fixed size" "must end in a crop of one size" $T train --data "$F" --augment flip --eval-transform resize:size=32 --epochs 1 --quiet --out "$tmp/x11"
expect_error "train and eval sizes differ" "gives 32x32 images but --eval-transform" $T train --data "$F" --augment random-resized-crop:size=32 --eval-transform center-crop:size=40 --epochs 1 --quiet --out "$tmp/x12"
printf 'a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n' >"$tmp/t.csv"
expect_error "transforms on tabular data" "transforms need image data" $T train --data "csv:$tmp/t.csv,$tmp/t.csv" --model mlp --augment flip --quiet --out "$tmp/x13"
expect_error "--size on tabular data" "--size 32: only image data has it" $T train --data "csv:$tmp/t.csv,$tmp/t.csv" --model mlp --size 32 --quiet --out "$tmp/x14"
expect_error "a random evaluation transform" "evaluation must be deterministic" $T train --data "$F" --eval-transform random-resized-crop:size=32 --epochs 1 --quiet --out "$tmp/x15"
finish
