#!/usr/bin/env bash
# vit_classify.sh MIMIC — the main job, for now: check and lower the ViT, initialise random
# weights, classify a few Fashion-MNIST test images with native code (the JIT; a second
# run takes its kernels from the compile cache), and check the logits against the
# reference interpreter's.
set -euo pipefail
mimic=$1
out=${MIMIC_OUT:-out}
count=${COUNT:-8}
mkdir -p "$out"
step() { printf '\n== %s\n' "$*"; }

step "mimic check graphs/vit.yaml"
"$mimic" check graphs/vit.yaml
step "mimic init: random weights (seed 0)"
"$mimic" init graphs/vit.yaml -o "$out/vit-init.safetensors" --seed 0
step "mimic data: $count Fashion-MNIST test images"
"$mimic" data --split test --count "$count" --images "$out/images.npy" --labels "$out/labels.npy"
step "mimic run: classify them with native code (JIT)"
"$mimic" run graphs/vit.yaml --weights "$out/vit-init.safetensors" \
  --input pixels="$out/images.npy" --input labels="$out/labels.npy" \
  --output logits="$out/logits.npy" --output loss="$out/loss.npy"
step "mimic run again: the kernels come from the compile cache"
"$mimic" run graphs/vit.yaml --weights "$out/vit-init.safetensors" \
  --input pixels="$out/images.npy" --input labels="$out/labels.npy" \
  --output logits="$out/logits.npy" --output loss="$out/loss.npy"
step "mimic run --engine=interp: the reference interpreter, for comparison"
"$mimic" run graphs/vit.yaml --weights "$out/vit-init.safetensors" --engine=interp \
  --input pixels="$out/images.npy" --output logits="$out/logits-interp.npy"
"$mimic" compare "$out/logits.npy" "$out/logits-interp.npy" --tol 1e-4
step "outputs"
"$mimic" inspect "$out/logits.npy"
"$mimic" inspect "$out/labels.npy"
echo
echo "The weights are random, so the predictions are too; the loss should be near ln(10) = 2.30."
