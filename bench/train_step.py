#!/usr/bin/env python3
"""train_step.py MIMIC [--threads N] [--batch N] [--steps N] [--reps N] [--json FILE]

Training steps (forward, backward, AdamW) side by side in one run: mimic (`mimic train`,
its stepping time divided by the steps; compilation excluded, the compile cache warm)
against PyTorch eager running the same model written in torch (tests/torch's
references), same batch, same thread count, each in a fresh process. Three models:

  classifier  graphs/vit.yaml at its defaults (28x28, patch 4, dim 192, depth 12)
  mim         graphs/mim.yaml at the same size, vocab 64, with the frozen tokenizer of
              the BEiT pipeline (graphs/dvae.yaml, n_hid 8, vocab 64) run on each batch
              and 20 of 49 patches masked: on both sides
  dvae        graphs/dvae.yaml at its defaults (n_hid 64, vocab 128, logit-Laplace)

Reports seconds per step (min/median/max over --reps processes), PyTorch's time over
mimic's (above 1: mimic is faster), and each process's peak resident memory (from
wait4) with mimic's over PyTorch's. PyTorch gets its best: torch.set_num_threads(N);
run with LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp for the OpenMP
OpenBLAS. Needs Debian's python3-torch, python3-numpy and dataset-fashion-mnist; says so
and exits when they are absent.
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
GRAPHS = os.path.join(ROOT, "graphs")
TOKENIZER = {"n_hid": 8, "vocab": 64}
MASKED = 20


def stats(xs):
    return {"min": min(xs), "median": statistics.median(xs), "max": max(xs)}


def measured(cmd, env):
    """Run cmd; its stdout and its peak resident set in MB (this process alone)."""
    with tempfile.TemporaryFile("w+") as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, text=True)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if p.returncode:
        sys.exit(f"train_step: {' '.join(cmd)} failed:\n{text}")
    return text, ru.ru_maxrss / 1024.0


# ---- the PyTorch side (run as `train_step.py --torch MODEL ...` in its own process) ----

def torch_worker(a):
    import numpy as np
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, os.path.join(ROOT, "tests", "torch"))
    from vit_ref import backbone_forward, read_safetensors, vit_forward
    from dvae_ref import decoder, encoder
    torch.set_num_threads(a.threads)
    w = {k: v.float().requires_grad_() for k, v in read_safetensors(a.weights).items()}
    gen = torch.Generator().manual_seed(0)
    pixels = torch.rand(a.batch, 1, 28, 28, generator=gen)
    if a.torch == "classifier":
        labels = torch.randint(0, 10, (a.batch,), generator=gen)

        def loss_fn():
            return vit_forward(w, pixels, labels, 12, 3, 4)[1]
    elif a.torch == "mim":
        tok = {k: v.float() for k, v in read_safetensors(a.tokenizer).items()}

        def loss_fn():
            with torch.no_grad():  # the frozen tokenizer, as the pipeline runs it
                tokens = encoder(tok, 0.8 * pixels + 0.1, 1).argmax(dim=1).flatten(1)
            mask = torch.rand(a.batch, 49, generator=gen).argsort(dim=1) < MASKED
            h = backbone_forward(w, pixels, 12, 3, 4, mask=mask)
            h = F.layer_norm(h, (h.shape[-1],), w["norm.weight"], w["norm.bias"], eps=1e-6)[:, 1:]
            logits = F.linear(h[mask], w["lm_head.weight"], w["lm_head.bias"])
            return F.cross_entropy(logits, tokens[mask])
    else:
        def loss_fn():  # graphs/dvae.yaml's loss: logit-Laplace reconstruction + beta KL
            x = 0.8 * pixels + 0.1
            logits = encoder(w, x, 1)
            g = -torch.log(-torch.log(torch.rand(logits.shape, generator=gen).clamp_min(1e-10)))
            y = decoder(w, torch.softmax((logits + g) / 1.0, dim=1), 1)
            mu, log_b = y[:, :1], y[:, 1:]
            logit_x = torch.log(x) - torch.log1p(-x)
            nll = (logit_x - mu).abs() / log_b.exp() + log_b + np.log(2.0) + torch.log(x * (1 - x))
            logq = torch.log_softmax(logits, dim=1)
            kl = (logq.exp() * (logq + np.log(logits.shape[1]))).sum(dim=1).mean()
            return nll.mean() + 49 / 784 * kl
    opt = torch.optim.AdamW(list(w.values()), lr=1e-4, weight_decay=0.05)
    t0 = time.perf_counter()
    for _ in range(a.steps):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
    print(f"step {(time.perf_counter() - t0) / a.steps:.6f} s loss {loss.item():.4f}")


# ---- the mimic side ----

def recipe(model, tmp, a, tok_weights):
    head = f"data: {{dataset: fashion-mnist, count: {a.batch * a.steps}{', normalize: false' if model == 'dvae' else ''}}}\n"
    head += f"batch: {a.batch}\nsteps: {a.steps}\noptimizer: {{kind: adamw, lr: 1e-4, weight_decay: 0.05}}\nout: {tmp}/out\n"
    if model == "classifier":
        return f"model: {GRAPHS}/vit.yaml\n" + head
    if model == "dvae":
        return f"model: {GRAPHS}/dvae.yaml\n" + head + "schedules:\n  temperature: {start: 1, end: 0.5}\n"
    return (f"model: {GRAPHS}/mim.yaml\nparams: {{vocab: {TOKENIZER['vocab']}}}\n" + head +
            f"tokenizer:\n  model: {GRAPHS}/dvae.yaml\n  weights: {tok_weights}\n"
            f"  params: {{n_hid: {TOKENIZER['n_hid']}, vocab: {TOKENIZER['vocab']}}}\n"
            "  output: tokens\n  input: tokens\n  bind: {pixels: images}\n"
            f"mask: {{input: mask, kind: block, count: {MASKED}, min_block: 4, min_aspect: 0.3}}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mimic", nargs="?")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=4, help="training steps timed per process")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--models", default="classifier,mim,dvae")
    ap.add_argument("--json")
    ap.add_argument("--torch", help=argparse.SUPPRESS)  # worker mode
    ap.add_argument("--weights", help=argparse.SUPPRESS)
    ap.add_argument("--tokenizer", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.torch:
        return torch_worker(a)
    try:
        import numpy  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        print("train_step: skipped: needs python3-numpy and python3-torch (Debian packages)")
        return
    if not os.path.exists(DATA):
        print("train_step: skipped: needs Fashion-MNIST (Debian's dataset-fashion-mnist)")
        return
    out = {"batch": a.batch, "threads": a.threads, "steps": a.steps, "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache"))
        tok = os.path.join(tmp, "tok.safetensors")
        measured([a.mimic, "init", f"{GRAPHS}/dvae.yaml", "-D", f"n_hid={TOKENIZER['n_hid']}", "-D",
                  f"vocab={TOKENIZER['vocab']}", "-o", tok], env)
        for model in a.models.split(","):
            r = os.path.join(tmp, f"{model}.yaml")
            with open(r, "w") as f:
                f.write(recipe(model, tmp, a, tok))
            graph = {"classifier": "vit.yaml", "mim": "mim.yaml", "dvae": "dvae.yaml"}[model]
            w = os.path.join(tmp, f"{model}.safetensors")
            init = [a.mimic, "init", f"{GRAPHS}/{graph}", "-o", w] + (["-D", f"vocab={TOKENIZER['vocab']}"] if model == "mim" else [])
            measured(init, env)
            cmd = [a.mimic, "train", r, "--quiet", "--threads", str(a.threads)]
            measured(cmd, env)  # compiles once; the timed runs load from the cache
            res = {"mimic": [], "torch": [], "mimic_rss": [], "torch_rss": []}
            worker = [sys.executable, os.path.abspath(__file__), "--torch", model, "--weights", w, "--tokenizer", tok,
                      "--threads", str(a.threads), "--batch", str(a.batch), "--steps", str(a.steps)]
            for _ in range(a.reps):  # alternate, so drifts of the machine hit both
                text, rss = measured(cmd, env)
                res["mimic"].append(float(re.search(r"train ([0-9.]+) s", text).group(1)) / a.steps)
                res["mimic_rss"].append(rss)
                text, rss = measured(worker, env)
                res["torch"].append(float(re.search(r"step ([0-9.]+) s", text).group(1)))
                res["torch_rss"].append(rss)
            m = {k: stats(v) for k, v in res.items()}
            m["speedup"] = m["torch"]["median"] / m["mimic"]["median"]
            m["rss_ratio"] = m["mimic_rss"]["median"] / m["torch_rss"]["median"]
            out["models"][model] = m
    print(f"training step, batch {a.batch}, {a.threads} thread(s), {a.reps} processes each, {a.steps} steps per process")
    print(f"{'':<12} {'mimic s/step':>14} {'PyTorch s/step':>15} {'speedup':>8} {'mimic MB':>9} {'PyTorch MB':>11} {'RSS ratio':>9}")
    for model, m in out["models"].items():
        print(f"{model:<12} {m['mimic']['median']:14.4f} {m['torch']['median']:15.4f} {m['speedup']:8.2f} "
              f"{m['mimic_rss']['median']:9.0f} {m['torch_rss']['median']:11.0f} {m['rss_ratio']:9.2f}")
    print("(medians; speedup = PyTorch's time / mimic's; RSS ratio = mimic's peak / PyTorch's)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
