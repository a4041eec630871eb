"""Generate reference fixtures with the *official* iCMFormer code (Swin variant).

Like ``tools/make_official_icmformer_fixtures.py`` (ViT), but for the official
``isegm.model.is_icmformer_swinformer_model.SwinformerModel`` (backbone
``SwinTransformer_cross_encdecv4`` in ``isegm/model/modeling/swin_transformer.py``). No official
code is copied into this project: the script imports the ``isegm`` package of a separate
iCMFormer checkout given on the command line.

Usage::

    PYTHONPATH=/dir/with/cv2 python tools/make_official_icmformer_swin_fixtures.py \\
        --official-repo /path/to/iCMFormer --out tests/fixtures/official

Written files (documented in a section of ``ICMFORMER.md`` that this script replaces or
appends, between ``<!-- swin:begin -->`` and ``<!-- swin:end -->``):

* ``icm_swin_tiny.pth``: official-format checkpoint written by the official ``save_checkpoint``.
* ``icm_swin_tiny_forward.npz``: a raw forward pass (batch of 2) of that model, in the format of
  the other forward fixtures (image, prev_mask, points, logits_lowres, logits_sub,
  logits_stride).

Inputs, head calibration and the writers are those of ``tools/make_official_fixtures.py``. The
model is tiny (embed_dim 8) so the file stays small. The window is 10 (official: 12; the
persistent int64 ``relative_position_index`` buffers alone would take 1.3 MB at 12): at 448 px
the token grids 112, 56, 28, 14 are no multiples of 10, so every stage pads to whole windows and
the shifted blocks use the mask built on the padded grid, as 12 would. The script also
measures how much the output moves under wrong-architecture variants (monkeypatched official
model, report only).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import platform
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_official_fixtures as base  # our helper code
import make_official_icmformer_fixtures as icm  # our helper code

CLASS_PATH = "isegm.model.is_icmformer_swinformer_model.SwinformerModel"
NAME = "icm_swin_tiny"
SEED = 3408
BACKBONE = {
    "pretrain_img_size": base.IMG_SIZE,
    "patch_size": 4,
    "in_chans": 3,
    "in_coord_chans": 3,
    "embed_dim": 8,
    "depths": [2, 2, 2, 2],
    "num_heads": [1, 2, 2, 4],
    "window_size": 10,
    "mlp_ratio": 4,
    "qkv_bias": True,
}
HEAD_CHANNELS = 16
BEGIN, END = "<!-- swin:begin -->", "<!-- swin:end -->"


def build_model(off: icm.OfficialICM) -> nn.Module:
    """Tiny official SwinformerModel, built like ``icmformer_swinformer_*`` configs."""
    module, cls = CLASS_PATH.rsplit(".", 1)
    swinformer = getattr(importlib.import_module(module), cls)
    torch.manual_seed(SEED)
    dims = [BACKBONE["embed_dim"] * 2**i for i in range(4)]
    head_params = {
        "in_channels": dims,
        "in_index": [0, 1, 2, 3],
        "dropout_ratio": 0.1,
        "num_classes": 1,
        "loss_decode": off.CrossEntropyLoss(),
        "align_corners": False,
        "upsample": "x1",
        "channels": HEAD_CHANNELS,
    }
    model = swinformer(
        use_disks=True,
        norm_radius=5,
        with_prev_mask=True,
        backbone_params=dict(BACKBONE),
        head_params=head_params,
    )
    model.backbone.init_weights(None)  # the official init (trunc-normal Linear, LN 1 / 0)
    perturb(model, SEED + 1)
    return model.eval()


@torch.no_grad()
def perturb(model: nn.Module, seed: int) -> None:
    """Seeded noise as in ``base.perturb_weights`` (norms 1 + N(0, .1) / N(0, .05), others
    + N(0, .02)); the click channels' structured push goes into ``backbone.patch_embed`` (the
    embedding the official Swin forward uses for the click maps)."""
    gen = torch.Generator().manual_seed(seed)
    norm_ids = set()
    for module in model.modules():
        if isinstance(module, (nn.LayerNorm, nn.GroupNorm)):
            module.weight.copy_(1 + 0.1 * torch.randn(module.weight.shape, generator=gen))
            module.bias.copy_(0.05 * torch.randn(module.bias.shape, generator=gen))
            norm_ids.update({id(module.weight), id(module.bias)})
    for param in model.parameters():
        if id(param) not in norm_ids:
            param.add_(0.02 * torch.randn(param.shape, generator=gen))
    weight = model.backbone.patch_embed.proj.weight  # (D, 3, 4, 4)
    dirs = torch.randn(2, weight.shape[0], generator=gen)
    dirs = dirs / dirs.norm(dim=1, keepdim=True)
    scale = 4.0 / (weight.shape[2] * weight.shape[3])
    weight[:, 0] += 0.5 * scale * dirs[0][:, None, None]
    weight[:, 1] += scale * dirs[0][:, None, None]
    weight[:, 2] += scale * dirs[1][:, None, None]


# ------------------------------------------------------------------------------------------------
# wrong-architecture variants (report only)
# ------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _patched(obj, name, value):
    old = obj.__dict__.get(name, None)
    had = name in obj.__dict__
    setattr(obj, name, value)
    try:
        yield
    finally:
        if had:
            setattr(obj, name, old)
        else:
            delattr(obj, name)


@torch.no_grad()
def variant_sensitivity(model: nn.Module, net_input: torch.Tensor, points: torch.Tensor) -> dict:
    """Max |diff| of the head output for a few wrong variants of the official model."""

    def head_out():
        out = {}
        handle = model.head.register_forward_hook(lambda m, i, o: out.setdefault("h", o))
        model(net_input, points)
        handle.remove()
        return out["h"]

    ref = head_out()
    backbone = model.backbone
    result = {"_logit_range": float(ref.max() - ref.min())}

    def measure(name, ctx):
        with ctx:
            result[name] = float((head_out() - ref).abs().max())

    embed = backbone.patch_embed
    calls = []

    def embed_clicks_with_coords(x):
        # forward_backbone embeds the image first, then the click maps.
        calls.append(x)
        if len(calls) % 2 == 0:
            return backbone.patch_embed_coords(x)
        return type(embed).forward(embed, x)

    measure("clicks_via_patch_embed_coords", _patched(embed, "forward", embed_clicks_with_coords))
    skip = [_patched(b, "forward", lambda x, y: x) for b in backbone.blocks2]
    with contextlib.ExitStack() as stack:
        for ctx in skip:
            stack.enter_context(ctx)
        result["skip_cross_blocks"] = float((head_out() - ref).abs().max())
    blocks = [blk for layer in backbone.layers for blk in layer.blocks]
    with contextlib.ExitStack() as stack:
        for blk in blocks:
            stack.enter_context(_patched(blk, "shift_size", 0))
        result["no_shifted_windows"] = float((head_out() - ref).abs().max())
    return result


# ------------------------------------------------------------------------------------------------
# documentation
# ------------------------------------------------------------------------------------------------
DOC = """{begin}
## Swin variant: `icm_swin_tiny.pth`, `icm_swin_tiny_forward.npz`

Generated by `tools/make_official_icmformer_swin_fixtures.py` (this section only; do not edit
by hand). Regenerate with

```
PYTHONPATH=<dir with cv2> python tools/make_official_icmformer_swin_fixtures.py \\
    --official-repo <iCMFormer isegm reconstruction> --out tests/fixtures/official
```

- Generation: torch {torch}, numpy {numpy}, Python {python}, CPU, float32.
- Official code: `{repo}` ({revision}); `{class_path}` with backbone
  `SwinTransformer_cross_encdecv4` (`isegm/model/modeling/swin_transformer.py` of
  `lik1996/iCMFormer` @ 911855708bba; the reconstruction copies the code verbatim, leaving out
  the unused `SwinTransformer_cross_fusion`; `swin_transformer_helper/{{checkpoint,logger}}.py`
  are local stand-ins, only used to load ImageNet weights). mmcv: {mmcv}.
- Files: {listing}.

Model: backbone params `{backbone}`; head `SwinTransfomerSegHead(in_channels={dims},
channels={channels}, in_index=[0, 1, 2, 3], dropout_ratio=0.1, num_classes=1,
align_corners=False, upsample='x1', loss_decode=CrossEntropyLoss())`; `use_disks=True,
norm_radius=5, with_prev_mask=True`. 8 cross blocks (`blocks2`, hard-coded) of width
4 * 8 = 32 with 8 heads (head dim 4). {params}.

Weights: the official `init_weights(None)` (trunc-normal Linear, LayerNorm 1 / 0), then the
seeded noise of the ViT fixtures (norm weights 1 + N(0, 0.1), biases N(0, 0.05), others
+ N(0, 0.02)) and a structured click push on `backbone.patch_embed.proj` (the embedding the
official forward applies to the click maps; `patch_embed_coords` is unused); head calibrated
as for the other fixtures.

Inputs: those of the other forward fixtures (448 x 448, batch 2). At 448 the token grids are
112, 56, 28 and 14, none a multiple of the window 10 (chosen instead of the official 12 only to
keep the int64 `relative_position_index` buffers small): every stage pads to whole windows
(120, 60, 30, 20) and the shifted blocks (shift 5) use the official mask built on the padded
grid; the PatchEmbed needs no padding (448 = 4 * 112). Logits: `logits_lowres` is the head output
(1 x 112 x 112 per image), `logits_sub` the final logits (bilinear, align_corners=True, 448 x 448)
sampled every {stride} px.

Sensitivity to wrong variants (max |diff| of `logits_lowres`; logit range {range:.2f}):
{sensitivity}.
{end}
"""


def write_doc(out: Path, off: icm.OfficialICM, model: nn.Module, sens: dict) -> None:
    files = [f"{NAME}.pth", f"{NAME}_forward.npz"]
    listing = ", ".join(f"`{n}` {(out / n).stat().st_size:,} bytes" for n in files)
    total = sum(p.numel() for p in model.parameters())
    cross = sum(p.numel() for p in model.backbone.blocks2.parameters())
    text = DOC.format(
        begin=BEGIN,
        end=END,
        torch=torch.__version__,
        numpy=np.__version__,
        python=platform.python_version(),
        repo=off.repo,
        revision=off.revision,
        class_path=CLASS_PATH,
        mmcv=off.mmcv_description,
        listing=listing,
        backbone=BACKBONE,
        dims=[BACKBONE["embed_dim"] * 2**i for i in range(4)],
        channels=HEAD_CHANNELS,
        params=f"{total:,} parameters ({cross:,} in the cross blocks)",
        stride=base.LOGITS_STRIDE,
        range=sens["_logit_range"],
        sensitivity=", ".join(f"{k} {v:.3g}" for k, v in sens.items() if not k.startswith("_")),
    )
    doc = out / "ICMFORMER.md"
    current = doc.read_text() if doc.exists() else ""
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        current = head + text.rstrip("\n") + rest.split(END, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + text
    doc.write_text(current)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--official-repo", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/official"))
    parser.add_argument("--no-doc", action="store_true", help="do not touch ICMFORMER.md")
    args = parser.parse_args(argv)

    off = icm.OfficialICM(args.official_repo.resolve())
    args.out.mkdir(parents=True, exist_ok=True)
    fwd_inputs = base.forward_inputs(base.FORWARD_SEED)
    image, prev_mask, points = fwd_inputs
    net_input = torch.cat([torch.from_numpy(image), torch.from_numpy(prev_mask)], dim=1)

    model = build_model(off)
    assert model._config["class"] == CLASS_PATH, model._config["class"]
    click_image, click_gt = base.click_inputs(base.CLICK_IMAGE_SEED)
    calib = base.first_click_batch(off, click_image, click_gt)
    base.calibrate_head(model, *calib, strict=False)
    ckpt = base.write_checkpoint(off, model, NAME, args.out)
    lo, hi = base.write_forward(model, NAME, args.out, fwd_inputs)
    sens = variant_sensitivity(model, net_input, torch.from_numpy(points))
    print(f"[{NAME}] wrote {ckpt.name} ({ckpt.stat().st_size:,} bytes); logits {lo:.3f}..{hi:.3f}")
    print(f"    sensitivity: {sens}")
    if min(v for k, v in sens.items() if not k.startswith("_")) < 1e-2:
        raise RuntimeError("a wrong-architecture variant is not discriminated")
    if not args.no_doc:
        write_doc(args.out, off, model, sens)
    return 0


if __name__ == "__main__":
    sys.exit(main())
