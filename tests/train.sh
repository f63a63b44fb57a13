#!/usr/bin/env bash
# train.sh MIMIC — `mimic train` end to end on a tiny ViT: the log, curve, weights and
# checkpoint it writes; an interrupted run resumed from its checkpoint logs exactly the
# losses of an uninterrupted one; and examples/aot_train (the training step as an AOT
# object, driven by plain C) ends with the same weights as `mimic train` on the same
# batches.
set -u
. "$(dirname "$0")/harness.sh" "$1"
needs_fashion_mnist

# recipe DIR EXTRA: a tiny classifier run, 12 steps of batch 20 (6 an epoch)
recipe() {
  mkdir -p "$1"
  cat >"$1/recipe.yaml" <<EOF
model: $root/graphs/vit.yaml
params: {depth: 1, dim: 24, heads: 3}
data: {dataset: fashion-mnist, count: 120, val_count: 40, augment: {crop_pad: 2, flip: true}}
batch: 20
steps: 12
optimizer: {kind: adamw, lr: 2e-3, warmup_steps: 3, min_lr: 1e-4, weight_decay: 0.05, clip_grad: 1.0}
seed: 7
eval: {every_steps: 6, outputs: [logits]}
checkpoint: {dir: ckpt, every_steps: 4}
out: out
EOF
}

# 1. one uninterrupted run
recipe "$tmp/a"
"$mimic" train "$tmp/a/recipe.yaml" >"$tmp/a/stdout" 2>"$tmp/a/stderr" ||
  { echo "FAIL: mimic train:"; cat "$tmp/a/stderr"; fail=1; }
expect "train says what it trains" '^vit: 120 training images \(\+ validation\), batch 20, 12 steps \(6 an epoch\), AdamW' "$tmp/a/stdout"
expect "train reports the loss and validation accuracy" '^trained steps 1\.\.12: loss [0-9.]+ -> [0-9.]+, validation accuracy [0-9.]+' "$tmp/a/stdout"
expect "the progress line ends the run" '^train 12/12 100% .* loss [0-9.]+ val_acc' "$tmp/a/stderr"
expect "the log's header" '^step,epoch,lr,loss,grad_norm,seconds,val_loss,val_acc$' "$tmp/a/out/log.csv"
[ "$(wc -l <"$tmp/a/out/log.csv")" = 13 ] || { echo "FAIL: log.csv should have 12 rows"; fail=1; }
expect "step 6 was evaluated" '^6,1,[^,]*,[^,]*,[^,]*,[^,]*,[0-9.]+,[0-9.]+$' "$tmp/a/out/log.csv"
expect "the first step's lr is 0 (warm-up from 0)" '^1,[^,]*,0,' "$tmp/a/out/log.csv"
head -c 200 "$tmp/a/out/loss.svg" | grep -q '<svg' || { echo "FAIL: loss.svg is not an SVG"; fail=1; }
grep -q '<polyline' "$tmp/a/out/loss.svg" || { echo "FAIL: loss.svg has no curve"; fail=1; }
"$mimic" inspect "$tmp/a/out/weights.safetensors" >"$tmp/a/inspect" || fail=1
expect "the weights file holds the model's weights" 'blocks\.0\.attn\.qkv\.weight +f32 +\[72,24\]' "$tmp/a/inspect"
grep -q 'opt\.' "$tmp/a/inspect" && { echo "FAIL: weights.safetensors holds optimizer state"; fail=1; }
"$mimic" inspect "$tmp/a/ckpt/checkpoint.safetensors" >"$tmp/a/ck" || fail=1
expect "the checkpoint holds the optimizer state" 'opt\.m\.head\.weight' "$tmp/a/ck"
expect "the checkpoint holds the step" 'train\.step +f64 +\[\] .*12' "$tmp/a/ck"

# 2. the same run stopped after 5 steps (the checkpoint is at step 5), then resumed
recipe "$tmp/b"
"$mimic" train "$tmp/b/recipe.yaml" --stop-after 5 --quiet >"$tmp/b/stdout1" 2>&1 || { echo "FAIL: --stop-after"; cat "$tmp/b/stdout1"; fail=1; }
expect "a stopped run says where it stopped" '^trained steps 1\.\.5: ' "$tmp/b/stdout1"
"$mimic" train "$tmp/b/recipe.yaml" --resume --quiet >"$tmp/b/stdout2" 2>&1 || { echo "FAIL: --resume"; cat "$tmp/b/stdout2"; fail=1; }
expect "the resumed run starts at step 6" '^trained steps 6\.\.12: ' "$tmp/b/stdout2"
cut -d, -f1,3,4,5 "$tmp/a/out/log.csv" >"$tmp/a.losses"
cut -d, -f1,3,4,5 "$tmp/b/out/log.csv" >"$tmp/b.losses"
cmp -s "$tmp/a.losses" "$tmp/b.losses" ||
  { echo "FAIL: the resumed run's log differs from the uninterrupted one:"; diff "$tmp/a.losses" "$tmp/b.losses" | head; fail=1; }
"$mimic" compare "$tmp/a/out/weights.safetensors" "$tmp/b/out/weights.safetensors" --tol 0 >"$tmp/cmpw" ||
  { echo "FAIL: resumed weights differ:"; tail -3 "$tmp/cmpw"; fail=1; }

# 3. the AOT training step from plain C against mimic train, same batches and schedule
at=$tmp/aot
mkdir -p "$at"
(cd "$at" && make -s -f "$root/examples/aot_train/Makefile" MIMIC="$mimic" ROOT="$root" DEPTH=1 DIM=24 BATCH=20 \
  >make.log 2>&1) || { echo "FAIL: building examples/aot_train:"; cat "$at/make.log"; fail=1; }
if [ -x "$at/train" ]; then
  (cd "$at" && ./train -n 6 --lr 1e-3 --wd 0.05 --save aot.safetensors >train.out 2>&1) ||
    { echo "FAIL: examples/aot_train:"; cat "$at/train.out"; fail=1; }
  expect "the C program prints each step's loss" '^step 6 loss [0-9.]+ grad_norm [0-9.]+$' "$at/train.out"
  cat >"$at/recipe.yaml" <<EOF
model: $root/graphs/vit.yaml
params: {depth: 1, dim: 24}
init: init.safetensors
data: {dataset: fashion-mnist, count: 120, shuffle: false, normalize: false}
batch: 20
steps: 6
optimizer: {kind: adamw, lr: 1e-3, schedule: constant, weight_decay: 0.05, clip_grad: 1.0}
out: jit
EOF
  "$mimic" train "$at/recipe.yaml" --quiet >"$at/jit.out" 2>&1 || { echo "FAIL: mimic train (aot comparison)"; cat "$at/jit.out"; fail=1; }
  # the losses the C program printed are those mimic train logged
  sed -n 's/^step \([0-9]*\) loss \([0-9.]*\) .*/\1 \2/p' "$at/train.out" >"$at/aot.losses"
  tail -n +2 "$at/jit/log.csv" | awk -F, '{printf "%d %.6f\n", $1, $4}' >"$at/jit.losses"
  cmp -s "$at/aot.losses" "$at/jit.losses" ||
    { echo "FAIL: AOT and mimic train losses differ:"; paste "$at/aot.losses" "$at/jit.losses"; fail=1; }
  "$mimic" compare "$at/aot.safetensors" "$at/jit/weights.safetensors" --tol 1e-5 >"$at/cmp" ||
    { echo "FAIL: AOT-trained weights differ from mimic train's:"; tail -5 "$at/cmp"; fail=1; }
  echo "AOT training step vs mimic train after 6 steps: $(tail -1 "$at/cmp")"
fi
# 4. frozen weights: `freeze: [blocks, patch_embed]` trains only the rest
fz=$tmp/freeze
mkdir -p "$fz"
"$mimic" init "$root/graphs/vit.yaml" -D depth=1 -D dim=24 --seed 2 -o "$fz/init.safetensors" >/dev/null || fail=1
cat >"$fz/recipe.yaml" <<EOF
model: $root/graphs/vit.yaml
params: {depth: 1, dim: 24}
init: init.safetensors
freeze: [blocks, patch_embed]
data: {dataset: fashion-mnist, count: 40}
batch: 20
steps: 3
optimizer: {lr: 1e-2, weight_decay: 0.05}
out: out
EOF
"$mimic" train "$fz/recipe.yaml" --quiet >"$fz/out.txt" 2>&1 || { echo "FAIL: training with frozen weights"; cat "$fz/out.txt"; fail=1; }
"$mimic" compare "$fz/out/weights.safetensors" "$fz/init.safetensors" --tol 0 >"$fz/cmp"
grep -qE '^(blocks|patch_embed)\.' "$fz/cmp" && { echo "FAIL: frozen weights changed:"; grep -E '^(blocks|patch_embed)' "$fz/cmp"; fail=1; }
grep -q '^head\.weight: ' "$fz/cmp" || { echo "FAIL: the head was not trained"; cat "$fz/cmp"; fail=1; }
# 5. another backbone under the same recipe keys: examples/train_mixer/recipe.yaml is the
# ViT's with graphs/mixer.yaml (an MLP-Mixer); a tiny version learns (its loss falls) on
# 1 and on 2 threads with the same log
mx=$tmp/mixer
mkdir -p "$mx"
for t in 1 2; do
  sed -e "s|^model: .*|model: $root/graphs/mixer.yaml|" -e 's|^params: .*|params: {depth: 1, dim: 24}|' \
    -e 's|count: 2000|count: 200|' -e 's|val_count: 1000|val_count: 50|' -e 's|^epochs: 6|epochs: 3|' \
    -e "s|mixer.out|$mx/out$t|" "$root/examples/train_mixer/recipe.yaml" >"$mx/recipe$t.yaml"
  "$mimic" train "$mx/recipe$t.yaml" --quiet --threads $t >"$mx/stdout$t" 2>&1 ||
    { echo "FAIL: the mixer recipe on $t thread(s):"; cat "$mx/stdout$t"; fail=1; }
done
if [ -r "$mx/out1/log.csv" ] && [ -r "$mx/out2/log.csv" ]; then
  cmp -s "$mx/out1/log.csv" "$mx/out2/log.csv" || cut -d, -f1-5 "$mx/out1/log.csv" | cmp -s - <(cut -d, -f1-5 "$mx/out2/log.csv") ||
    { echo "FAIL: the mixer's losses differ between 1 and 2 threads"; fail=1; }
  awk -F, 'NR == 2 { first = $4 } NR > 1 && $4 != "" { last = $4 } END { exit !(last < first - 0.05) }' "$mx/out1/log.csv" ||
    { echo "FAIL: the mixer's loss did not fall:"; head -3 "$mx/out1/log.csv"; tail -2 "$mx/out1/log.csv"; fail=1; }
  echo "mixer (depth 1, dim 24): $(grep -o 'loss [0-9.]* -> [0-9.]*' "$mx/stdout1")"
fi
exit $fail
