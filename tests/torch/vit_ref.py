#!/usr/bin/env python3
"""vit_ref.py MIMIC — cross-check graphs/vit.yaml against an independent PyTorch BEiT ViT.

The PyTorch model is written here from BEIT.md (timm / unilm layout: conv patch embedding,
CLS token, absolute position embedding, pre-norm blocks with q/v bias and no k bias, layer
scale, exact GELU, mean-pooled patch tokens -> fc_norm -> head). mimic initialises the
weights and runs the model; the weights file is loaded into PyTorch by name, as a user's
state dict would be, and the logits, the loss and the gradients must agree. Exits 77 (skip)
without torch. mim_ref.py and seg_ref.py reuse backbone_forward and crosscheck.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError:
    print("skip: python3-torch / python3-numpy are not installed")
    sys.exit(77)

DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "BOOL": np.bool_}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        arr = np.frombuffer(data[b:e], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy()).double()
    return out


def backbone_forward(w, x, depth, heads, patch, mask=None):
    """The token states [b, 1 + t, dim] after the blocks. mask (bool [b, t]) replaces the
    masked patch embeddings by mask_token, as BEiT's pre-training model does."""
    x = F.conv2d(x, w["patch_embed.proj.weight"], w["patch_embed.proj.bias"], stride=patch)
    x = x.flatten(2).transpose(1, 2)
    b, t, dim = x.shape
    if mask is not None:
        m = mask.unsqueeze(-1).type_as(x)
        x = x * (1 - m) + w["mask_token"] * m
    x = torch.cat([w["cls_token"].expand(b, -1, -1), x], dim=1) + w["pos_embed"]
    for i in range(depth):
        p = lambda k: w[f"blocks.{i}.{k}"]
        h = F.layer_norm(x, (dim,), p("norm1.weight"), p("norm1.bias"), eps=1e-6)
        qkv_bias = torch.cat([p("attn.q_bias"), torch.zeros_like(p("attn.v_bias")), p("attn.v_bias")])
        qkv = F.linear(h, p("attn.qkv.weight"), qkv_bias).reshape(b, t + 1, 3, heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q * (dim // heads) ** -0.5
        a = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        o = (a @ v).transpose(1, 2).reshape(b, t + 1, dim)
        x = x + p("gamma_1") * F.linear(o, p("attn.proj.weight"), p("attn.proj.bias"))
        h = F.layer_norm(x, (dim,), p("norm2.weight"), p("norm2.bias"), eps=1e-6)
        h = F.linear(F.gelu(F.linear(h, p("mlp.fc1.weight"), p("mlp.fc1.bias"))), p("mlp.fc2.weight"), p("mlp.fc2.bias"))
        x = x + p("gamma_2") * h
    return x


def vit_forward(w, x, labels, depth, heads, patch):
    x = backbone_forward(w, x, depth, heads, patch)
    dim = x.shape[-1]
    pooled = F.layer_norm(x[:, 1:].mean(dim=1), (dim,), w["fc_norm.weight"], w["fc_norm.bias"], eps=1e-6)
    logits = F.linear(pooled, w["head.weight"], w["head.bias"])
    return logits, F.cross_entropy(logits, labels)


def crosscheck(mimic, model, defs, inputs, reference, outputs):
    """Initialise `model` (graphs/<model>) with mimic, replace every weight by an O(1)
    random one, run it and differentiate its loss with mimic, and compare the outputs
    named in `outputs` and the gradients with reference(weights, inputs), which returns a
    dict of output tensors including "loss". inputs: name -> torch tensor (floats are
    handed to mimic as f32, integers as i32, bools as bool). True when all agree."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    model = os.path.join(root, "graphs", model)
    defs = [a for d in defs for a in ("-D", d)]
    with tempfile.TemporaryDirectory() as tmp:
        wpath, gpath = os.path.join(tmp, "w.safetensors"), os.path.join(tmp, "grads.safetensors")
        subprocess.run([mimic, "init", model, "-o", wpath, "--seed", "3"] + defs, check=True, stdout=subprocess.DEVNULL)
        # layer scale 0.1 and a head scaled by 0.001 would hide most of the network: make
        # every weight O(1) so that a wrong block changes the logits visibly
        w = read_safetensors(wpath)
        gen = torch.Generator().manual_seed(0)
        for name in w:
            w[name] = torch.randn(w[name].shape, generator=gen, dtype=torch.float64) * (0.3 if w[name].dim() > 1 else 0.5)
        write_safetensors(wpath, w)
        args = []
        for name, t in inputs.items():
            path = os.path.join(tmp, name + ".npy")
            a = t.numpy()
            np.save(path, a.astype(np.float32) if a.dtype.kind == "f" else a.astype(np.int32) if a.dtype.kind in "iu" else a)
            args += ["--input", f"{name}={path}"]
        outs = [a for o in outputs for a in ("--output", f"{o}={os.path.join(tmp, o + '.npy')}")]
        subprocess.run([mimic, "run", model, "--weights", wpath] + args + outs + defs, check=True, stdout=subprocess.DEVNULL)
        got = {o: np.load(os.path.join(tmp, o + ".npy")) for o in outputs}
        subprocess.run([mimic, "grad", model, "--weights", wpath, "-o", gpath] + args + defs, check=True,
                       stdout=subprocess.DEVNULL)
        got_grads = read_safetensors(gpath)
    # the reference sees the same f32-rounded inputs and weights, computed in f64
    wref = {k: v.float().double().requires_grad_() for k, v in w.items()}
    xref = {k: v.float().double() if v.is_floating_point() else v for k, v in inputs.items()}
    ref = reference(wref, xref)
    ref["loss"].backward()
    ok = True
    for o in outputs:
        r = ref[o].detach().numpy()
        err = np.abs(got[o] - r).max() / max(1.0, np.abs(r).max())
        what = f"{float(got[o]):.6f} vs {float(r):.6f}" if r.ndim == 0 else f"max rel err {err:.2e}"
        print(f"{o}: {what}")
        ok = ok and err < 1e-4
    if set(got_grads) != set(wref):
        print(f"gradient names differ: {sorted(set(got_grads) ^ set(wref))}")
        ok = False
    worst = (0.0, "")
    for name, p in wref.items():
        if name not in got_grads:
            continue
        r = p.grad.numpy() if p.grad is not None else np.zeros(p.shape)
        gerr = np.abs(got_grads[name].numpy() - r).max() / max(np.abs(r).max(), 1e-30)
        worst = max(worst, (gerr, name))
    print(f"{len(got_grads)} gradients, worst relative error {worst[0]:.2e} ({worst[1]})")
    return ok and worst[0] < 1e-4


def main():
    depth, heads, patch, dim = 2, 3, 4, 48
    gen = torch.Generator().manual_seed(1)
    inputs = {"pixels": torch.rand(3, 1, 28, 28, generator=gen, dtype=torch.float64),
              "labels": torch.tensor([1, 7, 3], dtype=torch.int32)}

    def reference(w, x):
        logits, loss = vit_forward(w, x["pixels"], x["labels"].long(), depth, heads, patch)
        return {"logits": logits, "loss": loss}

    ok = crosscheck(sys.argv[1], "vit.yaml", [f"depth={depth}", f"heads={heads}", f"dim={dim}"], inputs, reference,
                    ["logits", "loss"])
    sys.exit(0 if ok else 1)


def write_safetensors(path, tensors):
    header, blobs, at = {}, [], 0
    for name in sorted(tensors):
        b = tensors[name].float().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [at, at + len(b)]}
        blobs.append(b)
        at += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


if __name__ == "__main__":
    main()
