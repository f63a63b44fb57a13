#!/usr/bin/env bash
# run.sh — the quick start. `./run.sh demo` runs the main job (the BEiT pipeline on
# Fashion-MNIST at its small default size: examples/beit/run.sh), `./run.sh test` the test
# suite (a normal build and an AddressSanitizer+UndefinedBehaviorSanitizer build). Both
# install what is missing (Debian bookworm, as root or with sudo), configure and build.
set -euo pipefail
cd "$(dirname "$0")"

packages=(gcc pkg-config meson ninja-build llvm-19-dev libyaml-dev zlib1g-dev dataset-fashion-mnist)

install_missing() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "== installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() { # build DIR [meson options...]
  local dir=$1
  shift
  local log
  log=$(mktemp)
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" --native-file native/llvm19.ini "$@" >"$log" 2>&1 || { cat "$log"; rm -f "$log"; exit 1; }
  fi
  echo "== building $dir"
  ninja -C "$dir" >"$log" 2>&1 || { cat "$log"; rm -f "$log"; exit 1; }
  rm -f "$log"
}

# Counts of one meson test run, from its JSON log: "passed failed skipped".
counts() {
  local log=$1/meson-logs/testlog.json
  local ok fail skip
  ok=$(grep -c '"result": "OK"' "$log" || true)
  fail=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
  skip=$(grep -c '"result": "SKIP"' "$log" || true)
  echo "$ok $fail $skip"
}

case "${1:-}" in
  demo)
    install_missing
    build build
    exec examples/beit/run.sh build/compiler/cli/mimic
    ;;
  test)
    install_missing
    build build
    build build-san -Dsanitize=true -Dbuildtype=debug
    status=0
    echo "== tests (debugoptimized build)"
    meson test -C build --print-errorlogs -q || status=1
    echo "== tests (ASan + UBSan build)"
    # the random-graph test runs 1,000 graphs in the normal build; 300 suffice here
    MIMIC_FUZZ_COUNT=300 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      meson test -C build-san --print-errorlogs -q || status=1
    read -r ok1 fail1 skip1 <<<"$(counts build)"
    read -r ok2 fail2 skip2 <<<"$(counts build-san)"
    echo "$((ok1 + ok2)) passed, $((fail1 + fail2)) failed, $((skip1 + skip2)) skipped"
    exit $status
    ;;
  *)
    echo "usage: ./run.sh demo | test" >&2
    exit 1
    ;;
esac
