"""Generate reference fixtures with the *official* PiClick code (cilinyan/PiClick).

The fixtures let ``napari_clickseg``'s PiClick reimplementation be tested against the official
implementation to ~1e-4 (float32, CPU). No official code is copied into this project: the script
imports ``isegm`` (and the ``mmcv`` stand-in it needs) from a separate reconstruction given by
``--official-repo`` (see ``tests/fixtures/official/PICLICK.md`` for provenance).

Usage::

    PYTHONPATH=/tmp/official_piclick:/tmp/official_sc:/tmp/offdeps \\
        python tools/make_official_piclick_fixtures.py --official-repo /tmp/official_piclick \\
        --out tests/fixtures/official

Writes ``piclick_tiny.pth`` (official checkpoint format ``{'state_dict', 'config'}``) and
``piclick_tiny_forward.npz`` (a raw forward pass, batch of 2, plus intermediates and the
official ``select_last_layer`` output). Deterministic for a given torch build.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import numpy as np
import torch

D = 32  # ViT width
F = 32  # FPN / pixel-decoder / transformer-decoder width
NF = F // 2  # sine-PE features per axis


def tiny_params(edict):
    """Tiny PiClick config: same structure as ViT-B (6 MSDA layers, 9 decoder layers, 7 queries)."""
    from isegm.model.modeling.mask2former_helper import piclick_head as ph

    pix = copy.deepcopy(ph._PIXEL_DECODER_CFG)
    pix.norm_cfg = edict(type="GN", num_groups=16)
    a = pix.encoder.transformerlayers.attn_cfgs
    a.embed_dims, a.num_heads = F, 4
    f = pix.encoder.transformerlayers.ffn_cfgs
    f.embed_dims, f.feedforward_channels = F, 64
    pix.positional_encoding.num_feats = NF
    dec = copy.deepcopy(ph._TRANSFORMER_DECODER_CFG)
    dec.transformerlayers.attn_cfgs.embed_dims = F
    dec.transformerlayers.attn_cfgs.num_heads = 4
    dec.transformerlayers.ffn_cfgs.embed_dims = F
    dec.transformerlayers.ffn_cfgs.feedforward_channels = 64
    dec.transformerlayers.feedforward_channels = 64
    pe = edict(type="SinePositionalEncoding", num_feats=NF, normalize=True)
    return dict(
        num_classes=1,
        num_queries=7,
        backbone_params=dict(
            img_size=(448, 448),
            patch_size=(16, 16),
            in_chans=3,
            embed_dim=D,
            depth=8,
            num_heads=2,
            mlp_ratio=4,
            qkv_bias=True,
        ),
        neck_params=dict(in_dim=D, out_dims=[F, F, F, F]),
        head_params=dict(
            num_classes=1,
            num_queries=7,
            in_channels=[F] * 4,
            feat_channels=F,
            out_channels=F,
            num_transformer_feat_level=3,
            pixel_decoder=pix,
            transformer_decoder=dec,
            positional_encoding=pe,
        ),
        click_pos_enc_cfg=dict(type="SinePositionalEncoding", num_feats=NF, normalize=True),
        use_disks=True,
        norm_radius=5,
        with_prev_mask=True,
    )


def perturb(model: torch.nn.Module, seed: int) -> None:
    """Seeded perturbation of every tensor so that no parameter is at its init value."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if not p.is_floating_point():
                continue
            n = torch.randn(p.shape, generator=g)
            if name.endswith("weight") and p.dim() == 1:
                p.copy_(1.0 + 0.2 * n)  # norm gains
            elif "sampling_offsets" in name:
                p.add_(0.5 * n)
            elif "pos_embed" in name or "embed.weight" in name or "level_" in name:
                p.add_(0.3 * n)
            else:
                p.add_(0.05 * n)


def make_inputs():
    """Batch of 2 at 448x448: image in [0,1], prev mask, official point layout (B, 2N, 3)."""
    g = torch.Generator().manual_seed(1)
    yy, xx = torch.meshgrid(torch.arange(448.0), torch.arange(448.0), indexing="ij")
    img = (
        torch.rand(2, 3, 56, 56, generator=g).repeat_interleave(8, 2).repeat_interleave(8, 3) * 0.3
    )
    blob = (((yy - 200) ** 2 + (xx - 250) ** 2) < 90**2).float()
    img[:, 0] += 0.6 * blob
    img = torch.round(img.clamp(0, 1) * 255) / 255  # exactly uint8/255, stored as uint8
    prev = torch.zeros(2, 1, 448, 448)
    prev[1, 0] = (((yy - 210) ** 2 + (xx - 240) ** 2) < 80**2).float() * 0.9
    # rows: [row, col, click_index]; first N positive, then N negative; -1 = padding
    pts = torch.tensor(
        [
            [[200, 250, 0], [150, 300, 2], [-1, -1, -1], [30, 40, 1], [-1, -1, -1], [-1, -1, -1]],
            [[210, 240.7, 0], [-1, -1, -1], [-1, -1, -1], [400, 17.3, 1], [5, 440, 2], [99, 99, 3]],
        ],
        dtype=torch.float32,
    )
    return torch.cat([img, prev], 1), pts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--official-repo", required=True, type=Path)
    ap.add_argument("--out", type=Path, default=Path("tests/fixtures/official"))
    args = ap.parse_args()
    sys.path.insert(0, str(args.official_repo))
    from easydict import EasyDict
    from isegm.model import is_piclick_model as m

    torch.manual_seed(0)
    model = m.PiClickModel(**tiny_params(EasyDict))
    perturb(model, seed=1234)
    model.eval()
    args.out.mkdir(parents=True, exist_ok=True)
    # official save_checkpoint format (isegm/utils/misc.py): {'state_dict', 'config'}
    torch.save(
        {"state_dict": model.state_dict(), "config": model._config},
        args.out / "piclick_tiny.pth",
    )

    x, pts = make_inputs()
    rec = {}
    hooks = [
        model.neck.register_forward_hook(lambda mod, i, o: rec.__setitem__("neck", o)),
        model.head.pixel_decoder.register_forward_hook(
            lambda mod, i, o: rec.__setitem__("pixdec", o)
        ),
    ]
    with torch.no_grad():
        out = model(x, pts)
        cls, masks, iou, onehot = out["instances"]
        sel = m.select_last_layer(cls, masks, iou, onehot)
        qp, pmask = model.get_batch_click_embedding(pts, 448, 448)
    for h in hooks:
        h.remove()
    mask_feat, mems = rec["pixdec"]
    res = {
        "image_u8": torch.round(x[:, :3] * 255).to(torch.uint8).numpy(),  # image = u8/255
        "prev_mask": x[:, 3:].numpy(),
        "points": pts.numpy(),
        "cls_logits": cls.numpy(),  # (10, B, 7, 2)
        "iou_logits": iou.numpy(),  # (10, B, 7, 1)
        "onehot_logits": onehot.numpy(),  # (10, B, 7, 1)
        "mask_logits_final_sub4": masks[-1, :, :, ::4, ::4].numpy(),  # (B, 7, 112, 112)
        "mask_logits_final_crop": masks[-1, :, :, 180:244, 220:284].numpy(),  # full-res crop
        "mask_logits_layers_sub16": masks[:, :, :, ::16, ::16].numpy(),  # (10, B, 7, 28, 28)
        "click_tokens": qp.numpy(),  # (B, 2N, F)
        "click_invalid": pmask.numpy(),  # (B, 2N)
        "neck_sub": np.stack([f[:, :, :14:2, :14:2].numpy() for f in rec["neck"]]),
        "mask_features_sub4": mask_feat[:, :, ::4, ::4].numpy(),  # (B, F, 28, 28)
        "pixdec_1_32": mems[0].numpy(),
        "pixdec_1_16": mems[1].numpy(),
        "pixdec_1_8_sub2": mems[2][:, :, ::2, ::2].numpy(),
        "sel_cls": sel[0].numpy(),
        "sel_iou": sel[2].numpy(),
        "sel_onehot": sel[3].numpy(),
        "sel_mask_sub16": sel[1][:, :, ::16, ::16].numpy(),
    }
    res = {k: (v.astype(np.float32) if v.dtype == np.float64 else v) for k, v in res.items()}
    np.savez_compressed(args.out / "piclick_tiny_forward.npz", **res)
    for k, v in res.items():
        print(f"{k:26s} {v.shape!s:24s} {v.dtype} absmax={np.abs(v).max():.4g}")


if __name__ == "__main__":
    main()
