"""Generate reference fixtures with the *official* iCMFormer code (ViT variant).

The fixtures let ``napari_clickseg``'s iCMFormer reimplementation be tested against the official
implementation to ~1e-4 (float32, CPU). No official code is copied into this project: the script
imports the ``isegm`` package of a separate iCMFormer checkout given on the command line
(``lik1996/iCMFormer``; it needs ``isegm/model/is_icmformer_plainvit_model.py``).

Usage::

    PYTHONPATH=/dir/with/cv2 python tools/make_official_icmformer_fixtures.py \\
        --official-repo /path/to/iCMFormer --out tests/fixtures/official

The synthetic inputs, weight perturbation, head calibration, checkpoint writer, forward-pass
writer and mmcv stand-in are those of ``tools/make_official_fixtures.py`` (our own helper code,
imported from there), so the arrays have exactly the format of the SimpleClick fixtures.

Written files (``ICMFORMER.md``, written next to them, documents every array):

* ``icm_<cfg>.pth``: official-format checkpoint written by the official ``save_checkpoint``
  (``{'state_dict': ..., 'config': model._config}``; the config pickles an isegm
  ``CrossEntropyLoss`` instance, so a plain ``weights_only=True`` load fails).
* ``icm_<cfg>_forward.npz``: a raw forward pass (batch of 2) of the official iCMFormer
  ``PlainVitModel``.

Besides, the script records (forward hooks) the token shapes seen by every shared/windowed/global
block and every cross block, and measures how much the output changes under wrong-architecture
variants (cross blocks skipped, attn2 arguments swapped, ...), to show that the fixtures
discriminate them. These variants only run for the report; they never touch the saved arrays.

The generation is deterministic (byte-identical output for the same torch/numpy build).
"""

from __future__ import annotations

import argparse
import importlib
import platform
import string
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_official_fixtures as base  # our helper code; see module docstring

IMG_SIZE = base.IMG_SIZE
CLASS_PATH = "isegm.model.is_icmformer_plainvit_model.PlainVitModel"

# name -> (patch, embed_dim, depth, heads, neck out_dims, head channels)
CONFIGS = {
    "icm_p16_d12": (16, 24, 12, 2, (8, 16, 24, 32), 8),
    "icm_p16_d8": (16, 32, 8, 2, (16, 32, 48, 64), 16),
}
CONFIG_SEEDS = {"icm_p16_d12": 2612, "icm_p16_d8": 2608}


# ------------------------------------------------------------------------------------------------
# official code
# ------------------------------------------------------------------------------------------------
class OfficialICM:
    """The official iCMFormer classes/functions, imported from the given checkout."""

    def __init__(self, repo: Path):
        self.repo = repo
        sys.path.insert(0, str(repo))
        self.mmcv_stand_in = base.install_mmcv_stand_in()
        if self.mmcv_stand_in:
            self.mmcv_description = "the in-memory stand-in of `tools/make_official_fixtures.py`"
        else:
            mmcv_file = Path(importlib.import_module("mmcv").__file__)
            self.mmcv_description = f"`mmcv` imported from `{mmcv_file.parent}`"

        def load(module, name):
            return getattr(importlib.import_module(module), name)

        module, cls = CLASS_PATH.rsplit(".", 1)
        self.PlainVitModel = load(module, cls)
        self.CrossEntropyLoss = load(
            "isegm.model.modeling.transformer_helper.cross_entropy_loss", "CrossEntropyLoss"
        )
        self.save_checkpoint = load("isegm.utils.misc", "save_checkpoint")
        self.Clicker = load("isegm.inference.clicker", "Clicker")
        self.revision = base._git_revision(repo)


# ------------------------------------------------------------------------------------------------
# model
# ------------------------------------------------------------------------------------------------
def build_model(off: OfficialICM, name: str) -> nn.Module:
    """Official iCMFormer PlainVitModel with the given tiny config (as the official configs)."""
    patch, dim, depth, heads, out_dims, channels = CONFIGS[name]
    torch.manual_seed(CONFIG_SEEDS[name])
    backbone_params = {
        "img_size": (IMG_SIZE, IMG_SIZE),
        "patch_size": (patch, patch),
        "in_chans": 3,
        "embed_dim": dim,
        "depth": depth,
        "num_heads": heads,
        "mlp_ratio": 4,
        "qkv_bias": True,
    }
    neck_params = {"in_dim": dim, "out_dims": list(out_dims)}
    head_params = {
        "in_channels": list(out_dims),
        "in_index": [0, 1, 2, 3],
        "dropout_ratio": 0.1,
        "num_classes": 1,
        "loss_decode": off.CrossEntropyLoss(),
        "align_corners": False,
        "upsample": "x1",
        "channels": channels,
    }
    model = off.PlainVitModel(
        use_disks=True,
        norm_radius=5,
        with_prev_mask=True,
        backbone_params=backbone_params,
        neck_params=neck_params,
        head_params=head_params,
        random_split=False,
    )
    base.perturb_weights(model, CONFIG_SEEDS[name] + 1)
    return model.eval()


# ------------------------------------------------------------------------------------------------
# hooks: block schedule and architecture-variant sensitivity
# ------------------------------------------------------------------------------------------------
def _shape(t: torch.Tensor) -> str:
    return "(" + ", ".join(str(s) for s in t.shape) + ")"


@torch.no_grad()
def record_schedule(model: nn.Module, net_input: torch.Tensor, points: torch.Tensor) -> list[str]:
    """Run one forward pass and list, in call order, the token shapes each block receives."""
    backbone = model.backbone
    log: list[str] = []
    handles = []
    half = len(backbone.blocks) // 2
    calls: dict[int, int] = {}

    def block_hook(idx):
        def hook(module, args):
            calls[idx] = calls.get(idx, 0) + 1
            stream = ("image" if calls[idx] == 1 else "click") if idx < half else "fused"
            log.append(f"blocks[{idx}] ({stream}): {_shape(args[0])}")

        return hook

    def cross_hook(idx):
        def hook(module, args):
            log.append(
                f"blocks2[{idx}] (click, image): {_shape(args[0])}, {_shape(args[1])}; "
                f"attn2 call (k/v from image, q from click)"
            )

        return hook

    for idx, block in enumerate(backbone.blocks):
        handles.append(block.register_forward_pre_hook(block_hook(idx)))
    for idx, block in enumerate(backbone.blocks2):
        handles.append(block.register_forward_pre_hook(cross_hook(idx)))
    try:
        model(net_input, points)
    finally:
        for handle in handles:
            handle.remove()
    return log


def _relayout_hooks(backbone: nn.Module, batch: int, windowed: bool) -> list:
    """Hooks that run every cross block windowed (or global) whatever the official layout is."""
    to_new, to_old = backbone.patchify, backbone.unpatchify
    if not windowed:
        to_new, to_old = to_old, to_new

    def needs_change(tensor):
        is_global = tensor.shape[0] == batch
        return is_global == windowed

    changed = {}

    def pre(module, args):
        changed[id(module)] = needs_change(args[0])
        return tuple(to_new(a) for a in args) if changed[id(module)] else args

    def post(module, args, out):
        return to_old(out) if changed.pop(id(module)) else out

    hooks = []
    for blk in backbone.blocks2:
        hooks += [(blk, "pre", pre), (blk, "fwd", post)]
    return hooks


@torch.no_grad()
def variant_sensitivity(model: nn.Module, net_input: torch.Tensor, points: torch.Tensor) -> dict:
    """Max |difference| of the head logits between the official pass and wrong variants.

    The variants are applied with temporary hooks (the official code is unchanged):

    * ``skip_cross_blocks``: every ``blocks2[j]`` returns its click input unchanged;
    * ``no_cross_attention``: ``attn2`` returns zeros (cross blocks = self-attn + MLP only);
    * ``swap_attn2_q_kv``: ``attn2`` gets its two arguments swapped (image queries clicks);
    * ``no_click_pos_embed``: the click stream does not get ``pos_embed[:, 1:]``;
    * ``all_cross_windowed`` / ``all_cross_global``: every cross block runs on 14x14-token windows
      / on the whole grid (the official rule, on the cross-block counter j, mixes them for some
      depths). A variant that coincides with the official schedule gives exactly 0.
    """
    captured = {}
    head_handle = model.head.register_forward_hook(lambda m, i, o: captured.__setitem__("out", o))
    try:
        model(net_input, points)
        reference = captured["out"].clone()
        results = {}
        backbone = model.backbone
        pos = backbone.pos_embed[:, 1:]
        batch = net_input.shape[0]
        variants = {
            "skip_cross_blocks": [
                (blk, "fwd", lambda m, args, out: args[0]) for blk in backbone.blocks2
            ],
            "no_cross_attention": [
                (blk.attn2, "fwd", lambda m, args, out: torch.zeros_like(out))
                for blk in backbone.blocks2
            ],
            "swap_attn2_q_kv": [
                (blk.attn2, "pre", lambda m, args: (args[1], args[0])) for blk in backbone.blocks2
            ],
            "no_click_pos_embed": [(model.patch_embed_coords, "fwd", lambda m, a, out: out - pos)],
            "all_cross_windowed": _relayout_hooks(backbone, batch, windowed=True),
            "all_cross_global": _relayout_hooks(backbone, batch, windowed=False),
        }
        for variant, hooks in variants.items():
            handles = [
                mod.register_forward_hook(fn)
                if kind == "fwd"
                else mod.register_forward_pre_hook(fn)
                for mod, kind, fn in hooks
            ]
            try:
                model(net_input, points)
            finally:
                for handle in handles:
                    handle.remove()
            results[variant] = float((captured["out"] - reference).abs().max())
    finally:
        head_handle.remove()
    results["_logit_range"] = float(reference.max() - reference.min())
    return results


# ------------------------------------------------------------------------------------------------
# ICMFORMER.md ($-placeholders: string.Template)
# ------------------------------------------------------------------------------------------------
DOC_TEMPLATE = r"""# Reference fixtures computed by the official iCMFormer code (ViT variant)

Generated by `tools/make_official_icmformer_fixtures.py`; do not edit by hand. Regenerate with

```
PYTHONPATH=<dir with cv2> python tools/make_official_icmformer_fixtures.py \
    --official-repo <iCMFormer isegm reconstruction> --out tests/fixtures/official
```

- Generation: torch $torch_version, numpy $numpy_version, Python $python_version, CPU, float32.
  The output is deterministic (byte-identical when rerun with the same builds).
- Official code: `$official_repo` ($official_revision); mmcv: $mmcv.
- Provenance of that code:
  $source_note

## Files

| file | bytes |
|---|---|
$listing

Total: $total bytes.

## Models: `icm_<cfg>.pth`

Tiny official iCMFormer `PlainVitModel`s (`$class_path`), built like the official
`models/iter_mask/icmformer_plainvit_*448*` configs (patch / token grid / embed_dim / depth /
heads / neck out_dims / head channels / cross blocks; blocks 0-based):

- `icm_p16_d12`: 16 / 28x28 / 24 / 12 / 2 / [8, 16, 24, 32] / 8 / 3 (ViT-B-like, group 6).
- `icm_p16_d8`: 16 / 28x28 / 32 / 8 / 2 / [16, 32, 48, 64] / 16 / 2 (group 8 // 4 = 2).

Common settings: `img_size=(448, 448)`, `in_chans=3`, `mlp_ratio=4`, `qkv_bias=True`, backbone
`num_classes` left at its default 1000 (`backbone.head.weight` is (1000, D)), `use_disks=True`,
`norm_radius=5`, `with_prev_mask=True`, `random_split=False`; head `in_index=[0, 1, 2, 3]`,
`dropout_ratio=0.1`, `num_classes=1`, `align_corners=False`, `upsample='x1'`,
`loss_decode=CrossEntropyLoss()`.

Weights: the official default init (seeded; `blocks2` gets the same xavier-uniform Linear /
LayerNorm 1, 0 init as `blocks`), then seeded noise on every parameter (norm weights
1 + N(0, 0.1), norm biases N(0, 0.05), everything else + N(0, 0.02)), plus a strong structured
component in `patch_embed_coords.proj.weight` so that clicks and the previous mask matter, and a
calibrated sign/bias of `head.conv_seg` (same procedure and constants as the SimpleClick fixtures,
see `README.md`). `cls_token`, `fc_norm`, `backbone.head`, `up_conv1` and `up_conv2` are present
(strict load) but unused by the forward pass.

Format: exactly the official `isegm.utils.misc.save_checkpoint`, i.e.
`torch.save({'state_dict': model.state_dict(), 'config': model._config}, path)` (written by that
function and renamed). `config['class']` is `'$class_path'`; `config['params']` holds
`backbone_params`, `neck_params`, `head_params`, `random_split` and the `ISModel` keyword
arguments as `{'type', 'value', 'specified'}` records, and
`config['params']['head_params']['value']['loss_decode']` is a pickled
`isegm.model.modeling.transformer_helper.cross_entropy_loss.CrossEntropyLoss` instance, so
`torch.load(..., weights_only=True)` fails and `weights_only=False` needs `isegm` importable (as
for the SimpleClick fixtures).

State-dict keys beyond SimpleClick's `PlainVitModel`: `backbone.blocks2.{j}.norm{1,2,3}.*`,
`backbone.blocks2.{j}.attn{1,2}.qkv.{weight (3D, D), bias (3D)}`,
`backbone.blocks2.{j}.attn{1,2}.proj.*`, `backbone.blocks2.{j}.mlp.fc{1,2}.*`. The click patch
embedding is the top-level `patch_embed_coords.proj.{weight (D, 3, 16, 16), bias}` (as in
SimpleClick). Parameter counts: $param_counts.

## Raw forward pass: `icm_<cfg>_forward.npz`

`logits = model(torch.cat([image, prev_mask], dim=1), points)['instances']` with the official
model in eval mode; same inputs and same format as the SimpleClick `<cfg>_forward.npz` files
(`README.md`): `image` (2, 3, 448, 448) k/255 values, NOT normalised; `prev_mask`
(2, 1, 448, 448) soft values in {0, 0.27, 0.62, 0.93}; `points` (2, 6, 3) float32, rows 0..2
positive, 3..5 negative, (row, col, click index), padding (-1, -1, -1), fractional and border
coordinates; `logits_lowres` (2, 1, 112, 112) = `model.head` output (forward hook);
`logits_sub` (2, 1, 56, 56) = final logits `[:, :, ::$stride, ::$stride]`; `logits_stride` ()
int32 = $stride. The final logits are `F.interpolate(logits_lowres, (448, 448), 'bilinear',
align_corners=True)` ($upsample_check). No sigmoid.

## Block schedule observed with forward pre-hooks (forward fixture, B = 2)

Shapes are the token tensors each block receives: (4B, 196, D) = 4 windows of 14x14 tokens,
(B, 784, D) = global. For the shared blocks each block runs twice, image stream first.

$schedules

## Architecture facts an implementation must match (official code, paraphrased)

Files: `isegm/model/is_icmformer_plainvit_model.py` (`PlainVitModel`, `SimpleFPN`),
`isegm/model/modeling/models_vit.py` (`VisionTransformer_cross_encdecv4`, `BlockCA`,
`MHAttention`, `Block`, `Attention`, `PatchEmbed`), `isegm/model/is_model.py` (`ISModel`).

1. Inputs (`ISModel.forward`, unchanged from SimpleClick): the 4-channel input is split into RGB
   (ImageNet-normalised) and prev_mask; the click maps are `cat(prev_mask, pos_disk, neg_disk)`
   from `DistMaps` (disks of radius 5). `PlainVitModel.backbone_forward` embeds the click maps
   with the top-level `patch_embed_coords` (Conv 3 -> D, kernel = stride = patch, bias, no norm,
   flatten to B x N x D), then calls `backbone.forward_backbone_cross_encdec(image, coord_tokens,
   random_split)`. The click tokens are NOT added to the image tokens at the input (unlike
   SimpleClick): they form a second stream.
2. Image tokens = `backbone.patch_embed(image)`. BOTH streams then get `+ pos_embed[:, 1:]`
   (the same parameter; the cls slot is dropped; `pos_drop` is Dropout(0)).
3. `num_blocks_per_group` = 6 if depth == 12 else depth // 4 (depth 8 -> 2, 24 -> 6, 32 -> 8);
   `assert depth % 4 == 0`. A block with 1-based index i is windowed when i % group != 0 and
   global when i % group == 0. Windowing (`patchify`) splits the 28x28 grid into
   (grid // (224 // patch))^2 windows, window-major order (B, win_r, win_c) with row-major tokens
   inside each window; `unpatchify` undoes it. The code tracks an `is_patchified` flag and only
   converts when the state has to change.
4. Stage 1, i = 1 .. depth/2: before block i, both streams are (un)patchified per the rule; then
   `x = blocks[i-1](x)` (image) and then `c = blocks[i-1](c)` (clicks): the SAME weights for both
   streams (siamese), each stream attending only to itself. `Block` = pre-norm ViT block
   (LN eps 1e-6, qkv-bias attention, GELU MLP, no LayerScale/DropPath).
5. Stage 2, cross blocks j = 1 .. depth // 6 + 1 (`len(blocks2)`; 3 for depth 12, 2 for depth 8,
   5 for 24, 6 for 32): the SAME (un)patchify rule is applied with j as the index (j % group), to
   both streams, then `c = blocks2[j-1](c, x)`. The image stream is never updated here. Hence
   for depth 12 all 3 cross blocks are windowed (j = 1, 2, 3 vs group 6), but for depth 8
   (group 2) `blocks2[0]` is windowed and `blocks2[1]` is GLOBAL (j = 2 is a multiple of 2):
   see the schedule above. This j-based rule restarts the counter; it is not the global block
   index (depth/2 + j).
6. `BlockCA.forward(x=c, y=v)` (c = clicks, v = image), LN eps 1e-6:
   `c = c + attn1(norm1(c), norm1(c))`; `c = c + attn2(norm2(v), norm2(c))`;
   `c = c + mlp(norm3(c))`. `norm2` is ONE LayerNorm applied to both the image and the click
   tokens. The MLP is fc1 (D -> 4D), GELU (`act_layer=None` falls back to `nn.GELU()`), fc2.
7. `MHAttention.forward(a, b)`: one `qkv` Linear (D -> 3D, bias) is applied to both arguments;
   q comes from the SECOND argument (`qkv(b)`, output channels 0:D), k and v from the FIRST
   (`qkv(a)`, channels D:2D and 2D:3D); heads split as (3, heads, D/heads) like timm; scale
   (D/heads)^-0.5; softmax over keys; then `proj`. So in `attn2(norm2(v), norm2(c))` the click
   tokens are the queries and the image tokens the keys/values; `attn1` with equal arguments is
   plain self-attention. The reshape uses N of the first argument for both, so both streams must
   have the same token layout (they do: they are always patchified together).
8. Fusion: after the cross blocks, `x = x + c` (plain sum, in whatever layout the streams are
   in: windowed for depth 12, global for depth 8). Stage 3, i = depth/2 + 1 .. depth: only x,
   `x = blocks[i-1](x)` with the same window rule on i (depth 12: blocks 7-11 windowed, 12
   global; depth 8: 5, 7 windowed, 6, 8 global). The backbone returns the last state, which is
   always global (depth is a multiple of the group), reshaped by `backbone_forward` to
   B x D x 28 x 28 (`transpose(-1, -2).view`) for `SimpleFPN` and `SwinTransfomerSegHead`, both
   identical to SimpleClick's (no final LayerNorm; `fc_norm` is unused).
9. `random_split=True` takes a different branch (shuffled image tokens only; clicks and cross
   blocks dropped). Not exercised here (`random_split=False`, the config default flag).

Sensitivity of these fixtures to wrong variants (max |diff| of `logits_lowres`, sample batch of
the forward fixture; every variant that differs from the official schedule is far above the
1e-4 tolerance; the generator fails if one is below 1e-2):

$sensitivity
"""


def write_doc(out: Path, off: OfficialICM, source_note: str, info: dict) -> None:
    names = [f"{n}.pth" for n in CONFIGS] + [f"{n}_forward.npz" for n in CONFIGS]
    sizes = {n: (out / n).stat().st_size for n in sorted(names)}
    listing = "\n".join(f"| `{n}` | {s:,} |" for n, s in sizes.items())
    schedules = "\n\n".join(
        f"`{name}`:\n\n```\n" + "\n".join(info[name]["schedule"]) + "\n```" for name in CONFIGS
    )
    sensitivity = "\n".join(
        f"- `{name}` (logit range {info[name]['sensitivity']['_logit_range']:.2f}): "
        + ", ".join(
            f"{k} {v:.3g}" if v else f"{k} 0 (= official schedule)"
            for k, v in info[name]["sensitivity"].items()
            if not k.startswith("_")
        )
        for name in CONFIGS
    )
    params = "; ".join(f"`{name}` {info[name]['params']}" for name in CONFIGS)
    upsample_ok = all(info[name]["upsample_exact"] for name in CONFIGS)
    text = string.Template(DOC_TEMPLATE).substitute(
        torch_version=torch.__version__,
        numpy_version=np.__version__,
        python_version=platform.python_version(),
        official_repo=off.repo,
        official_revision=off.revision,
        source_note=source_note.strip() or "(no --source-note given)",
        mmcv=off.mmcv_description,
        listing=listing,
        total=f"{sum(sizes.values()):,}",
        class_path=CLASS_PATH,
        stride=base.LOGITS_STRIDE,
        schedules=schedules,
        sensitivity=sensitivity,
        param_counts=params,
        upsample_check="checked bit-exact" if upsample_ok else "NOT bit-exact on this build",
    )
    (out / "ICMFORMER.md").write_text(text)


def _param_summary(model: nn.Module) -> str:
    total = sum(p.numel() for p in model.parameters())
    cross = sum(p.numel() for p in model.backbone.blocks2.parameters())
    return f"{total:,} parameters ({cross:,} in {len(model.backbone.blocks2)} cross blocks)"


@torch.no_grad()
def _upsample_exact(out: Path, name: str) -> bool:
    data = np.load(out / f"{name}_forward.npz")
    full = nn.functional.interpolate(
        torch.from_numpy(data["logits_lowres"]),
        size=(IMG_SIZE, IMG_SIZE),
        mode="bilinear",
        align_corners=True,
    ).numpy()
    stride = int(data["logits_stride"])
    return bool(np.array_equal(full[:, :, ::stride, ::stride], data["logits_sub"]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--official-repo", type=Path, required=True, help="checkout holding iCMFormer's isegm"
    )
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/official"))
    parser.add_argument(
        "--source-note", default="", help="free text for ICMFORMER.md: where the checkout came from"
    )
    parser.add_argument("--no-doc", action="store_true", help="do not (re)write ICMFORMER.md")
    args = parser.parse_args(argv)

    off = OfficialICM(args.official_repo.resolve())
    args.out.mkdir(parents=True, exist_ok=True)
    print(
        f"official iCMFormer isegm from {off.repo} ({off.revision}); "
        f"mmcv stand-in: {off.mmcv_stand_in}; torch {torch.__version__}"
    )

    fwd_inputs = base.forward_inputs(base.FORWARD_SEED)
    click_image, click_gt = base.click_inputs(base.CLICK_IMAGE_SEED)
    image, prev_mask, points = fwd_inputs
    net_input = torch.cat([torch.from_numpy(image), torch.from_numpy(prev_mask)], dim=1)
    points_t = torch.from_numpy(points)
    info = {}
    for name in CONFIGS:
        model = build_model(off, name)
        assert model._config["class"] == CLASS_PATH, model._config["class"]
        # Same head calibration as the SimpleClick fixtures (off.Clicker gives the first click).
        calib = base.first_click_batch(off, click_image, click_gt)
        base.calibrate_head(model, *calib, strict=False)
        ckpt = base.write_checkpoint(off, model, name, args.out)
        lo, hi = base.write_forward(model, name, args.out, fwd_inputs)
        schedule = record_schedule(model, net_input, points_t)
        sensitivity = variant_sensitivity(model, net_input, points_t)
        info[name] = {
            "schedule": schedule,
            "sensitivity": sensitivity,
            "params": _param_summary(model),
            "upsample_exact": _upsample_exact(args.out, name),
        }
        print(f"[{name}] wrote {ckpt.name} and {name}_forward.npz; logits {lo:.3f}..{hi:.3f}")
        print("    " + "\n    ".join(schedule))
        print(f"    sensitivity: {sensitivity}")
        print(f"    {info[name]['params']}; upsample exact: {info[name]['upsample_exact']}")
        if min(v for k, v in sensitivity.items() if v != 0 and not k.startswith("_")) < 1e-2:
            raise RuntimeError(f"{name}: a wrong-architecture variant is not discriminated")

    if not args.no_doc:
        write_doc(args.out, off, args.source_note, info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
