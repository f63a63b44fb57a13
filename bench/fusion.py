#!/usr/bin/env python3
"""fusion.py MIMIC [--reps N] [--steps N] [--json FILE]

Fused + memory-planned against `--no-fuse --no-plan`, side by side in one run, for the
default ViT (28x28, patch 4, dim 192, depth 12, heads 3, batch 64): inference (`mimic
run`, its own run time) and the training step (`mimic train` on Fashion-MNIST, its
stepping time divided by the steps). Also the kernel counts and arena sizes `mimic stats`
gives. Reports min/median/max over --reps runs and the ratio unfused / fused. Needs only
mimic (and Debian's dataset-fashion-mnist for the training part, skipped without it).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, "graphs", "vit.yaml")
DATA = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def stats(xs):
    return {"min": min(xs), "median": statistics.median(xs), "max": max(xs)}


def run(cmd, env):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mimic")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--steps", type=int, default=4, help="training steps timed per run")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1, help="threads for mimic run and mimic train")
    ap.add_argument("--json")
    a = ap.parse_args()
    variants = {"fused+planned": [], "unfused+unplanned": ["--no-fuse", "--no-plan"]}
    out = {"batch": a.batch, "inference": {}, "train": {}, "stats": {}}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache"))
        for train in (False, True):
            js = json.loads(run([a.mimic, "stats", MODEL, "--batch", str(a.batch), "--json"] + (["--train"] if train else []),
                                env))
            out["stats"]["train" if train else "inference"] = js
        w, x = os.path.join(tmp, "w.safetensors"), os.path.join(tmp, "x.npy")
        run([a.mimic, "init", MODEL, "-o", w], env)
        if os.path.exists(DATA):
            run([a.mimic, "data", "--split", "test", "--count", str(a.batch), "--images", x], env)
        else:
            import numpy as np  # only to make random images when the dataset is absent
            np.save(x, np.random.default_rng(0).random((a.batch, 1, 28, 28), dtype=np.float32))
        for name, flags in variants.items():
            cmd = [a.mimic, "run", MODEL, "--weights", w, "--input", f"pixels={x}", "--output",
                   f"logits={os.path.join(tmp, 'l.npy')}", "--threads", str(a.threads), "--repeat", "3"] + flags
            run(cmd, env)  # compile once; the timed runs come from the cache
            times = [float(re.search(r"run \(jit\) ([0-9.]+) s", run(cmd, env)).group(1)) for _ in range(a.reps)]
            out["inference"][name] = stats(times)
        if os.path.exists(DATA):
            recipe = os.path.join(tmp, "r.yaml")
            with open(recipe, "w") as f:
                f.write(f"model: {MODEL}\ndata: {{dataset: fashion-mnist, count: {a.batch * a.steps}}}\n"
                        f"batch: {a.batch}\nsteps: {a.steps}\noptimizer: {{lr: 1e-4}}\nout: {tmp}/out\n")
            for name, flags in variants.items():
                cmd = [a.mimic, "train", recipe, "--quiet", "--threads", str(a.threads)] + flags
                run(cmd, env)
                times = []
                for _ in range(a.reps):
                    o = run(cmd, env)
                    times.append(float(re.search(r"train ([0-9.]+) s", o).group(1)) / a.steps)
                out["train"][name] = stats(times)
        else:
            print("fusion: training part skipped: no Fashion-MNIST (dataset-fashion-mnist)")
    print(f"default ViT, batch {a.batch}, {a.threads} thread(s), {a.reps} runs each (seconds per batch / per step;"
          " inference: each run the median of 3 in one process)")
    print(f"{'':<22} {'min':>9} {'median':>9} {'max':>9}")
    for part in ("inference", "train"):
        for name, r in out[part].items():
            print(f"{part + ' ' + name:<34} {r['min']:9.4f} {r['median']:9.4f} {r['max']:9.4f}")
        if len(out[part]) == 2:
            ratio = out[part]["unfused+unplanned"]["median"] / out[part]["fused+planned"]["median"]
            out[part]["ratio"] = ratio
            print(f"{part}: fused+planned is {ratio:.2f}x faster")
    for part, js in out["stats"].items():
        k, kb, ar, un = js["kernels"], js["kernels_per_block"], js["arena_bytes"], js["unplanned_bytes"]
        print(f"{part}: kernels {k['before']} -> {k['after']}, per block {kb['before']} -> {kb['after']}; "
              f"arena {ar['after'] / 1e6:.1f} MB of {un['after'] / 1e6:.1f} MB unplanned "
              f"({100 * ar['after'] / un['after']:.1f}%)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
