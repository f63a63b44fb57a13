#!/usr/bin/env bash
# run_bad.sh MIMIC CASE — runs one bad-input case (tests/bad/README.md) in a scratch copy
# of tests/bad and checks the exit code, the exact stderr, and files that must not exist.
set -u
mimic=$1
case_file=$2
bad_dir=$(cd "$(dirname "$case_file")" && pwd)
root=$(cd "$bad_dir/../.." && pwd)
name=$(basename "$case_file")

field() { sed -n "s/^$1: //p" "$case_file"; }
cmd=$(field cmd)
want_exit=$(field exit)
want_err=$(field stderr)
absent=$(field absent)
[ -n "$cmd" ] && [ -n "$want_exit" ] && [ -n "$want_err" ] || { echo "$name: case needs cmd, exit and stderr"; exit 1; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r "$bad_dir/." "$scratch/"
cd "$scratch" || exit 1
export XDG_CACHE_HOME="$scratch/.cache" # the JIT's compile cache stays in the scratch copy
cmd=${cmd//\{root\}/$root}
# shellcheck disable=SC2086  # the case's command line is split into words on purpose
"$mimic" $cmd >stdout.txt 2>stderr.txt
got_exit=$?
got_err=$(cat stderr.txt)
fail=0
if [ "$got_exit" != "$want_exit" ]; then
  echo "$name: exit code $got_exit, expected $want_exit"; fail=1
fi
if [ "$got_err" != "$want_err" ]; then
  printf '%s: stderr differs\n  got:  %s\n  want: %s\n' "$name" "$got_err" "$want_err"; fail=1
fi
for f in $absent; do
  if [ -e "$f" ]; then echo "$name: $f exists but must not"; fail=1; fi
done
exit $fail
