#!/usr/bin/env bash
# vit_classify.sh MIMIC — the main job, for now: check and lower the ViT, initialise random
# weights, and classify a few Fashion-MNIST test images through the reference interpreter.
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
step "mimic run: classify them with the interpreter"
"$mimic" run graphs/vit.yaml --weights "$out/vit-init.safetensors" \
  --input pixels="$out/images.npy" --input labels="$out/labels.npy" \
  --output logits="$out/logits.npy" --output loss="$out/loss.npy"
step "outputs"
"$mimic" inspect "$out/logits.npy"
"$mimic" inspect "$out/labels.npy"
echo
echo "The weights are random, so the predictions are too; the loss should be near ln(10) = 2.30."
