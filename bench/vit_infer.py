#!/usr/bin/env python3
"""vit_infer.py MIMIC [--depth N] [--batch N] [--reps N] [--json FILE]

ViT inference, side by side in one run: mimic (the JIT and the reference interpreter)
against PyTorch on the same weights and images: eager, traced (torch.jit.trace), frozen
(torch.jit.freeze) and torch.jit.optimize_for_inference; ratios are to the best of them. Reports seconds per batch
(min/median/max over --reps runs) and the ratio to PyTorch; mimic's time is the one it
prints for the run alone (model build, compilation and file I/O excluded). Also the JIT's
compile time with an empty compile cache (cold) against a warm one (cached), each run in
a fresh process. Needs Debian's python3-numpy and python3-torch; says so and exits when
they are absent.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    import torch
except ImportError:
    print("vit_infer: skipped: needs python3-numpy and python3-torch (Debian packages)")
    sys.exit(0)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "torch"))
from vit_ref import read_safetensors, vit_forward  # noqa: E402


def torch_compiled(weights, xt, labels, depth):
    """vit_forward as a traced module, frozen (torch.jit.freeze), and through
    torch.jit.optimize_for_inference; the forms this torch cannot make are left out."""
    class Vit(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.names = list(weights)
            for i, k in enumerate(self.names):
                self.register_parameter(f"w{i}", torch.nn.Parameter(weights[k], requires_grad=False))

        def forward(self, x):
            w = {k: getattr(self, f"w{i}") for i, k in enumerate(self.names)}
            return vit_forward(w, x, labels, depth, 3, 4)[0]

    out = {}
    with torch.no_grad():
        try:
            traced = torch.jit.trace(Vit().eval(), xt)
            out["pytorch jit.trace"] = traced
            frozen = torch.jit.freeze(traced)
            out["pytorch jit.freeze"] = frozen
            out["pytorch optimize_for_inference"] = torch.jit.optimize_for_inference(frozen)
        except Exception as err:  # noqa: BLE001 (reported, then measured without it)
            print(f"vit_infer: a TorchScript form failed: {type(err).__name__}: {err}")
    return out


def stats(xs):
    return {"min": min(xs), "median": statistics.median(xs), "max": max(xs)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mimic")
    ap.add_argument("--depth", type=int, default=12)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-interp", action="store_true", help="leave the (slow) interpreter out")
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = os.path.join(ROOT, "graphs", "vit.yaml")
    defs = ["-D", f"depth={a.depth}"]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        w, x = os.path.join(tmp, "w.safetensors"), os.path.join(tmp, "x.npy")
        subprocess.run([a.mimic, "init", model, "-o", w] + defs, check=True, stdout=subprocess.DEVNULL)
        images = np.random.default_rng(0).random((a.batch, 1, 28, 28), dtype=np.float32)
        np.save(x, images)
        run = [a.mimic, "run", model, "--weights", w, "--input", f"pixels={x}", "--output",
               f"logits={os.path.join(tmp, 'l.npy')}", "--threads", str(a.threads), "--repeat", "3"] + defs

        def mimic(engine, env):
            out = subprocess.run(run + [f"--engine={engine}"], check=True, capture_output=True, text=True,
                                 env=env).stdout
            m = re.search(r"compile ([0-9.]+) s \(([0-9]+) kernels(, cached)?\)", out)
            return float(re.search(rf"run \({engine}\) ([0-9.]+) s", out).group(1)), m

        cold, cached, times = [], [], []
        for r in range(a.reps):
            env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, f"cache{r}"))  # empty: a cold compile
            t, m = mimic("jit", env)
            assert not m.group(3), "a fresh cache directory gave a cache hit"
            cold.append(float(m.group(1)))
            kernels = int(m.group(2))
            t, m = mimic("jit", env)
            assert m.group(3), "the second run did not hit the cache"
            cached.append(float(m.group(1)))
            times.append(t)
        rows["mimic jit"] = stats(times)
        compile_rows = {"cold": stats(cold), "cached": stats(cached)}
        if not a.no_interp:
            rows["mimic interp"] = stats([mimic("interp", os.environ)[0] for _ in range(a.reps)])
        weights = {k: v.float() for k, v in read_safetensors(w).items()}
    xt = torch.from_numpy(images)
    labels = torch.zeros(a.batch, dtype=torch.long)
    times = []
    with torch.no_grad():
        vit_forward(weights, xt, labels, a.depth, 3, 4)  # warm-up
        for _ in range(a.reps):
            t0 = time.perf_counter()
            vit_forward(weights, xt, labels, a.depth, 3, 4)
            times.append(time.perf_counter() - t0)
    rows["pytorch eager"] = stats(times)
    for name, m in torch_compiled(weights, xt, labels, a.depth).items():  # the other forms a user would try
        with torch.no_grad():
            m(xt)
            m(xt)  # a traced module optimises on its first runs
            times = []
            for _ in range(a.reps):
                t0 = time.perf_counter()
                m(xt)
                times.append(time.perf_counter() - t0)
        rows[name] = stats(times)
    best = min((r["median"], n) for n, r in rows.items() if n.startswith("pytorch"))
    print(f"PyTorch's best: {best[1]}")
    base = best[0]
    print(f"ViT inference, depth {a.depth}, batch {a.batch}, {a.threads} thread(s), {a.reps} runs each")
    print(f"{'engine':<31} {'min s':>9} {'median s':>9} {'max s':>9} {'median / pytorch best':>22}")
    for name, r in rows.items():
        print(f"{name:<31} {r['min']:9.4f} {r['median']:9.4f} {r['max']:9.4f} {r['median'] / base:22.2f}")
    print(f"\nJIT compile time ({kernels} kernels), seconds, fresh process each")
    print(f"{'cache':<16} {'min s':>9} {'median s':>9} {'max s':>9} {'median / cached':>17}")
    cbase = compile_rows["cached"]["median"]
    for name, r in compile_rows.items():
        print(f"{name:<16} {r['min']:9.4f} {r['median']:9.4f} {r['max']:9.4f} {r['median'] / cbase:17.1f}")
    if "mimic interp" in rows:
        print(f"\nJIT against the interpreter: {rows['mimic interp']['median'] / rows['mimic jit']['median']:.1f}x faster")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"depth": a.depth, "batch": a.batch, "threads": a.threads, "rows": rows, "pytorch_best": best[1],
                       "compile": compile_rows, "kernels": kernels}, f, indent=1)


if __name__ == "__main__":
    main()
