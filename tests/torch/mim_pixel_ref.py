#!/usr/bin/env python3
"""mim_pixel_ref.py MIMIC — cross-check graphs/mim_pixel.yaml (BEiT's pixel-regression
ablation, Table 4 "- visual tokens") against PyTorch: the masked image modelling forward
of mim_ref.py, a head regressing each masked patch's pixels (gathered with the bool mask,
the target unfolded as timm's patchify: row-major patches, features channel, row,
column), and the MSE over the masked patches' pixels. mimic's fixed-shape form (the head
on every patch, the per-patch error summed under the mask over the mask count) must give
the same loss, gradients and predictions. Exits 77 (skip) without torch.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vit_ref import F, backbone_forward, crosscheck, torch  # noqa: E402 (exits 77 without torch)


def main():
    depth, heads, patch, dim, batch = 2, 3, 4, 48, 3
    gen = torch.Generator().manual_seed(3)
    inputs = {"pixels": torch.rand(batch, 1, 28, 28, generator=gen, dtype=torch.float64),
              "mask": torch.rand(batch, 49, generator=gen) < 0.4}

    def reference(w, x):
        h = backbone_forward(w, x["pixels"], depth, heads, patch, mask=x["mask"])
        h = F.layer_norm(h, (dim,), w["norm.weight"], w["norm.bias"], eps=1e-6)[:, 1:]
        pred = F.linear(h, w["lm_head.weight"], w["lm_head.bias"])                  # [batch, 49, 16]
        target = F.unfold(x["pixels"], kernel_size=patch, stride=patch).transpose(1, 2)  # [batch, 49, 16]
        return {"loss": F.mse_loss(pred[x["mask"]], target[x["mask"]]),
                "pred": pred,
                "masked": x["mask"].sum().double()}

    ok = crosscheck(sys.argv[1], "mim_pixel.yaml", [f"depth={depth}", f"heads={heads}", f"dim={dim}"],
                    inputs, reference, ["loss", "pred", "masked"])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
