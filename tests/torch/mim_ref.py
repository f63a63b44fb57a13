#!/usr/bin/env python3
"""mim_ref.py MIMIC — cross-check graphs/mim.yaml (BEiT masked image modeling) against
PyTorch, written the way the reference computes it (unilm beit/modeling_pretrain.py and
engine_for_pretraining.py, BEIT.md §2): masked patch embeddings blended with mask_token,
the backbone, the final norm, lm_head applied to the masked positions only (gathered with
the bool mask) and the mean cross-entropy over them. mimic's fixed-shape form (lm_head on
every patch, per-token loss times the mask over the mask count) must give the same loss,
gradients, logits (the reference's return_all_tokens) and top-1 hits. Exits 77 (skip)
without torch.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vit_ref import F, backbone_forward, crosscheck, torch  # noqa: E402 (exits 77 without torch)


def main():
    depth, heads, patch, dim, vocab, batch = 2, 3, 4, 48, 64, 3
    gen = torch.Generator().manual_seed(2)
    mask = torch.rand(batch, 49, generator=gen) < 0.4
    inputs = {"pixels": torch.rand(batch, 1, 28, 28, generator=gen, dtype=torch.float64),
              "mask": mask,
              "tokens": torch.randint(0, vocab, (batch, 49), generator=gen, dtype=torch.int32)}

    def reference(w, x):
        h = backbone_forward(w, x["pixels"], depth, heads, patch, mask=x["mask"])
        h = F.layer_norm(h, (dim,), w["norm.weight"], w["norm.bias"], eps=1e-6)[:, 1:]
        logits = F.linear(h[x["mask"]], w["lm_head.weight"], w["lm_head.bias"])  # [masked, vocab]
        labels = x["tokens"][x["mask"]].long()
        return {"loss": F.cross_entropy(logits, labels),
                "logits": F.linear(h, w["lm_head.weight"], w["lm_head.bias"]),
                "correct": (logits.argmax(-1) == labels).sum().double(),
                "masked": x["mask"].sum().double()}

    ok = crosscheck(sys.argv[1], "mim.yaml", [f"depth={depth}", f"heads={heads}", f"dim={dim}", f"vocab={vocab}"],
                    inputs, reference, ["loss", "logits", "correct", "masked"])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
