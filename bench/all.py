#!/usr/bin/env python3
"""all.py MIMIC [--threads 1,2] [--reps N] [--quick] [--json FILE]

Every benchmark of bench/, one after another in one run, each printing its own table:

  sgemm.py       SGEMM against numpy/OpenBLAS and the measured fp32 roof
  vit_infer.py   ViT inference, batch 1 and batch 64, against PyTorch's best form
  train_step.py  classifier, MIM and dVAE training steps against PyTorch, peak memory
  fusion.py      fused + planned against --no-fuse --no-plan

for each thread count of --threads. --json FILE collects every benchmark's own JSON
under its name and thread count. --quick runs fewer repetitions (a smoke test of the
suite, not figures). Run it on a quiet machine, with the OpenMP OpenBLAS for numpy and
PyTorch:

  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \\
      /usr/bin/python3 bench/all.py build/compiler/cli/mimic --json bench.json
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mimic")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    reps = "1" if a.quick else str(a.reps)
    threads = [t for t in a.threads.split(",") if t]
    runs = [("sgemm", ["sgemm.py", "--reps", reps, "--threads", a.threads], None)]
    for t in threads:
        for batch in ("1", "64"):
            runs.append((f"vit_infer batch {batch}", ["vit_infer.py", "--no-interp", "--batch", batch, "--threads", t,
                                                      "--reps", "3" if a.quick else "5"], t))
        runs.append(("train_step", ["train_step.py", "--threads", t, "--reps", reps] + (["--steps", "2"] if a.quick else []), t))
        runs.append(("fusion", ["fusion.py", "--threads", t, "--reps", reps], t))
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, args, t) in enumerate(runs):
            title = name + (f", {t} thread(s)" if t else "")
            print(f"\n=== {title} ===", flush=True)
            js = os.path.join(tmp, f"{i}.json")
            t0 = time.time()
            rc = subprocess.run([sys.executable, os.path.join(HERE, args[0]), a.mimic] + args[1:] + ["--json", js]).returncode
            if rc:
                sys.exit(f"all: {title} failed (exit {rc})")
            print(f"({time.time() - t0:.0f} s)", flush=True)
            if os.path.exists(js):  # absent when the benchmark skipped itself
                with open(js) as f:
                    out.setdefault(name, {})[t or "all"] = json.load(f)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
