#!/usr/bin/env bash
# aot.sh MIMIC — ahead-of-time compilation end to end: `mimic compile` of graphs/vit.yaml
# (depth 2, batch 4, weights built in), examples/aot_classify built with plain cc through
# its Makefile, its logits against the interpreter's on the same images and weights, the
# weights blob (good and corrupt), an object without embedded weights, cross-compilation
# (file(1) names the machine), and the object's undefined symbols. Then the same
# comparison at the default depth 12. At both depths the JIT's logits are compared too:
# AOT, JIT and interpreter agree to 1e-4 of the largest logit.
set -u
. "$(dirname "$0")/harness.sh" "$1"
vit=$root/graphs/vit.yaml
example=$root/examples/aot_classify
data=/usr/share/datasets/fashion-mnist
n=6 # two batches of 4, the second one padded
start=$SECONDS

# The symbols an AOT object may leave undefined, and why:
#   fopen fread fclose   NAME_init_file reads the weights blob
#   memcpy memset        NAME_init_embedded's copy; kernels filling and moving buffers
#   memmove              LLVM may turn a copy loop into it
#   exp log tanh erf expf logf tanhf erff sqrt sqrtf pow powf fmod fmodf
#                        libm, for f64 math (f32 is inline polynomial code) and what
#                        LLVM leaves as library calls
allowed='^(fopen|fread|fclose|memcpy|memset|memmove|(exp|log|tanh|erf|sqrt|pow|fmod|expm1|log1p)f?)$'

check_file() { # check_file DESCRIPTION PATTERN FILE
  grep -qE -- "$2" "$3" || { echo "FAIL: $1: no line matching '$2' in $3:"; head -20 "$3" | sed 's/^/    /'; fail=1; }
}

# Relative agreement of two files of numbers: max |a - b| over max |b| <= tol (the
# logits of a freshly initialised head are small, so a per-element relative test would
# amplify rounding, and an absolute one would be too loose).
agree() { # agree A B TOL
  paste -d' ' <(tr -s ' \t' '\n\n' <"$1" | grep .) <(tr -s ' \t' '\n\n' <"$2" | grep .) | awk -v tol="$3" '
    { if (NF != 2) bad = 1; d = $1 - $2; if (d < 0) d = -d; if (d > md) md = d;
      b = $2 < 0 ? -$2 : $2; if (b > mb) mb = b; n++ }
    END { if (bad || n == 0 || mb == 0) { print "no numbers to compare, or lengths differ"; exit 1 }
          printf "%d values, max |diff| %.3g, max |ref| %.3g, relative %.3g\n", n, md, mb, md / mb;
          exit (md / mb <= tol) ? 0 : 1 }'
}

# The f32 values of a .npy file (format 1.0), one per line.
npy_values() {
  local hlen
  hlen=$(od -An -tu2 -j8 -N2 "$1" | tr -d ' ')
  od -An -v -tf4 -j $((10 + hlen)) "$1" | tr -s ' ' '\n' | grep .
}

# compile_and_compare DIR DEPTH: the example built in DIR, its logits vs the interpreter's.
compile_and_compare() {
  local dir=$1 depth=$2
  mkdir -p "$dir"
  if command -v make >/dev/null; then
    (cd "$dir" && make -s -f "$example/Makefile" MIMIC="$mimic" ROOT="$root" DEPTH="$depth" BATCH=4 >make.log 2>&1)
  else # what the Makefile does
    (cd "$dir" && "$mimic" init "$vit" -D depth="$depth" --seed 1 -o vit.safetensors &&
      "$mimic" compile "$vit" -D depth="$depth" --batch 4 --embed-weights vit.safetensors --weights-blob vit.bin \
        -o vit.o --header vit.h && cc -std=c11 -O2 -Wall -Wextra -I. "$example/main.c" vit.o -lm -lpthread -o classify) \
      >"$dir/make.log" 2>&1
  fi || { echo "FAIL: building the example at depth $depth:"; sed 's/^/    /' "$dir/make.log"; fail=1; return 1; }
  (cd "$dir" && ./classify -n $n --logits logits.txt >classify.out 2>&1) ||
    { echo "FAIL: classify at depth $depth:"; cat "$dir/classify.out"; fail=1; return 1; }
  "$mimic" run "$vit" -D depth="$depth" --engine=interp --weights "$dir/vit.safetensors" \
    --input pixels="$tmp/x.npy" --output logits="$dir/ref.npy" >/dev/null || { echo "FAIL: mimic run"; fail=1; return 1; }
  npy_values "$dir/ref.npy" >"$dir/ref.txt"
  agree "$dir/logits.txt" "$dir/ref.txt" 1e-4 >"$dir/agree" ||
    { echo "FAIL: depth $depth: AOT logits differ from the interpreter's: $(cat "$dir/agree")"; fail=1; }
  echo "depth $depth, AOT vs interpreter: $(cat "$dir/agree")"
  # the JIT on the same weights and images: the third engine
  "$mimic" run "$vit" -D depth="$depth" --weights "$dir/vit.safetensors" \
    --input pixels="$tmp/x.npy" --output logits="$dir/jit.npy" >/dev/null || { echo "FAIL: mimic run (jit)"; fail=1; return 1; }
  "$mimic" compare "$dir/jit.npy" "$dir/ref.npy" --tol 1e-4 >"$dir/jitcmp" ||
    { echo "FAIL: depth $depth: JIT logits differ from the interpreter's: $(cat "$dir/jitcmp")"; fail=1; }
  echo "depth $depth, JIT vs interpreter: $(cat "$dir/jitcmp")"
}

[ -r $data/t10k-images-idx3-ubyte.gz ] || { echo "SKIP: no Fashion-MNIST in $data"; exit 77; }
"$mimic" data --count $n --images "$tmp/x.npy" >/dev/null || { echo "FAIL: mimic data"; exit 1; }

d2=$tmp/d2
if compile_and_compare "$d2" 2; then
  check_file "classify prints a prediction per image" '^image 5: predicted [0-9] \(.*\), label 1 \(Trouser\)$' \
    "$d2/classify.out"
  check_file "classify prints the loss of a full batch" '^  mean loss of images 0\.\.3: 2\.30' "$d2/classify.out"
  check_file "the header has the region sizes" '^#define VIT_WEIGHTS_SIZE +[0-9]+ ' "$d2/vit.h"
  check_file "the header has the pixels' shape" '^#define VIT_IN_PIXELS_SHAPE +\{4, 1, 28, 28\}' "$d2/vit.h"
  check_file "the header has a weight's offset" '^#define VIT_W_BLOCKS_1_ATTN_QKV_WEIGHT_OFFSET +[0-9]+$' "$d2/vit.h"
  check_file "the header declares run" '^void vit_run\(void \*weights, void \*act, void \*io\);' "$d2/vit.h"

  # the same weights from the blob file
  (cd "$d2" && ./classify -n $n --blob vit.bin --logits blob.txt >/dev/null 2>"$tmp/err") ||
    { echo "FAIL: classify --blob: $(cat "$tmp/err")"; fail=1; }
  cmp -s "$d2/logits.txt" "$d2/blob.txt" || { echo "FAIL: blob weights give other logits"; fail=1; }

  # a flipped byte in the data: the checksum catches it
  cp "$d2/vit.bin" "$tmp/bad.bin"
  printf '\x55' | dd of="$tmp/bad.bin" bs=1 seek=1000 conv=notrunc 2>/dev/null
  (cd "$tmp" && "$d2/classify" -n 1 --blob bad.bin >/dev/null 2>err.txt)
  [ $? = 1 ] || { echo "FAIL: a corrupt blob was accepted"; fail=1; }
  check_file "a corrupt blob's error" '^classify: vit: weights file bad\.bin: checksum mismatch \(the file is corrupt\)$' \
    "$tmp/err.txt"
  printf 'MIMICWB2' | dd of="$tmp/bad.bin" bs=1 seek=0 conv=notrunc 2>/dev/null
  (cd "$tmp" && "$d2/classify" -n 1 --blob bad.bin >/dev/null 2>err.txt)
  check_file "a blob's bad magic" '^classify: vit: weights file bad\.bin: bad magic \(not a weights blob\)$' "$tmp/err.txt"
  (cd "$tmp" && "$d2/classify" -n 1 --blob nowhere.bin >/dev/null 2>err.txt)
  check_file "a missing blob" '^classify: vit: weights file nowhere\.bin: cannot open$' "$tmp/err.txt"

  # nothing embedded: the blob is the only way in (written from --weights)
  nb=$tmp/noembed
  mkdir -p "$nb"
  (cd "$nb" && "$mimic" compile "$vit" -D depth=2 --batch 4 --weights "$d2/vit.safetensors" --weights-blob vit.bin \
    -o vit.o >compile.out 2>&1 && cc -std=c11 -O2 -I. "$example/main.c" vit.o -lm -lpthread -o classify &&
    ./classify -n $n --blob vit.bin --logits logits.txt >/dev/null) ||
    { echo "FAIL: an object without embedded weights"; cat "$nb/compile.out"; fail=1; }
  grep -q 'HAS_EMBEDDED_WEIGHTS\|init_embedded' "$nb/vit.h" && { echo "FAIL: vit.h declares embedded weights"; fail=1; }
  cmp -s "$d2/logits.txt" "$nb/logits.txt" || { echo "FAIL: the blob-only object gives other logits"; fail=1; }
  cmp -s "$d2/vit.bin" "$nb/vit.bin" || { echo "FAIL: the blob of --weights differs from that of --embed-weights"; fail=1; }

  # the plain path (one kernel per primitive, no planning): the same logits, a larger arena
  pp=$tmp/plain
  mkdir -p "$pp"
  (cd "$pp" && "$mimic" compile "$vit" -D depth=2 --batch 4 --weights "$d2/vit.safetensors" --weights-blob vit.bin \
    --no-fuse --no-plan -o vit.o >compile.out 2>&1 && cc -std=c11 -O2 -I. "$example/main.c" vit.o -lm -lpthread -o classify &&
    ./classify -n $n --blob vit.bin --logits logits.txt >/dev/null) ||
    { echo "FAIL: an object compiled --no-fuse --no-plan"; cat "$pp/compile.out"; fail=1; }
  agree "$pp/logits.txt" "$d2/logits.txt" 1e-4 >"$pp/agree" ||
    { echo "FAIL: --no-fuse --no-plan logits differ from the fused object's: $(cat "$pp/agree")"; fail=1; }
  act() { sed -n 's/^#define VIT_ACT_SIZE  *\([0-9]*\).*/\1/p' "$1"; }
  [ "$(act "$pp/vit.h")" -gt "$(act "$d2/vit.h")" ] ||
    { echo "FAIL: the plain object's arena ($(act "$pp/vit.h")) is not larger than the planned one's ($(act "$d2/vit.h"))"; fail=1; }

  # the object needs libc and libm only
  for o in "$d2/vit.o" "$nb/vit.o"; do
    nm -u "$o" | awk '{print $NF}' >"$tmp/undef"
    if grep -vqE "$allowed" "$tmp/undef"; then
      echo "FAIL: $o needs unexpected symbols: $(grep -vE "$allowed" "$tmp/undef" | tr '\n' ' ')"; fail=1
    fi
    grep -qx fread "$tmp/undef" || { echo "FAIL: $o: init_file does not read with fread?"; fail=1; }
  done
  for f in vit_run vit_init_embedded vit_embedded_weights vit_init_file vit_error; do
    nm "$d2/vit.o" | grep -qE " T $f\$" || { echo "FAIL: vit.o does not define $f"; fail=1; }
  done
fi

# cross-compilation: the object is a relocatable ELF for the named machine. The ELF header
# is read with od (e_type 1 = relocatable, e_machine 62 = x86-64, 183 = AArch64), and
# file(1) is asked too where it is installed.
for t in "aarch64-linux-gnu:183:ARM aarch64" "x86_64-linux-gnu:62:x86-64"; do
  IFS=: read -r triple em machine <<<"$t"
  "$mimic" compile "$vit" -D depth=1 --target "$triple" -o "$tmp/$triple.o" >/dev/null 2>"$tmp/err" ||
    { echo "FAIL: compile --target $triple: $(cat "$tmp/err")"; fail=1; continue; }
  elf=$(od -An -tx1 -N4 "$tmp/$triple.o" | tr -d ' ')
  type_machine=$(od -An -tu2 -j16 -N4 "$tmp/$triple.o" | tr -s ' ')
  [ "$elf" = 7f454c46 ] && [ "$type_machine" = " 1 $em" ] ||
    { echo "FAIL: --target $triple: not a relocatable ELF for machine $em (magic $elf, type/machine$type_machine)"; fail=1; }
  if command -v file >/dev/null; then
    file "$tmp/$triple.o" >"$tmp/file"
    check_file "--target $triple" "ELF 64-bit LSB relocatable, $machine" "$tmp/file"
  fi
  [ -s "$tmp/$triple.h" ] || { echo "FAIL: --target $triple: no header beside the object"; fail=1; }
done

# the default depth (12): the model the README runs
compile_and_compare "$tmp/d12" 12

exit $fail
