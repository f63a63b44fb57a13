#!/usr/bin/env bash
# beit.sh MIMIC — the BEiT pipeline end to end at tiny sizes (examples/beit/run.sh --tiny:
# a couple of steps per stage): every stage writes its log, curve and weights; the
# tokenizer's weights feed pre-training (tokens) and pre-training's weights load by name
# into the fine-tuning models (the log says how many); the metric columns chosen by each
# model's outputs are present and finite; the pictures are PNGs; the table is printed.
set -u
. "$(dirname "$0")/harness.sh" "$1"
needs_fashion_mnist

run=$tmp/run
"$root/examples/beit/run.sh" "$mimic" --tiny --out "$run" >"$tmp/out" 2>&1 ||
  { echo "FAIL: examples/beit/run.sh --tiny:"; cat "$tmp/out"; exit 1; }

for s in tokenizer pretrain pretrain_random pretrain_pixel finetune_cls finetune_random finetune_pixel scratch_cls \
  linear_probe finetune_seg scratch_seg; do
  for f in log.csv loss.svg weights.safetensors; do
    [ -s "$run/$s.out/$f" ] || { echo "FAIL: $s wrote no $f"; fail=1; }
  done
done
for s in tokenizer pretrain; do
  head -c 8 "$run/$s.out/samples.png" | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a' ||
    { echo "FAIL: $s.out/samples.png is not a PNG"; fail=1; }
done

# the value of COLUMN in the last row of STAGE's log (evaluated at the last step)
last() { awk -F, -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next } { v = c ? $c : "" }
  END { print v }' "$run/$1.out/log.csv"; }
finite() { # finite STAGE COLUMN [LO HI]: a finite number, within [LO, HI] when given
  local v
  v=$(last "$1" "$2")
  awk -v v="$v" -v lo="${3:--1e30}" -v hi="${4:-1e30}" 'BEGIN { exit !(v ~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/ && v + 0 >= lo && v + 0 <= hi) }' ||
    { echo "FAIL: $1: $2 is '$v', not a finite number in [${3:--inf}, ${4:-inf}]"; fail=1; }
}
expect "the tokenizer's log has its metrics" '^step,epoch,lr,loss,grad_norm,seconds,val_loss,val_acc,rec_mae,codebook$' "$run/tokenizer.out/log.csv"
finite tokenizer rec_mae 0 1
finite tokenizer codebook 0 1
expect "pre-training logs MIM accuracy" '^step,epoch,lr,loss,grad_norm,seconds,val_loss,val_acc,mim_acc$' "$run/pretrain.out/log.csv"
finite pretrain mim_acc 0 1
finite pretrain_random mim_acc 0 1
expect "classification has no extra columns" '^step,epoch,lr,loss,grad_norm,seconds,val_loss,val_acc$' "$run/finetune_cls.out/log.csv"
for s in finetune_cls scratch_cls linear_probe finetune_random finetune_pixel; do finite $s val_acc 0 1; done
expect "pixel regression has no MIM accuracy" '^step,epoch,lr,loss,grad_norm,seconds,val_loss,val_acc$' "$run/pretrain_pixel.out/log.csv"
finite pretrain_pixel val_loss 0
expect "segmentation logs pixel accuracy and mIoU" '^step,epoch,lr,loss,grad_norm,seconds,val_loss,val_acc,pix_acc,miou$' "$run/finetune_seg.out/log.csv"
for s in finetune_seg scratch_seg; do finite $s pix_acc 0 1; finite $s miou 0 1; done

# pre-trained weights load by name: depth 1 has 19 backbone weights, the head 4 more;
# the file's MIM-only tensors (mask_token, norm.*, lm_head.*) are left out
expect "fine-tuning loads the backbone by name" \
  '^init: loaded 19 of 23 weights from .*/pretrain\.out/weights\.safetensors; 4 initialised \(fc_norm\.weight, fc_norm\.bias, head\.weight, head\.bias\); 5 tensors of the file unused$' \
  "$run/finetune_cls.log"
expect "the ablation's fine-tuning loads its own pre-training" 'init: loaded 19 of 23 weights from .*/pretrain_random\.out/' "$run/finetune_random.log"
expect "so does the pixel ablation's" 'init: loaded 19 of 23 weights from .*/pretrain_pixel\.out/' "$run/finetune_pixel.log"
expect "segmentation loads the backbone by name" '^init: loaded 19 of 23 weights from .*/pretrain\.out/weights\.safetensors; 4 initialised \(decode_head\.' "$run/finetune_seg.log"
grep -q '^init:' "$run/scratch_cls.log" && { echo "FAIL: scratch_cls loaded weights"; fail=1; }
# the linear probe trains the head only: its backbone is pre-training's, bit for bit
"$mimic" inspect "$run/linear_probe.out/weights.safetensors" >"$tmp/lp" && "$mimic" inspect "$run/pretrain.out/weights.safetensors" >"$tmp/pt" || fail=1
for w in blocks.0.attn.qkv.weight pos_embed patch_embed.proj.weight; do
  [ "$(grep -E "^  $w " "$tmp/lp")" = "$(grep -E "^  $w " "$tmp/pt")" ] || { echo "FAIL: the linear probe changed $w"; fail=1; }
done
grep -E '^  head\.weight ' "$tmp/lp" | grep -q 'min 0 .*max 0 ' && { echo "FAIL: the linear probe did not train its head"; fail=1; }
# the tokenizer's codes are MIM's targets: pre-training reads the tokenizer's weights
expect "pre-training's recipe names the tokenizer's weights" 'weights: tokenizer\.out/weights\.safetensors' "$run/pretrain.yaml"

expect "the table: classification" '^from scratch +[0-9.]+ +[0-9.]+ +[0-9.]+$' "$tmp/out"
expect "the table: BEiT" '^BEiT fine-tuned \(blockwise masking\) +[0-9.]+ +[0-9.]+ +[0-9.]+$' "$tmp/out"
expect "the table: linear probe" '^BEiT linear probe \(frozen backbone\) +[0-9.]+' "$tmp/out"
expect "the table: masking ablation" '^ablation: random masking, fine-tuned +[0-9.]+' "$tmp/out"
expect "the table: target ablation" '^ablation: pixel regression, fine-tuned +[0-9.]+' "$tmp/out"
expect "the MIM accuracies" '^pre-training MIM accuracy on masked patches: blockwise [0-9.]+, random [0-9.]+ \(pixel regression: MSE [0-9.]+\)$' "$tmp/out"
# masks and tokens are functions of (seed, step): pre-training stopped and resumed logs the
# losses of an uninterrupted run
for v in a b; do
  sed -e "s/^out: pretrain.out/out: resume_$v.out/" -e 's/^steps: .*/steps: 4/' -e '/^checkpoint:/,/^out:/{/^out:/!d}' \
    "$run/pretrain.yaml" >"$run/resume_$v.yaml"
  echo "checkpoint: {dir: resume_$v.out/ckpt}" >>"$run/resume_$v.yaml"
done
"$mimic" train "$run/resume_a.yaml" --quiet >"$tmp/ra" 2>&1 || { echo "FAIL: pre-training 4 steps:"; cat "$tmp/ra"; fail=1; }
"$mimic" train "$run/resume_b.yaml" --quiet --stop-after 2 >"$tmp/rb" 2>&1 &&
  "$mimic" train "$run/resume_b.yaml" --quiet --resume >>"$tmp/rb" 2>&1 || { echo "FAIL: stop and resume:"; cat "$tmp/rb"; fail=1; }
cut -d, -f1,3,4,5,7,9 "$run/resume_a.out/log.csv" >"$tmp/ra.csv"
cut -d, -f1,3,4,5,7,9 "$run/resume_b.out/log.csv" >"$tmp/rb.csv"
cmp -s "$tmp/ra.csv" "$tmp/rb.csv" || { echo "FAIL: the resumed pre-training differs:"; diff "$tmp/ra.csv" "$tmp/rb.csv"; fail=1; }

# run.sh --resume keeps the finished stages and runs the others again, the same bits
cp "$run/scratch_cls.out/weights.safetensors" "$tmp/scratch_cls.weights"
rm "$run/scratch_cls.done" "$run/scratch_cls.out/checkpoint.safetensors"
"$root/examples/beit/run.sh" "$mimic" --tiny --out "$run" --resume >"$tmp/again" 2>&1 ||
  { echo "FAIL: run.sh --resume:"; cat "$tmp/again"; fail=1; }
[ "$(grep -c ': done earlier$' "$tmp/again")" = 10 ] || { echo "FAIL: --resume did not keep the 10 finished stages:"; cat "$tmp/again"; fail=1; }
expect "--resume ran the unfinished stage" '^  scratch_cls: steps 1\.\.2: ' "$tmp/again"
cmp -s "$run/scratch_cls.out/weights.safetensors" "$tmp/scratch_cls.weights" || { echo "FAIL: scratch_cls trained again differs"; fail=1; }

# --full rewrites the marked values (and only prepares with --prepare)
"$root/examples/beit/run.sh" "$mimic" --full --prepare --out "$tmp/full" >/dev/null || { echo "FAIL: run.sh --full --prepare"; fail=1; }
expect "--full: a longer pre-training" '^steps: 4000$' "$tmp/full/pretrain.yaml"
expect "--full: a larger tokenizer, in pre-training too" '^    n_hid: 16$' "$tmp/full/pretrain.yaml"
expect "--full: all training images" '^  count: 60000$' "$tmp/full/finetune_seg.yaml"
expect "--full: model paths made absolute" "^model: $root/graphs/vit.yaml\$" "$tmp/full/scratch_cls.yaml"
[ -e "$tmp/full/pretrain.out" ] && { echo "FAIL: --prepare trained"; fail=1; }
[ $fail = 0 ] && echo "ok: the BEiT pipeline at tiny sizes"
exit $fail
