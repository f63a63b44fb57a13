# harness.sh — sourced by the shell tests (`. "$(dirname "$0")/harness.sh" "$1"`): the
# mimic command ($1) as an absolute path in $mimic, the repository in $root, a scratch
# directory $tmp removed on exit, which also holds the JIT's compile cache, $fail (set
# to 1 by a failed check), expect, and needs_fashion_mnist (exits 77, a skip, without
# Debian's dataset-fashion-mnist).
mimic=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache"
fail=0

expect() { # expect DESCRIPTION PATTERN FILE
  grep -qE -- "$2" "$3" || { echo "FAIL: $1: no line matching '$2' in $3:"; head -20 "$3" | sed 's/^/    /'; fail=1; }
}

needs_fashion_mnist() {
  [ -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || { echo "SKIP: no Fashion-MNIST"; exit 77; }
}
