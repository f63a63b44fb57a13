#!/usr/bin/python3
"""sgemm.py — single-precision matrix products: mimic's JIT against numpy (OpenBLAS) and
against the machine's fp32 roof, side by side in one run, on 1 and on 2 threads.

    /usr/bin/python3 bench/sgemm.py build/compiler/cli/mimic [--reps 5] [--threads 1,2] [--shapes MxKxN,...]
                     [--json out.json]

Shapes: 512^3, 1024^3, 2048^3 and the ViT's linear layers at batch 64 (M = 64*50 rows,
K and N among 192, 576, 768), each as C = A Bᵀ with B stored [N, K] like a linear
layer's weight. mimic runs a one-node IR file (`mimic run x.mir`, its own run time);
numpy runs `a @ b.T` with OpenBLAS's threads set to the same count. Each mimic sample is
the median of 20 runs in one process (5 for products of 2 GFLOP and more; `--repeat`:
the arena is warm and the threads settled, as numpy's are). The roof comes
from bench/peak.c (independent vector multiply-add chains), built here with cc.
Reported: GFLOP/s min/median/max over the repetitions, mimic ÷ numpy and mimic ÷ roof.
For a fair numpy, run with the OpenMP OpenBLAS (LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/
openblas-openmp; with the pthread build two threads are slower than one)."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHAPES = [(512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048),
          (3200, 192, 576), (3200, 192, 768), (3200, 768, 192), (3200, 192, 192)]  # (M, K, N)


def stats(xs):
    return {"min": min(xs), "median": statistics.median(xs), "max": max(xs)}


def mir(m, k, n):
    return (f'graph "sgemm" {{\n  %0 = input "a" : f32[{m},{k}]\n  %1 = input "b" : f32[{n},{k}]\n'
            f'  %2 = matmul(%0, %1) {{ta=0, tb=1}} : f32[{m},{n}]\n  output "c" = %2\n}}\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mimic")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--shapes", help="MxKxN,... instead of the standard set")
    ap.add_argument("--json")
    a = ap.parse_args()
    shapes = [tuple(int(x) for x in s.split("x")) for s in a.shapes.split(",")] if a.shapes else SHAPES
    threads = [int(t) for t in a.threads.split(",")]
    try:
        import numpy as np  # the inputs are .npy files, and numpy is the comparison
    except ImportError:
        print("sgemm: skipped: needs python3-numpy (Debian package)")
        return
    out = {"threads": threads, "roof": {}, "rows": []}
    with tempfile.TemporaryDirectory() as tmp:
        peak = os.path.join(tmp, "peak")
        subprocess.run(["cc", "-O2", "-march=native", "-ffp-contract=fast", "-pthread",
                        os.path.join(ROOT, "bench", "peak.c"), "-o", peak], check=True)
        for t in threads:
            g = [float(subprocess.run([peak, str(t)], check=True, capture_output=True, text=True).stdout.split()[0])
                 for _ in range(3)]
            out["roof"][t] = max(g)
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache"))
        for (m, k, n) in shapes:
            flops = 2.0 * m * n * k
            f = os.path.join(tmp, f"g{m}_{k}_{n}.mir")
            with open(f, "w") as fh:
                fh.write(mir(m, k, n))
            rng = np.random.default_rng(0)
            xa, xb = os.path.join(tmp, "a.npy"), os.path.join(tmp, "b.npy")
            np.save(xa, rng.random((m, k), dtype=np.float32) - 0.5)
            np.save(xb, rng.random((n, k), dtype=np.float32) - 0.5)
            row = {"M": m, "K": k, "N": n}
            for t in threads:
                # enough runs in the process for its threads to settle: at 2 threads the
                # first few runs of a ~10 ms product are as slow as one thread's
                rep = "20" if flops < 2e9 else "5"
                cmd = [a.mimic, "run", f, "--input", f"a={xa}", "--input", f"b={xb}",
                       "--output", f"c={os.path.join(tmp, 'c.npy')}", "--threads", str(t), "--repeat", rep]
                subprocess.run(cmd, check=True, capture_output=True, env=env)  # compile once
                gm = []
                for _ in range(a.reps):
                    o = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
                    gm.append(flops / float(re.search(r"run \(jit\) ([0-9.]+) s", o).group(1)) / 1e9)
                row[f"mimic_{t}"] = stats(gm)
                code = ("import numpy as np, time, sys\n"
                        f"A=np.load('{xa}'); B=np.load('{xb}'); C=A@B.T\n"
                        "ts=[]\n"
                        f"for _ in range({a.reps}):\n"
                        "  t0=time.perf_counter(); C=A@B.T; ts.append(time.perf_counter()-t0)\n"
                        "print(' '.join(str(x) for x in ts))\n")
                e2 = dict(os.environ, OMP_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t))
                ts = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                                    env=e2).stdout.split()
                row[f"numpy_{t}"] = stats([flops / float(x) / 1e9 for x in ts])
            out["rows"].append(row)
    print(f"SGEMM C = A·Bᵀ, GFLOP/s (min / median / max of {a.reps}); fp32 roof measured by bench/peak.c: "
          + ", ".join(f"{out['roof'][t]:.1f} on {t} thread(s)" for t in threads))
    for t in threads:
        print(f"\n{t} thread(s)")
        print(f"{'M x K x N':<18} {'mimic':>22} {'numpy':>22} {'÷ numpy':>8} {'÷ roof':>7}")
        for r in out["rows"]:
            mm = r[f"mimic_{t}"]
            nm = r[f"numpy_{t}"]
            fmt = lambda s: f"{s['min']:6.1f} {s['median']:6.1f} {s['max']:6.1f}"
            print(f"{r['M']}x{r['K']}x{r['N']:<8} {fmt(mm):>22} {fmt(nm):>22} "
                  f"{mm['median'] / nm['median']:8.2f} {mm['median'] / out['roof'][t]:7.2f}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
