#!/usr/bin/env python3
"""seg_ref.py MIMIC — cross-check graphs/vit_seg.yaml (backbone + heads/seg.yaml) against
PyTorch: the backbone, a LayerNorm and a Linear on the patch tokens, the tokens laid out
as a [batch, classes*patch*patch, grid, grid] map and torch's pixel_shuffle to
[batch, classes, image, image], and torch's per-pixel cross-entropy. Logits, loss and
gradients must agree. Exits 77 (skip) without torch.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vit_ref import F, backbone_forward, crosscheck, torch  # noqa: E402 (exits 77 without torch)


def main():
    depth, heads, patch, dim, classes, batch = 2, 3, 4, 48, 11, 2
    gen = torch.Generator().manual_seed(3)
    inputs = {"pixels": torch.rand(batch, 1, 28, 28, generator=gen, dtype=torch.float64),
              "labels": torch.randint(0, classes, (batch, 28, 28), generator=gen, dtype=torch.int32)}

    def reference(w, x):
        h = backbone_forward(w, x["pixels"], depth, heads, patch)[:, 1:]
        h = F.layer_norm(h, (dim,), w["decode_head.norm.weight"], w["decode_head.norm.bias"], eps=1e-6)
        y = F.linear(h, w["decode_head.proj.weight"], w["decode_head.proj.bias"])  # [b, 49, classes*p*p]
        logits = F.pixel_shuffle(y.transpose(1, 2).reshape(batch, -1, 7, 7), patch)
        return {"logits": logits, "loss": F.cross_entropy(logits, x["labels"].long())}

    ok = crosscheck(sys.argv[1], "vit_seg.yaml", [f"depth={depth}", f"heads={heads}", f"dim={dim}"], inputs,
                    reference, ["logits", "loss"])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
