#!/usr/bin/env bash
# Trust what comes out (issue #20): no case ends with exit 0 and a wrong or missing result. Output
# that cannot be written, model files and checkpoints holding NaN/Inf or bad normalisation, options no
# run can train with, CSV files as pandas reads them (BOM, quoted commas, 1.0 labels, R row names, NA),
# features-only predict, labels that skip values, and the options whose messages used to mislead.
. "$(dirname "$0")/lib.sh"

# fails NAME PATTERN CMD...: like expect_error for commands that create nothing.
fails() { local n=$1 p=$2; shift 2; EXPECT_DIR="$tmp/none" expect_error "$n" "$p" "$@"; }
# data_classes SPEC: the class count `tailor data` reports for a data spec (empty on failure).
data_classes() { $T data --data "$1" 2>/dev/null | sed -n 's/.*view none, \([0-9]*\) classes.*/\1/p'; }

awk 'BEGIN { srand(2); print "a,b,c,label";
  for (i = 0; i < 240; i++) { y = (i % 6 < 3) ? 0 : (i % 6 < 5) ? 1 : 2;
    printf "%.4f,%.4f,%.4f,%d\n", y + rand(), rand() - y, rand(), y } }' >"$tmp/train.csv"
common=(--model mlp --hidden 16/8 --epochs 2 --batch 32 --quiet)
$T train --data csv:"$tmp/train.csv","$tmp/train.csv" "${common[@]}" --out "$tmp/run" >/dev/null 2>&1 || bad "train the fixture run"

# ---- output that cannot be written: non-zero, naming stdout and the reason ----
for cmd in "predict --run $tmp/run --input $tmp/train.csv" "data --data csv:$tmp/train.csv" "compare $tmp/run $tmp/run" "--help"; do
    fails "stdout full: tailor ${cmd%% *}" "stdout (/dev/full): cannot write the output: No space left on device" sh -c "$T $cmd >/dev/full"
done
$T eval --run "$tmp/run" --out "$tmp/ev" >/dev/full 2>"$tmp/err"
check "stdout full: tailor eval" '[ $? -ne 0 ] && grep -q "stdout (/dev/full)" "$tmp/err"'
# A full disk inside the run folder (a small tmpfs, when this machine lets us mount one): every file
# of the run, the PNGs included (cairo drops write errors), fails naming its path and ENOSPC.
mkdir "$tmp/small"
if mount -t tmpfs -o size=20k tmpfs "$tmp/small" 2>/dev/null; then
    expect_error "full disk: eval's report" "small/ev.partial/.*: cannot write: No space left on device" $T eval --run "$tmp/run" --out "$tmp/small/ev"
    # training finished: its folder is kept for --resume (tests/cli/test_rundir.sh), the message names the file
    $T train --data csv:"$tmp/train.csv","$tmp/train.csv" "${common[@]}" --out "$tmp/small/tr" >/dev/null 2>"$tmp/full.err"
    full_rc=$?
    check "full disk: train names the file and ENOSPC" '[ $full_rc -ne 0 ] && [ $(wc -l <"$tmp/full.err") = 1 ] &&
        grep -q "small/tr.partial/.*: cannot write: No space left on device" "$tmp/full.err" && [ ! -e "$tmp/small/tr" ]'
    umount "$tmp/small"
else echo "skip full disk: cannot mount a tmpfs here"; fi
check "stdout to a pipe is fine" '$T predict --run "$tmp/run" --input "$tmp/train.csv" | head -1 | grep -q "^index,pred"'

# ---- every tensor a run loads is validated, naming the tensor ----
# corrupt DIR FILE PYTHON: copies the run to DIR and edits FILE's tensors t / metadata m with PYTHON.
corrupt() {
    rm -rf "$1"; cp -r "$tmp/run" "$1"
    PYTHONPATH=python "$PY" -c "import sys, numpy as np, st
t, m = st.load(sys.argv[1]); $3; st.save(sys.argv[1], t, m)" "$1/$2"
}
corrupt "$tmp/nan" model.safetensors 't["head.weight"][0, 0] = np.nan'
fails "NaN weight: predict" "tensor 'head.weight' holds a non-finite value" $T predict --run "$tmp/nan" --input "$tmp/train.csv"
fails "NaN weight: eval" "tensor 'head.weight' holds a non-finite value" $T eval --run "$tmp/nan" --out "$tmp/nan-ev"
fails "NaN weight: retrain" "tensor 'head.weight' holds a non-finite value" $T retrain --run "$tmp/nan" --method crt --out "$tmp/nan-rt"
corrupt "$tmp/inf" model.safetensors 't["backbone.fc1.bias"][3] = np.inf'
fails "Inf weight" "tensor 'backbone.fc1.bias' holds a non-finite value" $T eval --run "$tmp/inf" --out "$tmp/inf-ev"
corrupt "$tmp/var" model.safetensors 't["backbone.bn2.running_var"][1] = -1'
fails "negative BN variance" "tensor 'backbone.bn2.running_var' holds a negative variance" $T eval --run "$tmp/var" --out "$tmp/var-ev"
corrupt "$tmp/std0" model.safetensors 'm["norm_std"] = "0/1/1"'
fails "std 0" "'norm_std' must be finite and > 0" $T predict --run "$tmp/std0" --input "$tmp/train.csv"
corrupt "$tmp/meannan" model.safetensors 'm["norm_mean"] = "nan/0/0"'
fails "mean NaN" "'norm_mean' holds a non-finite value" $T predict --run "$tmp/meannan" --input "$tmp/train.csv"
corrupt "$tmp/nonorm" model.safetensors 'del m["norm_mean"]'
fails "normalisation missing" "metadata 'norm_mean' (the input normalisation) is missing" $T eval --run "$tmp/nonorm" --out "$tmp/x"
corrupt "$tmp/short" model.safetensors 'm["norm_std"] = "1/1"'
fails "normalisation short" "'norm_std' must hold 3 '/'-separated numbers" $T eval --run "$tmp/short" --out "$tmp/x"
corrupt "$tmp/feat0" model.safetensors 'm["feat_dim"] = "0"'
fails "feat_dim 0" "metadata 'feat_dim' is 0 (must be 1..65536)" $T eval --run "$tmp/feat0" --out "$tmp/x"
corrupt "$tmp/cls0" model.safetensors 'm["num_classes"] = "0"'
fails "num_classes 0" "metadata 'num_classes' is 0" $T eval --run "$tmp/cls0" --out "$tmp/x"
# a checkpoint's optimizer state and normalisation (--resume of an interrupted run)
for bad in 't["trainer.optim_state"][5] = np.nan' 't["trainer.norm_std"][0] = 0' 't["backbone.fc2.weight"][0, 0] = np.inf'; do
    corrupt "$tmp/ck.partial" checkpoint.safetensors "$bad"
    name=$(echo "$bad" | sed 's/t\["\([^"]*\)".*/\1/')
    $T train --resume "$tmp/ck" --quiet >/dev/null 2>"$tmp/err"
    check "resume: bad $name" '[ $? -ne 0 ] && [ $(wc -l <"$tmp/err") -eq 1 ] && grep -q "checkpoint.safetensors: .*'"'$name'"'" "$tmp/err" && [ ! -e "$tmp/ck" ]'
done
rm -rf "$tmp/ck.partial"

# ---- options no run can train with: the range table, DRW, the divergence trap ----
fails "lr 1e30" "--optim sgd: lr=1e+30 must be <= 10" $T train --data csv:"$tmp/train.csv" --optim sgd:lr=1e30 --out "$tmp/x"
fails "momentum 1" "momentum=1 must be in \[0, 1)" $T train --data csv:"$tmp/train.csv" --optim sgd:momentum=1 --out "$tmp/x"
fails "head s 1e9" "--head cosine: s=1e+09 must be <= 1000" $T train --data csv:"$tmp/train.csv","$tmp/train.csv" "${common[@]}" --head cosine:s=1e9 --out "$tmp/x"
fails "step gamma 2" "gamma=2 must be <= 1" $T train --data csv:"$tmp/train.csv" --schedule step:gamma=2 --out "$tmp/x"
fails "drw after the last epoch" "drw=1000 is not before the last epoch (--epochs 2)" \
    $T train --data csv:"$tmp/train.csv","$tmp/train.csv" "${common[@]}" --loss ce:weights=inverse,drw=1000 --out "$tmp/x"
fails "drw 1e6" "drw=1e+06 must be <= 100000" $T train --data csv:"$tmp/train.csv","$tmp/train.csv" "${common[@]}" --loss ce:weights=inverse,drw=1000000 --out "$tmp/x"
fails "drw without weights" "drw=1 defers class weights, but weights=none" $T train --data csv:"$tmp/train.csv","$tmp/train.csv" "${common[@]}" --loss ce:drw=1 --out "$tmp/x"
fails "posthoc tau 1e308" "--posthoc tau-norm: tau=1e+308 must be <= 10" $T eval --run "$tmp/run" --posthoc tau-norm:tau=1e308 --out "$tmp/x"
fails "logit-adjust tau -1" "--posthoc logit-adjust: tau=-1 must be >= 0" $T eval --run "$tmp/run" --posthoc logit-adjust:tau=-1 --out "$tmp/x"
fails "sampler q" "--sampler power: q=3 must be in \[0, 1\]" $T train --data csv:"$tmp/train.csv","$tmp/train.csv" "${common[@]}" --sampler power:q=3 --out "$tmp/x"
# (the divergence trap, a loss over 1e6, is tested in test_cli.sh)

# ---- CSV as pandas reads it ----
printf '\xEF\xBB\xBFa,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n' >"$tmp/bom.csv"
check "BOM before the header" '[ "$(data_classes csv:"$tmp/bom.csv",label=label)" = 2 ]'
printf 'a,b,label\n1,2,1.0\n3,4,0.0\n5,6,1.0\n7,8,0.0\n' >"$tmp/float.csv"
check "labels 1.0 are class numbers" '[ "$(data_classes csv:"$tmp/float.csv")" = 2 ]'
printf 'a,b,label\n1,2,1.5\n3,4,0\n' >"$tmp/frac.csv"
fails "fraction labels" "frac.csv:2: label '1.5' is not a whole number" $T data --data csv:"$tmp/frac.csv"
printf 'a,b,label\n1,2,1\n3,4,cat\n' >"$tmp/mix.csv"
fails "numbers mixed with text" "mixes numbers (.*mix.csv:2: '1') and text (.*mix.csv:3: 'cat')" $T data --data csv:"$tmp/mix.csv"
printf '0,1,2\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n' >"$tmp/numhead.csv"
fails "numeric header" "numhead.csv:1: the first row (0,1,...) looks like a header of column numbers" $T data --data csv:"$tmp/numhead.csv"
check "header=1" '[ "$(data_classes csv:"$tmp/numhead.csv",header=1)" = 2 ]'
check "header=0" '[ "$(data_classes csv:"$tmp/numhead.csv",header=0)" = 3 ]'
printf 'a,b,label\n1,2,"x, y"\n3,4,z\n5,"6",z\n7,8,"x, y"\n' >"$tmp/quoted.csv"
check "quoted label holding a comma" '$T data --data csv:"$tmp/quoted.csv" 2>&1 | grep -q "| 0 | x, y |"'
printf 'a,b,label\n"1,5",2,0\n' >"$tmp/qcell.csv"
fails "quoted comma in a feature" "qcell.csv:2: column 0 ('a'): '1,5' is not a number" $T data --data csv:"$tmp/qcell.csv"
printf 'a,b,label\n"1,2,0\n' >"$tmp/open.csv"
fails "unclosed quote" "open.csv:2: a quoted cell is not closed" $T data --data csv:"$tmp/open.csv"
printf '"","a","b","Species"\n"1",5.1,3.5,"setosa"\n"2",4.9,3,"setosa"\n"3",6.2,3.4,"virginica"\n"4",5.9,3,"virginica"\n' >"$tmp/r.csv"
fails "R row names" "r.csv: the first column is unnamed and holds the row numbers 1..4 (R's write.csv row names)" $T data --data csv:"$tmp/r.csv"
check "rownames=skip" '$T data --data csv:"$tmp/r.csv",rownames=skip 2>&1 | grep -q "2 classes, 2 x 1 x 1"'
printf 'a,b,label\n1,NA,0\n2,3,1\n,4,1\n5,6,0\n7,8,0\n9,9,1\n' >"$tmp/na.csv"
fails "NA refused with the count" "na.csv:2: missing values (2 cells" $T data --data csv:"$tmp/na.csv"
check "na=drop" '$T data --data csv:"$tmp/na.csv",na=drop 2>&1 | grep -q "total 4 training"'
check "na=mean" '$T data --data csv:"$tmp/na.csv",na=mean 2>&1 | grep -q "total 6 training"'
printf 'a,b,label\n1,2,NA\n' >"$tmp/nalabel.csv"
fails "NA label" "nalabel.csv:2: the label is missing" $T data --data csv:"$tmp/nalabel.csv"
printf 'a,label\n1,dog\n2,cat\n3,dog\n4,cat\n' >"$tmp/order.csv"
check "text classes in order of first appearance" '$T data --data csv:"$tmp/order.csv" 2>&1 | grep -q "| 0 | dog |"'
check "classes= gives the order" '$T data --data csv:"$tmp/order.csv",classes=cat/dog 2>&1 | grep -q "| 0 | cat |"'
fails "label not in classes=" "order.csv:2: label 'dog' is not one of the 2 classes ('cat', ...)" $T data --data csv:"$tmp/order.csv",classes=cat/bird
fails "unknown csv key" "unknown key 'sep' (valid: label, classes, header, rownames, na)" $T data --data csv:"$tmp/order.csv",sep=x

# ---- predict on tabular data as a tabular user writes it ----
awk -F, 'NR > 1 { printf "%s,%s,%s,%s\n", $1, $2, $3, ($4 == 0 ? "small" : $4 == 1 ? "mid" : "\"large, rare\"") }
         NR == 1 { print "a,b,c,size" }' "$tmp/train.csv" >"$tmp/text.csv"
$T train --data csv:"$tmp/text.csv","$tmp/text.csv",label=size "${common[@]}" --out "$tmp/textrun" >/dev/null 2>&1 || bad "train on text labels"
cut -d, -f1-3 "$tmp/text.csv" >"$tmp/features.csv"
$T predict --run "$tmp/textrun" --input "$tmp/features.csv" >"$tmp/pred.csv" 2>"$tmp/err"
check "features-only CSV, with class names" '[ $? -eq 0 ] && head -1 "$tmp/pred.csv" | grep -q "^index,pred,logit_0,.*,prob_2,pred_name$" &&
    [ $(wc -l <"$tmp/pred.csv") -eq 241 ] && grep -q "\"large, rare\"" "$tmp/pred.csv"'
check "with the label column: the same predictions" 'cmp -s "$tmp/pred.csv" <($T predict --run "$tmp/textrun" --input "$tmp/text.csv")'
{ head -1 "$tmp/text.csv"; echo "1,2,3,huge"; } >"$tmp/unseen.csv"
fails "unseen text label" "unseen.csv:2: label 'huge' is not one of the 3 classes" $T predict --run "$tmp/textrun" --input "$tmp/unseen.csv"
{ head -1 "$tmp/train.csv"; echo "1,2,3,7"; } >"$tmp/unseen7.csv"
fails "unseen class number" "row 1 has label 7, not a class of the model (0..2)" $T predict --run "$tmp/run" --input "$tmp/unseen7.csv"

# ---- messages that said the wrong thing ----
printf 'a,label\n1,0\n2,0\n3,99999\n' >"$tmp/skip.csv"
fails "labels that skip values" "class 1 has no training rows (99998 of the 100000 classes have none): labels must be 0..C-1" \
    $T data --data csv:"$tmp/skip.csv"
printf 'a,label\n1,0\n2,1\n' >"$tmp/tr2.csv"; printf 'a,label\n1,0\n2,5\n' >"$tmp/te5.csv"
fails "class only in the test set" "class 2 has no training rows .*the largest label, 5, is in the test set" \
    $T data --data csv:"$tmp/tr2.csv","$tmp/te5.csv"
fails "--run /nonexistent" "--run /nonexistent: no such run folder" $T eval --run /nonexistent
fails "--run a file" "not a folder" $T predict --run "$tmp/train.csv" --input "$tmp/train.csv"
check "--config=FILE" '$T train --config="$tmp/run/config.json" --quiet --out "$tmp/eq" >/dev/null 2>&1 && cmp -s "$tmp/run/model.safetensors" "$tmp/eq/model.safetensors"'
check "--opt=value" '$T train --data=csv:"$tmp/train.csv","$tmp/train.csv" --model=mlp --hidden=16/8 --epochs=2 --batch=32 --quiet --out="$tmp/eq2" >/dev/null 2>&1 && cmp -s "$tmp/run/model.safetensors" "$tmp/eq2/model.safetensors"'
check "compare --labels=A,B" '$T compare "$tmp/run" "$tmp/run" --labels=first,second | grep -q "first"'
check "distill --opt=value" '$T distill --generations=1 --distill=kd --out="$tmp/chain" --data=csv:"$tmp/train.csv","$tmp/train.csv" "${common[@]}" >/dev/null 2>&1 &&
    [ -f "$tmp/chain/gen-0/model.safetensors" ] && [ -f "$tmp/chain/gen-1/model.safetensors" ] && grep -q "kd" "$tmp/chain/gen-1/config.json"'
fails "--config missing value" "--config: missing value" $T train --config
{ head -c -2 "$tmp/run/config.json"; head -c 70000 /dev/zero | tr '\0' ' '; echo '}'; } >"$tmp/big.json"
check "config.json over 64 KiB" '[ $(wc -c <"$tmp/big.json") -gt 65536 ] && $T train --config "$tmp/big.json" --quiet --out "$tmp/big" >/dev/null 2>&1'
fails "--out empty" "--out '': empty path" $T train --data csv:"$tmp/train.csv" --out ''
check "--out dir/ names dir" '$T train --data csv:"$tmp/train.csv","$tmp/train.csv" --model mlp --hidden 8 --epochs 1 --quiet --out "$tmp/new/" >/dev/null 2>&1 && [ -f "$tmp/new/model.safetensors" ]'
ln -s "$tmp/nowhere" "$tmp/dangling"
fails "--out dangling symlink" "a dangling symbolic link" $T train --data csv:"$tmp/train.csv" --out "$tmp/dangling"
fails "--out over PATH_MAX" "is too long" $T train --data csv:"$tmp/train.csv" --out "$tmp/$(head -c 5000 /dev/zero | tr '\0' a)"
fails "--out in a missing folder" "folder .*/missing: No such file or directory" $T train --data csv:"$tmp/train.csv" --out "$tmp/missing/run"
fails "retrain --out dir/ that exists" "--out .*: already exists (a folder)" $T retrain --run "$tmp/run" --method crt --out "$tmp/"
fails "eval --out exists" "--out .*/run: already exists" $T eval --run "$tmp/run" --out "$tmp/run"
finish
