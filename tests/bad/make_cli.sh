#!/usr/bin/env bash
# make_cli.sh MIMIC — regenerates the data files of the cli_* cases (run from tests/bad).
set -eu
mimic=$1
"$mimic" init cli_tiny.yaml -o cli_tiny.safetensors --seed 1
"$mimic" init cli_tiny.yaml -D features=4 -o cli_tiny_f4.safetensors --seed 1
/usr/bin/python3 - <<'PY'
import numpy as np
np.save('cli_x.npy', np.ones((2, 8), np.float32))
np.save('cli_x_wide.npy', np.ones((2, 9), np.float32))
np.save('cli_x_f64.npy', np.ones((2, 8), np.float64))
np.save('cli_labels_big.npy', np.array([1, 2**40], np.int64))
PY
