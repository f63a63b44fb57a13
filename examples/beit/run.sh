#!/usr/bin/env bash
# run.sh MIMIC [--tiny | --full] [--out DIR] [--jobs N] [--prepare] [--resume] — the BEiT pipeline on
# Fashion-MNIST, every stage a `mimic train` recipe of this folder, each stage's weights
# feeding the next:
#   1. tokenizer.yaml        dVAE tokenizer                           -> tokenizer.out
#   2. pretrain.yaml         masked image modelling, blockwise masks  -> pretrain.out
#      pretrain_random.yaml  the same with random masks (ablation)    -> pretrain_random.out
#      pretrain_pixel.yaml   the same regressing pixels (ablation)    -> pretrain_pixel.out
#   3. finetune_cls.yaml     classification from pretrain.out; scratch_cls.yaml from
#      scratch; linear_probe.yaml (frozen backbone); finetune_random.yaml and
#      finetune_pixel.yaml from the ablations
#   4. finetune_seg.yaml     segmentation from pretrain.out; scratch_seg.yaml from scratch
# then one table: test accuracy and segmentation mIoU with and without pre-training, the
# linear probe and the two ablations. The tokenizer and pre-training stages also draw
# OUT/<stage>.out/samples.png (reconstructions, masks).
#
# The recipes are copied to OUT (default examples/beit/run, run-tiny or run-full) with
# their model paths made absolute; --tiny and --full replace each value marked
# `# tiny: A full: B` in them (--tiny: a few steps of tiny models, for the tests; --full:
# real numbers, hours; --prepare only writes the recipes). Up to --jobs stages run at a
# time (default: the cores, at most 4), each as soon as the stage whose weights it needs is
# done, each on cores/jobs threads (at least one); every stage is deterministic and the
# same bits on any number of threads, so the numbers do not depend on --jobs. Every stage
# checkpoints as it goes; --resume keeps the stages an earlier run of OUT finished and
# continues the others from their checkpoints (the same bits as an uninterrupted run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
usage() { echo "usage: $0 MIMIC [--tiny | --full] [--out DIR] [--jobs N] [--prepare] [--resume]" >&2; exit 1; }
[ $# -ge 1 ] || usage
mimic=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
cores=$(nproc 2>/dev/null || echo 1)
scale=small out="" jobs=$((cores < 4 ? cores : 4)) prepare=0 resume=0
while [ $# -gt 0 ]; do
  case $1 in
    --tiny) scale=tiny ;;
    --full) scale=full ;;
    --out) out=${2:-}; shift ;;
    --jobs) jobs=${2:-}; shift ;;
    --prepare) prepare=1 ;;
    --resume) resume=1 ;;
    *) usage ;;
  esac
  shift
done
[ -x "$mimic" ] || { echo "$0: $mimic is not an executable" >&2; exit 1; }
[ "$jobs" -ge 1 ] 2>/dev/null || usage
threads=$((cores / jobs > 0 ? cores / jobs : 1))
case $scale in small) dflt=$here/run ;; *) dflt=$here/run-$scale ;; esac
out=${out:-$dflt}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# stage:the stage it needs, longest chains first
plan="tokenizer:- pretrain_pixel:- pretrain:tokenizer pretrain_random:tokenizer finetune_cls:pretrain
  finetune_seg:pretrain finetune_random:pretrain_random finetune_pixel:pretrain_pixel linear_probe:pretrain
  scratch_cls:- scratch_seg:-"
stages=$(for p in $plan; do echo "${p%%:*}"; done)
for s in $stages; do
  # `key: value  # tiny: A full: B` -> `key: A` (or B) for the chosen scale
  awk -v scale="$scale" -v graphs="$root/graphs/" '
    { gsub(/\.\.\/\.\.\/graphs\//, graphs) }
    scale != "small" && match($0, "#.*" scale ": [^ ]+") {
      v = substr($0, RSTART, RLENGTH); sub(".*" scale ": ", "", v)
      if (match($0, /^ *[A-Za-z_]+: */)) { print substr($0, 1, RLENGTH) v; next }
    }
    { print }' "$here/$s.yaml" >"$out/$s.yaml"
done
[ $prepare = 0 ] || { echo "recipes ($scale) in $out"; exit 0; }

# stage NAME: train its recipe (from its checkpoint with --resume), log to OUT/NAME.log,
# mark it done (OUT/NAME.done), say how long it took
stage() {
  local t0=$SECONDS
  local more=()
  if [ $resume = 1 ] && [ -f "$out/$1.out/checkpoint.safetensors" ]; then
    more=(--resume)
    echo "  $1: resumed from its checkpoint" >>"$out/$1.log"
  else
    : >"$out/$1.log"
  fi
  if "$mimic" train "$out/$1.yaml" --quiet --threads "$threads" "${more[@]}" >>"$out/$1.log" 2>&1; then
    touch "$out/$1.done"
    echo "  $1: $(grep -E '^trained' "$out/$1.log" | tail -1 | sed 's/^trained //') [$((SECONDS - t0)) s]"
    grep -E '^init: ' "$out/$1.log" | tail -1 | sed 's/^/      /' || true
  else
    echo "  $1: FAILED, see $out/$1.log:" >&2
    tail -5 "$out/$1.log" >&2
    return 1
  fi
}
echo "BEiT pipeline ($scale) in $out, up to $jobs at a time"
start=$SECONDS
declare -A state=() pidof=()   # stage -> pending | running | done | failed
for p in $plan; do
  s=${p%%:*}
  if [ $resume = 1 ] && [ -f "$out/$s.done" ]; then state[$s]=done; echo "  $s: done earlier"
  else state[$s]=pending; rm -f "$out/$s.done"; fi
done
running=0 failed=0
while :; do
  # start what can start, in plan order
  for p in $plan; do
    s=${p%%:*} dep=${p#*:}
    [ "${state[$s]}" = pending ] && [ $running -lt "$jobs" ] || continue
    if [ "$dep" != - ] && [ "${state[$dep]}" = failed ]; then state[$s]=failed; continue; fi
    [ "$dep" = - ] || [ "${state[$dep]}" = done ] || continue
    stage "$s" &
    pidof[$!]=$s state[$s]=running running=$((running + 1))
  done
  [ $running -gt 0 ] || break
  pid=""
  if wait -n -p pid; then state[${pidof[$pid]}]=done; else state[${pidof[$pid]}]=failed failed=1; fi
  running=$((running - 1))
done
total=$((SECONDS - start))
[ $failed = 0 ] || { echo "$0: some stages failed (logs in $out)" >&2; exit 1; }

# last(STAGE, COLUMN): the column's last non-empty value in the stage's log.csv
last() {
  awk -F, -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
    c && $c != "" { v = $c } END { if (v == "") print "-"; else printf "%.4f\n", v }' "$out/$1.out/log.csv"
}
echo
echo "BEiT on Fashion-MNIST ($scale), test split; $total s in all"
printf '%-44s %14s %10s %10s\n' "" "test accuracy" "seg mIoU" "pixel acc"
printf '%-44s %14s %10s %10s\n' "from scratch" "$(last scratch_cls val_acc)" "$(last scratch_seg miou)" "$(last scratch_seg pix_acc)"
printf '%-44s %14s %10s %10s\n' "BEiT fine-tuned (blockwise masking)" "$(last finetune_cls val_acc)" "$(last finetune_seg miou)" "$(last finetune_seg pix_acc)"
printf '%-44s %14s %10s %10s\n' "BEiT linear probe (frozen backbone)" "$(last linear_probe val_acc)" "" ""
printf '%-44s %14s %10s %10s\n' "ablation: random masking, fine-tuned" "$(last finetune_random val_acc)" "" ""
printf '%-44s %14s %10s %10s\n' "ablation: pixel regression, fine-tuned" "$(last finetune_pixel val_acc)" "" ""
echo
printf 'pre-training MIM accuracy on masked patches: blockwise %s, random %s (pixel regression: MSE %s)\n' \
  "$(last pretrain mim_acc)" "$(last pretrain_random mim_acc)" "$(last pretrain_pixel val_loss)"
printf 'tokenizer: reconstruction error (mean |x - x^|) %s, codebook usage %s\n' \
  "$(last tokenizer rec_mae)" "$(last tokenizer codebook)"
echo "pictures: $out/tokenizer.out/samples.png, $out/pretrain.out/samples.png"
