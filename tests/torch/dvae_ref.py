#!/usr/bin/env python3
"""dvae_ref.py MIMIC — cross-check graphs/dvae.yaml (the dVAE tokenizer) against PyTorch.

The PyTorch model is written here from BEIT.md §5 (the DALL-E encoder and decoder: 7x7
input conv, groups of residual blocks identity + post_gain * (relu-conv)x4 with inner
width n/4 and post_gain 1/(groups * blocks)^2, max-pool / nearest upsampling between
groups, relu + 1x1 output conv), with the widths and projections dvae.yaml documents
(a group's 1x1 `proj` where its width changes; in the decoder it is applied here after
the upsampling, as DALL-E's id_path is, while dvae.yaml applies it before: the two are
the same function). The loss uses torch.distributions: the logit-Laplace density as a
Laplace density of logit(x) with the Jacobian 1/(x(1-x)), and the KL of Categorical(q)
against the uniform Categorical. The Gumbel noise is mimic's `random` op (Philox-4x32-10,
runtime/philox.h) re-implemented in numpy, so the same seed gives the same noise.

mimic initialises the weights (biases redrawn non-zero, the residual branches' last conv
scaled up so the blocks matter, the logits spread so the tokens vary), runs the model (JIT) and differentiates its loss; the
outputs loss, rec_loss, kl, recon and tokens and every weight's gradient must agree with
the reference, for both likelihoods. Exits 77 (skip) without torch.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vit_ref import F, np, read_safetensors, torch, write_safetensors  # noqa: E402 (exits 77 without torch)

N_HID, VOCAB, BATCH, TAU, SEED = 8, 16, 3, 0.6, 12345


def philox_uniform(seed, stream, n):
    """mimic's random(seed, stream) for elements 0..n-1: Philox-4x32-10 with key (seed,
    stream) and counter (index, index >> 32, 0, 0); (first word >> 8) * 2^-24."""
    m = np.uint64(0xFFFFFFFF)
    idx = np.arange(n, dtype=np.uint64)
    c0, c1 = idx & m, idx >> np.uint64(32)
    c2, c3 = np.zeros(n, np.uint64), np.zeros(n, np.uint64)
    k0, k1 = np.uint64(seed & 0xFFFFFFFF), np.uint64(stream & 0xFFFFFFFF)
    for r in range(10):
        if r:
            k0, k1 = (k0 + np.uint64(0x9E3779B9)) & m, (k1 + np.uint64(0xBB67AE85)) & m
        p0, p1 = np.uint64(0xD2511F53) * c0, np.uint64(0xCD9E8D57) * c2
        c0, c1, c2, c3 = (p1 >> np.uint64(32)) ^ c1 ^ k0, p1 & m, (p0 >> np.uint64(32)) ^ c3 ^ k1, p0 & m
    return ((c0 >> np.uint64(8)).astype(np.float32) * np.float32(2.0 ** -24)).astype(np.float32)


def block(w, p, x, first, last, gain):
    h = F.conv2d(F.relu(x), w[p + "conv1.weight"], w[p + "conv1.bias"], padding=(first - 1) // 2)
    h = F.conv2d(F.relu(h), w[p + "conv2.weight"], w[p + "conv2.bias"], padding=1)
    h = F.conv2d(F.relu(h), w[p + "conv3.weight"], w[p + "conv3.bias"], padding=1)
    h = F.conv2d(F.relu(h), w[p + "conv4.weight"], w[p + "conv4.bias"], padding=(last - 1) // 2)
    return x + gain * h


def conv(w, name, x, padding=0):
    return F.conv2d(x, w[name + ".weight"], w[name + ".bias"], padding=padding)


def encoder(w, x, blocks):
    gain = 1 / (3 * blocks) ** 2
    x = conv(w, "encoder.input", x, padding=3)
    for g in (1, 2, 3):
        if g > 1:
            x = conv(w, f"encoder.group_{g}.proj", F.max_pool2d(x, 2))
        for i in range(blocks):
            x = block(w, f"encoder.group_{g}.blocks.{i}.", x, 3, 1, gain)
    return conv(w, "encoder.output", F.relu(x))


def decoder(w, z, blocks):
    gain = 1 / (3 * blocks) ** 2
    x = conv(w, "decoder.input", z)
    for g in (1, 2, 3):
        if g > 1:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = conv(w, f"decoder.group_{g}.proj", x)
        for i in range(blocks):
            x = block(w, f"decoder.group_{g}.blocks.{i}.", x, 1, 3, gain)
    return conv(w, "decoder.output", F.relu(x))


def dvae(w, pixels, tau, seed, blocks, likelihood, beta, eps=0.1):
    x = (1 - 2 * eps) * pixels + eps
    logits = encoder(w, x, blocks)
    u = torch.from_numpy(np.maximum(philox_uniform(seed, 0, logits.numel()), np.float32(1e-10)))
    g = -torch.log(-torch.log(u.double().reshape(logits.shape)))
    z = torch.softmax((logits + g) / tau, dim=1)
    y = decoder(w, z, blocks)
    c = pixels.shape[1]
    if likelihood == "laplace":
        mu, log_b = y[:, :c], y[:, c:]
        logit_x = torch.log(x) - torch.log1p(-x)
        log_f = torch.distributions.Laplace(mu, log_b.exp()).log_prob(logit_x) - torch.log(x * (1 - x))
        rec_loss = -log_f.mean()
        recon = ((torch.sigmoid(mu) - eps) / (1 - 2 * eps)).clamp(0, 1)
    else:
        rec_loss = F.mse_loss(y, pixels)
        recon = y
    q = torch.distributions.Categorical(logits=logits.permute(0, 2, 3, 1))
    prior = torch.distributions.Categorical(logits=torch.zeros_like(q.logits))
    kl = torch.distributions.kl_divergence(q, prior).mean()
    positions, values = logits.shape[2] * logits.shape[3], pixels[0].numel()
    loss = rec_loss + beta * positions / values * kl
    return {"loss": loss, "rec_loss": rec_loss, "kl": kl, "recon": recon, "tokens": logits.argmax(dim=1),
            "logits": logits}


def check(mimic, blocks, likelihood, beta):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    model = os.path.join(root, "graphs", "dvae.yaml")
    defs = [f"n_hid={N_HID}", f"vocab={VOCAB}", f"n_blk_per_group={blocks}", f"likelihood={likelihood}", f"beta={beta}"]
    defs = [a for d in defs for a in ("-D", d)]
    gen = torch.Generator().manual_seed(blocks)
    # noise over ramps in different directions, so that positions get different codes
    ramp = torch.linspace(0, 1, 28, dtype=torch.float64)
    ramps = torch.stack([ramp[:, None].expand(28, 28), ramp[None, :].expand(28, 28), 1 - ramp[:, None] * ramp[None, :]])
    noise = torch.rand(BATCH, 1, 28, 28, generator=gen, dtype=torch.float64)
    pixels = (0.3 * noise + 0.7 * ramps[torch.arange(BATCH) % 3][:, None]).float().double()
    outputs = ["loss", "rec_loss", "kl", "recon", "tokens"]
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache"))
        p = {n: os.path.join(tmp, n) for n in ("w.safetensors", "g.safetensors", "x.npy", "tau.npy", "seed.npy")}
        subprocess.run([mimic, "init", model, "-o", p["w.safetensors"], "--seed", "4"] + defs, check=True,
                       stdout=subprocess.DEVNULL, env=env)
        w = read_safetensors(p["w.safetensors"])
        for name in w:
            if name.endswith(".bias"):
                w[name] = torch.randn(w[name].shape, generator=gen, dtype=torch.float64) * 0.1
            elif name.endswith("conv4.weight"):
                w[name] = w[name] * 9 * blocks * blocks  # undo most of post_gain
            elif name == "encoder.output.weight":
                w[name] = w[name] * 10  # spread the logits: many distinct tokens
        write_safetensors(p["w.safetensors"], w)
        np.save(p["x.npy"], pixels.numpy().astype(np.float32))
        np.save(p["tau.npy"], np.array(TAU, dtype=np.float32))
        np.save(p["seed.npy"], np.array(SEED, dtype=np.int32))
        args = ["--weights", p["w.safetensors"], "--input", "pixels=" + p["x.npy"], "--input",
                "temperature=" + p["tau.npy"], "--input", "seed=" + p["seed.npy"]] + defs
        outs = [a for o in outputs for a in ("--output", f"{o}={os.path.join(tmp, o + '.npy')}")]
        subprocess.run([mimic, "run", model] + args + outs, check=True, stdout=subprocess.DEVNULL, env=env)
        got = {o: np.load(os.path.join(tmp, o + ".npy")) for o in outputs}
        subprocess.run([mimic, "grad", model, "-o", p["g.safetensors"]] + args, check=True, stdout=subprocess.DEVNULL,
                       env=env)
        got_grads = read_safetensors(p["g.safetensors"])
    wref = {k: v.float().double().requires_grad_() for k, v in w.items()}
    ref = dvae(wref, pixels, torch.tensor(TAU, dtype=torch.float32).double(), SEED, blocks, likelihood, beta)
    ref["loss"].backward()
    print(f"{likelihood}, {blocks} block(s), beta {beta}:")
    ok = True
    for o in outputs:
        r = ref[o].detach().numpy()
        if o == "tokens":
            # the f32 model may pick another code only where two logits nearly tie
            top2 = np.sort(ref["logits"].detach().numpy(), axis=1)[:, -2:]
            near = (top2[:, 1] - top2[:, 0]) < 1e-4
            bad = int(((got[o] != r) & ~near).sum())
            print(f"  tokens: {int((got[o] == r).sum())} of {r.size} equal, {bad} differ without a near tie, "
                  f"{len(np.unique(r))} distinct codes")
            ok = ok and bad == 0 and got[o].dtype == np.int32
            continue
        err = np.abs(got[o] - r).max() / max(1.0, np.abs(r).max())
        what = f"{float(got[o]):.7f} vs {float(r):.7f}" if r.ndim == 0 else f"max rel err {err:.2e}"
        print(f"  {o}: {what}")
        ok = ok and err < 1e-4
    if set(got_grads) != set(wref):
        print(f"  gradient names differ: {sorted(set(got_grads) ^ set(wref))}")
        ok = False
    worst, small = (0.0, ""), 0
    for name, t in wref.items():
        if name not in got_grads:
            continue
        r = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
        small += np.abs(r).max() == 0
        gerr = np.abs(got_grads[name].numpy() - r).max() / max(np.abs(r).max(), 1e-30)
        worst = max(worst, (gerr, name))
    print(f"  {len(got_grads)} gradients ({small} all zero), worst relative error {worst[0]:.2e} ({worst[1]})")
    return ok and small == 0 and worst[0] < 1e-4


def main():
    ok = check(sys.argv[1], 2, "laplace", 1.0)
    ok = check(sys.argv[1], 1, "mse", 6.6) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
