#!/usr/bin/env bash
# cli.sh MIMIC — the commands end to end on graphs/vit.yaml at depth 2: check's summary,
# init -> run through the interpreter on generated inputs, outputs computed only as asked,
# inspect, dot, --help everywhere.
set -u
mimic=$1
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache" # the JIT's compile cache, kept out of the user's
fail=0
expect() { # expect DESCRIPTION PATTERN FILE
  grep -qE -- "$2" "$3" || { echo "FAIL: $1: no line matching '$2' in:"; sed 's/^/    /' "$3"; fail=1; }
}
vit=$root/graphs/vit.yaml

"$mimic" check "$vit" -D depth=2 >"$tmp/check" || { echo "FAIL: check exited $?"; fail=1; }
expect "check names the model" '^model vit ' "$tmp/check"
expect "check shows the overridden depth" 'depth=2' "$tmp/check"
expect "check shows pixels with a symbolic batch" 'pixels +f32\[batch,1,28,28\]' "$tmp/check"
expect "check shows labels" 'labels +i32\[batch\]' "$tmp/check"
expect "check shows logits" 'logits +f32\[batch,10\]' "$tmp/check"
expect "check shows the scalar loss" 'loss +f32\[\]' "$tmp/check"
# depth 2, dim d=192, hidden h=768: embeddings d*16+d (patch conv) + d (cls) + 50*d (pos) = 13,056;
# per block 4*d*d (qkv, proj) + 2*h*d + h (mlp) + 10*d (norms, q/v bias, proj and fc2 bias,
# gammas) = 445,056; fc_norm and head 2*d + 10*d + 10 = 2,314
expect "check counts the parameters" 'weights: [0-9]+ tensors, 905,482 parameters' "$tmp/check"

"$mimic" check "$vit" -D depth=2 --batch 5 >"$tmp/check5" || fail=1
expect "--batch fixes the batch" 'pixels +f32\[5,1,28,28\]' "$tmp/check5"

"$mimic" init "$vit" -D depth=2 -o "$tmp/w.safetensors" --seed 1 >"$tmp/init" || { echo "FAIL: init"; fail=1; }
expect "init reports" 'wrote .*w.safetensors: [0-9]+ tensors, 905482 parameters' "$tmp/init"
"$mimic" inspect "$tmp/w.safetensors" >"$tmp/inspect" || { echo "FAIL: inspect"; fail=1; }
expect "inspect lists a block weight" 'blocks.1.attn.qkv.weight +f32 +\[576,192\]' "$tmp/inspect"
expect "inspect lists gamma filled with 0.1" 'blocks.0.gamma_1 .* min 0.1 .* max 0.1 ' "$tmp/inspect"

if [ -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  "$mimic" data --count 3 --images "$tmp/x.npy" --labels "$tmp/y.npy" >/dev/null || { echo "FAIL: data"; fail=1; }
  # logits only: labels are not needed, and not given
  "$mimic" run "$vit" -D depth=2 --weights "$tmp/w.safetensors" --input pixels="$tmp/x.npy" \
    --output logits="$tmp/logits.npy" >"$tmp/run" || { echo "FAIL: run (logits only)"; fail=1; }
  expect "run reads the batch off the input" 'batch 3' "$tmp/run"
  expect "the JIT is the default engine" 'run \(jit\)' "$tmp/run"
  expect "the first JIT run compiles" 'compile [0-9.]+ s \([0-9]+ kernels\)' "$tmp/run"
  "$mimic" run "$vit" -D depth=2 --weights "$tmp/w.safetensors" --input pixels="$tmp/x.npy" \
    --output logits="$tmp/logits2.npy" >"$tmp/run2" || { echo "FAIL: second run"; fail=1; }
  expect "the second JIT run comes from the cache" 'kernels, cached\)' "$tmp/run2"
  "$mimic" run "$vit" -D depth=2 --weights "$tmp/w.safetensors" --input pixels="$tmp/x.npy" --no-cache \
    --output logits="$tmp/logits3.npy" >"$tmp/run3" || { echo "FAIL: run --no-cache"; fail=1; }
  grep -q 'cached' "$tmp/run3" && { echo "FAIL: --no-cache used the cache"; fail=1; }
  # a damaged cache entry is detected and rebuilt
  for f in "$XDG_CACHE_HOME"/mimic/*.mobj; do printf 'garbage' | dd of="$f" bs=1 seek=200 conv=notrunc 2>/dev/null; done
  "$mimic" run "$vit" -D depth=2 --weights "$tmp/w.safetensors" --input pixels="$tmp/x.npy" \
    --output logits="$tmp/logits4.npy" >"$tmp/run4" || { echo "FAIL: run after damaging the cache"; fail=1; }
  grep -q 'cached' "$tmp/run4" && { echo "FAIL: a damaged cache entry was used"; fail=1; }
  "$mimic" run "$vit" -D depth=2 --weights "$tmp/w.safetensors" --input pixels="$tmp/x.npy" \
    --output logits="$tmp/logits5.npy" >"$tmp/run5" || fail=1
  expect "the rebuilt entry is used" 'kernels, cached\)' "$tmp/run5"
  # the weights go into the program once; every run of --repeat uses them
  "$mimic" run "$vit" -D depth=2 --weights "$tmp/w.safetensors" --input pixels="$tmp/x.npy" --repeat 3 \
    --output logits="$tmp/logits6.npy" >"$tmp/run6" || { echo "FAIL: run --repeat 3"; fail=1; }
  expect "run --repeat reports the median" 'median of 3 runs' "$tmp/run6"
  "$mimic" run "$vit" -D depth=2 --weights "$tmp/w.safetensors" --input pixels="$tmp/x.npy" --engine=interp \
    --output logits="$tmp/logits_ref.npy" >/dev/null || { echo "FAIL: run --engine=interp"; fail=1; }
  for k in "" 2 3 4 5 6; do
    "$mimic" compare "$tmp/logits$k.npy" "$tmp/logits_ref.npy" --tol 1e-4 >"$tmp/cmp" ||
      { echo "FAIL: JIT logits$k differ from the interpreter's:"; cat "$tmp/cmp"; fail=1; }
  done
  "$mimic" inspect "$tmp/logits.npy" >"$tmp/lg" || fail=1
  expect "logits have the batch's shape" 'f32 +\[3,10\]' "$tmp/lg"
  "$mimic" run "$vit" -D depth=2 --weights "$tmp/w.safetensors" --input pixels="$tmp/x.npy" \
    --input labels="$tmp/y.npy" --output loss="$tmp/loss.npy" >"$tmp/run2" || { echo "FAIL: run (loss)"; fail=1; }
  # random init with the head scaled by 0.001: the loss is ln(10) to about 3 decimals
  expect "loss of a random classifier is ln 10" 'loss +f32\[\] += 2\.30' "$tmp/run2"
fi

"$mimic" dot "$vit" -D depth=1 >"$tmp/dot" || { echo "FAIL: dot"; fail=1; }
expect "dot is a digraph" '^digraph "vit" \{' "$tmp/dot"
# stats: a table of unfused and fused figures, or one JSON object with the same
"$mimic" stats "$vit" -D depth=2 >"$tmp/stats" || { echo "FAIL: stats exited $?"; fail=1; }
expect "stats names the graph" '^vit: inference, batch 1, depth 2$' "$tmp/stats"
expect "stats has the columns" '^ +unfused +fused$' "$tmp/stats"
for r in nodes kernels kernels/block GFLOP 'MB moved' 'arena MB' 'unplanned MB'; do
  expect "stats row $r" "^  $r +[0-9.]+ +[0-9.]+\$" "$tmp/stats"
done
"$mimic" stats "$vit" -D depth=2 --json >"$tmp/stats.json" || { echo "FAIL: stats --json exited $?"; fail=1; }
[ "$(head -c1 "$tmp/stats.json")" = "{" ] && [ "$(tail -n1 "$tmp/stats.json")" = "}" ] ||
  { echo "FAIL: stats --json is not one object:"; cat "$tmp/stats.json"; fail=1; }
expect "stats --json model" '"model": "vit",' "$tmp/stats.json"
expect "stats --json batch and train" '"train": false,' "$tmp/stats.json"
for k in nodes kernels kernels_per_block flops bytes_moved arena_bytes unplanned_bytes; do
  expect "stats --json $k" "\"$k\": \\{\"before\": [0-9]+, \"after\": [0-9]+\\}" "$tmp/stats.json"
done
jfield() { sed -n "s/.*\"$1\": {\"before\": \([0-9]*\), \"after\": \([0-9]*\)}.*/\1 \2/p" "$2"; }
read -r kb ka <<<"$(jfield kernels "$tmp/stats.json")"
read -r pb pa <<<"$(jfield kernels_per_block "$tmp/stats.json")"
read -r mb ma <<<"$(jfield bytes_moved "$tmp/stats.json")"
[ "${ka:-0}" -gt 0 ] && [ "$ka" -lt "$kb" ] && [ "$pa" -lt "$pb" ] && [ "$ma" -lt "$mb" ] ||
  { echo "FAIL: fusion should cut kernels ($kb -> $ka), per block ($pb -> $pa), bytes ($mb -> $ma)"; fail=1; }
# --peak N: what is alive at the arena's peak, the N largest, largest first
"$mimic" stats "$vit" -D depth=2 --train --batch 4 --peak 3 >"$tmp/peak" || { echo "FAIL: stats --peak exited $?"; fail=1; }
expect "stats --peak's total" '^arena peak: [0-9.]+ MB alive at kernel step [0-9]+ of [0-9]+, in [0-9]+ buffers; the largest:$' "$tmp/peak"
[ "$(grep -cE '^ +[0-9.]+ MB  %[0-9]+ +[a-z_]+ +[a-z0-9]+\[[0-9,]*\]  steps [0-9]+\.\.[0-9]+  .*:[0-9]+$' "$tmp/peak")" = 3 ] ||
  { echo "FAIL: stats --peak 3 lists 3 values:"; cat "$tmp/peak"; fail=1; }
grep -E '^ +[0-9.]+ MB' "$tmp/peak" | awk '{print $1}' | sort -g -r -c 2>/dev/null || { echo "FAIL: stats --peak is not largest first"; fail=1; }
"$mimic" stats "$vit" --peak 0 >/dev/null 2>"$tmp/peak0" && { echo "FAIL: stats --peak 0 accepted"; fail=1; }
expect "stats --peak 0 is refused" "stats: --peak wants a count from 1, not '0'" "$tmp/peak0"
# kernels per block is exact: one more block adds that many kernels
"$mimic" stats "$vit" -D depth=3 --json >"$tmp/stats3.json" || fail=1
read -r kb3 ka3 <<<"$(jfield kernels "$tmp/stats3.json")"
[ "$((kb3 - kb))" = "$pb" ] && [ "$((ka3 - ka))" = "$pa" ] ||
  { echo "FAIL: depth 3 has $kb3/$ka3 kernels, depth 2 $kb/$ka, per block $pb/$pa"; fail=1; }
"$mimic" stats "$vit" -D depth=2 --train --json >"$tmp/statst.json" || { echo "FAIL: stats --train"; fail=1; }
expect "stats --train says so" '"train": true,' "$tmp/statst.json"
read -r tb ta <<<"$(jfield kernels "$tmp/statst.json")"
[ "${tb:-0}" -gt "$kb" ] && [ "${ta:-0}" -gt "$ka" ] || { echo "FAIL: the training step has fewer kernels"; fail=1; }
"$mimic" stats "$root/tests/bad/cli_tiny.yaml" --json >"$tmp/statsn.json" || fail=1
expect "stats without a depth parameter" '"kernels_per_block": null,' "$tmp/statsn.json"

for cmd in check ir dot init run grad train compile stats inspect data compare; do
  "$mimic" "$cmd" --help >"$tmp/help" || { echo "FAIL: $cmd --help exited $?"; fail=1; }
  expect "$cmd --help" "^usage: mimic $cmd" "$tmp/help"
done
exit $fail
