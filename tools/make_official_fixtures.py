"""Generate reference fixtures with the *official* SimpleClick code (plus a CFR paraphrase).

The fixtures let ``napari_clickseg`` be tested against the official implementation to ~1e-4
(float32, CPU). No official code is copied into this project: the script imports the ``isegm``
package from a separate checkout given on the command line.

Usage::

    PYTHONPATH=/dir/with/cv2 python tools/make_official_fixtures.py \\
        --official-repo /path/to/SimpleClick --out tests/fixtures/official

The environment needs ``torch``, ``torchvision`` (imported by the official predictor), ``numpy``
and ``cv2`` (official ``Clicker``). The official head code imports ``mmcv`` 1.x at import time;
when no ``mmcv`` is importable, this script registers a tiny in-memory stand-in (``ConvModule`` =
conv + ReLU with submodules ``conv``/``activate``, ``BaseModule``, no-op fp16 decorators, a
minimal ``Registry``). The stand-in is our code, not mmcv.

Written files (the README written next to them documents every array):

* ``<cfg>.pth``: official-format checkpoint written by the official ``save_checkpoint``
  (``{'state_dict': ..., 'config': model._config}``; the config pickles an isegm
  ``CrossEntropyLoss`` instance, so a plain ``weights_only=True`` load fails).
* ``<cfg>_forward.npz``: a raw forward pass (batch of 2) of the official ``PlainVitModel``.
* ``<cfg>_clicks.npz`` (``--click-configs`` only): click sequences from the official ``Clicker``
  run through the official ``BasePredictor`` + ``ZoomIn`` (+ horizontal flip), plus CFR variants.

CFR (cascade-forward refinement, CFR-ICL) is NOT official code here: :func:`cascade_predictor`
paraphrases CFR's ``get_prediction(clicker, prev_mask=None, on_cascade=False)`` on top of the
official SimpleClick ``BasePredictor``.

The generation is deterministic (byte-identical output for the same torch/numpy build).
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import pickle
import platform
import shutil
import string
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

IMG_SIZE = 448
PRED_THR = 0.49  # evaluation binarisation threshold (scripts/evaluate_model.py --thresh)
CFR_THR = 0.49  # CFR adaptive stop: threshold of the pass-to-pass comparison
CFR_MAX_CHANGED = 20  # CFR adaptive stop: at most this many changed pixels
ZOOM_IN_PARAMS = {
    "skip_clicks": -1,
    "target_size": (IMG_SIZE, IMG_SIZE),
    "expansion_ratio": 1.4,
    "min_crop_size": 200,
    "recompute_thresh_iou": 0.5,
    "prob_thresh": 0.5,
}

# name -> (patch, embed_dim, depth, heads, neck out_dims, head channels)
CONFIGS = {
    "p16_d8": (16, 32, 8, 2, (16, 32, 48, 64), 16),
    "p14_d8": (14, 32, 8, 2, (16, 32, 48, 64), 16),
    "p16_d12": (16, 24, 12, 2, (8, 16, 24, 32), 8),
}
CONFIG_SEEDS = {"p16_d8": 1608, "p14_d8": 1408, "p16_d12": 1612}
FORWARD_SEED = 2024
CLICK_IMAGE_SEED = 7

# Click scenarios: name -> (with_flip, cascade_step, cascade_adaptive, cascade_clicks, n_clicks).
# Scenarios other than "plain" replay the first n_clicks clicks of "plain" (size budget).
SCENARIOS = {
    "plain": (True, 0, False, 1, 8),
    "noflip": (False, 0, False, 1, 4),
    "cfr2": (True, 3, False, 1, 2),
    "acfr4": (True, 5, True, 1, 2),
    "cfr2_all": (True, 3, False, 20, 4),
}
CLICK_IMAGE_HW = (40, 420)

# Synthetic-weight shaping (see perturb_weights / calibrate_head).
CLICK_EMBED_GAIN = 250.0
HEAD_MARGIN = 0.25
FALLBACK_POSITIVE_FRACTION = 0.1

# Forward fixture: the full-resolution logits are stored subsampled by this stride (size budget).
LOGITS_STRIDE = 8


# ------------------------------------------------------------------------------------------------
# mmcv stand-in (only installed when no real mmcv is importable)
# ------------------------------------------------------------------------------------------------
_RELU_CFG = {"type": "ReLU"}


class _Registry:
    def __init__(self, name, build_func=None, parent=None, scope=None):
        self.name = name
        self.parent = parent
        self.module_dict = {}

    def get(self, key):
        if key in self.module_dict:
            return self.module_dict[key]
        return self.parent.get(key) if self.parent is not None else None

    def register_module(self, name=None, force=False, module=None):
        def _register(cls):
            self.module_dict[name or cls.__name__] = cls
            return cls

        return _register(module) if module is not None else _register

    def build(self, cfg, default_args=None, **kwargs):
        return _build_from_cfg(cfg, self, default_args)


def _build_from_cfg(cfg, registry, default_args=None):
    args = dict(cfg)
    for key, value in (default_args or {}).items():
        args.setdefault(key, value)
    obj_type = args.pop("type")
    obj_cls = registry.get(obj_type) if isinstance(obj_type, str) else obj_type
    return obj_cls(**args)


class _BaseModule(nn.Module):
    def __init__(self, init_cfg=None):
        super().__init__()
        self.init_cfg = init_cfg


def _no_op_decorator_factory(*args, **kwargs):
    return lambda func: func


class _ConvModule(nn.Module):
    """mmcv ConvModule without norm: conv (bias='auto' -> True) then ReLU(inplace=True)."""

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias="auto",
        conv_cfg=None,
        norm_cfg=None,
        act_cfg=_RELU_CFG,
        inplace=True,
        **kwargs,
    ):
        super().__init__()
        if conv_cfg is not None or norm_cfg is not None:
            raise NotImplementedError("mmcv stand-in: only conv (+ ReLU) is supported")
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=True if bias == "auto" else bias,
        )
        self.with_activation = act_cfg is not None
        if self.with_activation:
            if act_cfg["type"] != "ReLU":
                raise NotImplementedError(act_cfg)
            self.activate = nn.ReLU(inplace=inplace)
        # mmcv: kaiming_init(conv, a=0, mode='fan_out', nonlinearity='relu', normal), bias 0
        nn.init.kaiming_normal_(self.conv.weight, a=0, mode="fan_out", nonlinearity="relu")
        if self.conv.bias is not None:
            nn.init.constant_(self.conv.bias, 0)

    def forward(self, x, activate=True, norm=True):
        x = self.conv(x)
        if activate and self.with_activation:
            x = self.activate(x)
        return x


def _mmcv_load(path):
    with open(path, "rb") as f:
        return json.load(f) if str(path).endswith(".json") else pickle.load(f)


def install_mmcv_stand_in() -> bool:
    """Register an in-memory ``mmcv`` stand-in unless a real ``mmcv`` is importable."""
    try:
        importlib.import_module("mmcv.cnn")
        return False
    except ImportError:
        pass

    def module(name, **attrs):
        mod = types.ModuleType(name)
        mod.__dict__.update(attrs)
        sys.modules[name] = mod
        return mod

    utils = module("mmcv.utils", Registry=_Registry, build_from_cfg=_build_from_cfg)
    runner = module(
        "mmcv.runner",
        BaseModule=_BaseModule,
        auto_fp16=_no_op_decorator_factory,
        force_fp32=_no_op_decorator_factory,
    )
    registry = module("mmcv.cnn.bricks.registry", ATTENTION=_Registry("attention"))
    bricks = module("mmcv.cnn.bricks", registry=registry)
    cnn = module("mmcv.cnn", ConvModule=_ConvModule, MODELS=_Registry("model"), bricks=bricks)
    module("mmcv", cnn=cnn, runner=runner, utils=utils, load=_mmcv_load)
    return True


# ------------------------------------------------------------------------------------------------
# official code
# ------------------------------------------------------------------------------------------------
class Official:
    """The official classes/functions, imported from the given checkout."""

    def __init__(self, repo: Path):
        self.repo = repo
        sys.path.insert(0, str(repo))
        self.mmcv_stand_in = install_mmcv_stand_in()
        if self.mmcv_stand_in:
            self.mmcv_description = "the in-memory stand-in of this script"
        else:
            mmcv_file = Path(importlib.import_module("mmcv").__file__)
            self.mmcv_description = f"`mmcv` imported from `{mmcv_file.parent}`"

        def load(module, name):
            return getattr(importlib.import_module(module), name)

        self.PlainVitModel = load("isegm.model.is_plainvit_model", "PlainVitModel")
        self.CrossEntropyLoss = load(
            "isegm.model.modeling.transformer_helper.cross_entropy_loss", "CrossEntropyLoss"
        )
        self.save_checkpoint = load("isegm.utils.misc", "save_checkpoint")
        self.BasePredictor = load("isegm.inference.predictors.base", "BasePredictor")
        self.ZoomIn = load("isegm.inference.transforms.zoom_in", "ZoomIn")
        self.Clicker = load("isegm.inference.clicker", "Clicker")
        self.Click = load("isegm.inference.clicker", "Click")
        self.revision = _git_revision(repo)


def _git_revision(repo: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return out.stdout.strip()


# ------------------------------------------------------------------------------------------------
# CFR paraphrase
# ------------------------------------------------------------------------------------------------
def cascade_predictor(base_predictor: type) -> type:
    """Return a subclass of the official BasePredictor with CFR's cascade (our paraphrase).

    CFR ``get_prediction(clicker, prev_mask=None, on_cascade=False)``: when the number of clicks
    is <= ``cascade_clicks``, ``cascade_step > 0`` and we are not inside a cascade already, run
    ``cascade_step`` ordinary single passes with the same clicks; each pass feeds the previous
    pass's output back as the prev-mask channel (through ``self.prev_prediction``) and goes
    through ZoomIn again, so the ROI may move between passes. With ``cascade_adaptive``, stop as
    soon as a pass differs from the previous pass in <= 20 pixels at threshold 0.49 (full image
    resolution). The evaluation loop passes ``prev_mask=None``, so the first comparison is between
    passes 1 and 2. CFR's ``--cf-n N`` maps to ``cascade_step = N + 1``. Otherwise: one pass.
    """

    class CascadePredictor(base_predictor):
        def __init__(
            self, model, device, cascade_step=0, cascade_adaptive=False, cascade_clicks=1, **kw
        ):
            super().__init__(model, device, **kw)
            self.cascade_step = cascade_step
            self.cascade_adaptive = cascade_adaptive
            self.cascade_clicks = cascade_clicks

        def get_prediction(self, clicker, prev_mask=None, on_cascade=False):
            num_clicks = len(clicker.get_clicks())
            if num_clicks <= self.cascade_clicks and self.cascade_step > 0 and not on_cascade:
                previous = prev_mask
                prediction = None
                for _ in range(self.cascade_step):
                    prediction = self.get_prediction(clicker, None, on_cascade=True)
                    if self.cascade_adaptive and previous is not None:
                        changed = np.count_nonzero((prediction > CFR_THR) != (previous > CFR_THR))
                        if changed <= CFR_MAX_CHANGED:
                            return prediction
                    previous = prediction
                return prediction
            return super().get_prediction(clicker, prev_mask)

    return CascadePredictor


# ------------------------------------------------------------------------------------------------
# model
# ------------------------------------------------------------------------------------------------
def build_model(off: Official, name: str) -> nn.Module:
    """Official PlainVitModel with the given tiny config (as in the official model configs)."""
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
    perturb_weights(model, CONFIG_SEEDS[name] + 1)
    return model.eval()


@torch.no_grad()
def perturb_weights(model: nn.Module, seed: int) -> None:
    """Default init plus seeded noise, so that no parameter is trivially 0 or 1.

    LayerNorm/GroupNorm: weight = 1 + N(0, 0.1), bias = N(0, 0.05); every other parameter gets
    N(0, 0.02) added. Then the click-map patch embedding gets a strong structured component: the
    prev-mask (x0.5) and positive-disk channels push tokens along one random direction and the
    negative-disk channel along another, so clicks and the previous mask visibly matter.
    """
    gen = torch.Generator().manual_seed(seed)
    norm_param_ids = set()
    for module in model.modules():
        if isinstance(module, (nn.LayerNorm, nn.GroupNorm)):
            module.weight.copy_(1 + 0.1 * torch.randn(module.weight.shape, generator=gen))
            module.bias.copy_(0.05 * torch.randn(module.bias.shape, generator=gen))
            norm_param_ids.update({id(module.weight), id(module.bias)})
    for param in model.parameters():
        if id(param) not in norm_param_ids:
            param.add_(0.02 * torch.randn(param.shape, generator=gen))

    weight = model.patch_embed_coords.proj.weight  # (D, 3, p, p): prev mask, pos disk, neg disk
    dirs = torch.randn(2, weight.shape[0], generator=gen)
    dirs = dirs / dirs.norm(dim=1, keepdim=True)
    scale = CLICK_EMBED_GAIN / (weight.shape[2] * weight.shape[3])
    weight[:, 0] += 0.5 * scale * dirs[0][:, None, None]
    weight[:, 1] += scale * dirs[0][:, None, None]
    weight[:, 2] += scale * dirs[1][:, None, None]


@torch.no_grad()
def calibrate_head(
    model: nn.Module,
    net_input: torch.Tensor,
    points: torch.Tensor,
    near: torch.Tensor,
    strict: bool = True,
) -> None:
    """Choose the sign of conv_seg and its bias so that predictions stay local to the clicks.

    ``near`` marks network-input pixels close to the single positive click of ``points``. The
    sign of conv_seg is chosen so that the click region holds the most extreme high logits; the
    bias puts the decision boundary ``HEAD_MARGIN`` of the way from the highest far-away logit to
    the peak, so predicted masks cover only part of the image (the ZoomIn crop then kicks in).
    If the click response is too weak (allowed only when not ``strict``), the bias makes
    ``FALLBACK_POSITIVE_FRACTION`` of the pixels positive instead.
    """
    conv_seg = model.head.conv_seg
    conv_seg.bias.zero_()
    logits = model(net_input, points)["instances"][0, 0]
    if logits[near].max() - logits[~near].max() < logits[~near].min() - logits[near].min():
        conv_seg.weight.neg_()
        logits = -logits
    peak, far = float(logits[near].max()), float(logits[~near].max())
    if peak > far:
        conv_seg.bias.fill_(-(far + HEAD_MARGIN * (peak - far)))
    elif strict:
        raise RuntimeError("click response too weak to calibrate the head")
    else:
        threshold = torch.quantile(logits.flatten(), 1.0 - FALLBACK_POSITIVE_FRACTION)
        conv_seg.bias.fill_(-float(threshold))


def first_click_batch(off: Official, image: np.ndarray, gt: np.ndarray):
    """Network input for the first evaluation click (whole-image ROI resized to 448x448).

    Returns ``(net_input, points, near)``; ``near`` marks input pixels within 40 px of the click,
    which is the official first click (first maximum of the GT distance transform).
    """
    clicker = off.Clicker(gt_mask=gt)
    clicker.make_next_click(np.zeros(gt.shape, dtype=bool))
    click_row, click_col = clicker.get_clicks()[0].coords
    h, w = gt.shape
    img = torch.from_numpy(image.astype(np.float32).transpose(2, 0, 1)[None] / 255.0)
    net_input = torch.cat([img, torch.zeros(1, 1, h, w)], dim=1)
    net_input = nn.functional.interpolate(
        net_input, size=(IMG_SIZE, IMG_SIZE), mode="bilinear", align_corners=True
    )
    row, col = IMG_SIZE * click_row / h, IMG_SIZE * click_col / w
    points = torch.tensor([[[row, col, 0.0], [-1.0, -1.0, -1.0]]])
    grid_r, grid_c = torch.meshgrid(torch.arange(IMG_SIZE), torch.arange(IMG_SIZE), indexing="ij")
    near = (grid_r - row) ** 2 + (grid_c - col) ** 2 <= 40**2
    return net_input, points, near


# ------------------------------------------------------------------------------------------------
# synthetic inputs
# ------------------------------------------------------------------------------------------------
def blocky_noise(rng, shape, block: int, low: int, high: int, step: int = 1) -> np.ndarray:
    """Piecewise-constant uint8 noise: blocks of ``block`` px, values ``low + step * k <= high``.

    Blocks are not aligned to 14/16 px patches; few levels keep the npz files small.
    """
    h, w = shape[:2]
    levels = (high - low) // step + 1
    size = (-(-h // block), -(-w // block), *shape[2:])
    coarse = low + step * rng.integers(0, levels, size=size)
    full = np.repeat(np.repeat(coarse, block, axis=0), block, axis=1)[:h, :w]
    return full.astype(np.uint8)


def ellipse(shape, center, radii) -> np.ndarray:
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    return ((rows - center[0]) / radii[0]) ** 2 + ((cols - center[1]) / radii[1]) ** 2 <= 1.0


def forward_inputs(seed: int):
    """Batch of 2 (image, prev_mask, points); points in the official (B, 2M, 3) layout."""
    rng = np.random.default_rng(seed)
    hw = (IMG_SIZE, IMG_SIZE)
    images, prev_masks = [], []
    for b in range(2):
        img = blocky_noise(rng, (*hw, 3), block=13, low=30, high=222, step=8)
        obj = ellipse(hw, (150 + 120 * b, 170 + 60 * b), (70, 95))
        img[obj] = (img[obj] * 0.4 + np.array([200, 60, 40]) * 0.6).astype(np.uint8)
        images.append(img.astype(np.float32).transpose(2, 0, 1) / np.float32(255.0))
        prev = np.zeros(hw, np.float32)
        prev[ellipse(hw, (160 + 100 * b, 180), (60, 80))] = 0.62
        prev[ellipse(hw, (150 + 100 * b, 170), (25, 30))] = 0.93
        prev[ellipse(hw, (330 - 200 * b, 360), (40, 40))] = 0.27
        prev_masks.append(prev[None])
    # First M=3 rows positive, last M negative; rows are (row, col, click index), padding -1.
    pad = (-1.0, -1.0, -1.0)
    points = np.array(
        [
            [
                *[(150.25, 170.5, 0), (120.0, 210.75, 2), (447.0, 3.5, 4)],  # positive
                *[(20.5, 400.125, 1), (300.0, 60.0, 3), pad],  # negative
            ],
            [
                *[(270.5, 230.0, 0), pad, pad],
                *[(100.75, 100.25, 1), (445.5, 446.5, 2), (0.0, 224.0, 3)],
            ],
        ],
        dtype=np.float32,
    )
    return np.stack(images), np.stack(prev_masks), points


def click_inputs(seed: int):
    """Wide uint8 RGB image (40x420) and a GT mask made of three thin vertical bars.

    Resizing 40x420 to 448x448 up-samples rows and (slightly) down-samples columns. The image has
    to be wide: with min_crop_size=200 the ZoomIn ROI only leaves the whole image when the
    candidate crop has bbox-IoU < 0.5 with it. Thin bars make the tiny model's predictions leak
    out of the GT, so the official click rule also produces negative clicks.
    """
    rng = np.random.default_rng(seed)
    h, w = CLICK_IMAGE_HW
    image = blocky_noise(rng, (h, w, 3), block=7, low=70, high=150)
    gt = np.zeros((h, w), dtype=bool)
    gt[17:26, 356:363] = True
    gt[15:34, 32:35] = True
    gt[2:33, 145:149] = True
    image[gt] = (image[gt] * 0.5 + np.array([210, 80, 50]) * 0.5).astype(np.uint8)
    return image, gt.astype(np.int32)


# ------------------------------------------------------------------------------------------------
# fixture writers
# ------------------------------------------------------------------------------------------------
def write_checkpoint(off: Official, model: nn.Module, name: str, out: Path) -> Path:
    """Write ``<name>.pth`` with the official ``save_checkpoint`` (then rename the file)."""
    target = out / f"{name}.pth"
    with tempfile.TemporaryDirectory() as tmp:
        off.save_checkpoint(model, Path(tmp), prefix=name, verbose=False)
        (written,) = Path(tmp).glob("*.pth")
        shutil.move(str(written), target)
    return target


@torch.no_grad()
def write_forward(model: nn.Module, name: str, out: Path, inputs) -> tuple[float, float]:
    image, prev_mask, points = inputs
    captured = {}
    handle = model.head.register_forward_hook(lambda m, i, o: captured.setdefault("head", o))
    net_input = torch.cat([torch.from_numpy(image), torch.from_numpy(prev_mask)], dim=1)
    logits = model(net_input, torch.from_numpy(points))["instances"].numpy()
    handle.remove()
    np.savez_compressed(
        out / f"{name}_forward.npz",
        image=image,
        prev_mask=prev_mask,
        points=points,
        logits_lowres=captured["head"].numpy().astype(np.float32),
        logits_sub=logits[:, :, ::LOGITS_STRIDE, ::LOGITS_STRIDE].astype(np.float32),
        logits_stride=np.int32(LOGITS_STRIDE),
    )
    return float(logits.min()), float(logits.max())


class PassRecorder:
    """Counts network passes (one forward call each; batch 2 with flip) and their ZoomIn ROI."""

    def __init__(self, model: nn.Module, zoom_in):
        self.rois = []
        self.zoom_in = zoom_in
        self.handle = model.register_forward_hook(self._hook)

    def _hook(self, *args):
        self.rois.append([int(v) for v in self.zoom_in._object_roi])


@torch.no_grad()
def run_clicks(off: Official, model, image, gt, scenario: str, replay=None) -> dict:
    """Evaluation-style click loop (official evaluate_sample) for one scenario."""
    with_flip, cascade_step, adaptive, cascade_clicks, n_clicks = SCENARIOS[scenario]
    zoom_in = off.ZoomIn(**ZOOM_IN_PARAMS)
    predictor = cascade_predictor(off.BasePredictor)(
        model,
        "cpu",
        with_flip=with_flip,
        zoom_in=zoom_in,
        cascade_step=cascade_step,
        cascade_adaptive=adaptive,
        cascade_clicks=cascade_clicks,
    )
    recorder = PassRecorder(model, zoom_in)
    clicker = off.Clicker(gt_mask=gt)
    predictor.set_input_image(image)
    pred_mask = np.zeros(gt.shape, dtype=bool)
    gt_mask = gt == 1
    clicks, probs, rois, passes, ious = [], [], [], [], []
    for k in range(n_clicks):
        if replay is None:
            clicker.make_next_click(pred_mask)
        else:
            # NumPy integers, as the official Clicker's np.where gives: ZoomIn then turns them
            # into float64 network coordinates (Python ints would give float32 points).
            row, col, positive = (np.int64(v) for v in replay[k])
            clicker.add_click(off.Click(is_positive=bool(positive), coords=(row, col)))
        click = clicker.get_clicks()[-1]
        clicks.append((int(click.coords[0]), int(click.coords[1]), int(bool(click.is_positive))))
        before = len(recorder.rois)
        prob = predictor.get_prediction(clicker)
        passes.append(len(recorder.rois) - before)
        pred_mask = prob > PRED_THR
        probs.append(prob.astype(np.float32))
        rois.append([int(v) for v in zoom_in._object_roi])
        union = np.logical_or(pred_mask, gt_mask).sum()
        ious.append(np.logical_and(pred_mask, gt_mask).sum() / max(union, 1))
    recorder.handle.remove()
    return {
        "clicks": np.array(clicks, dtype=np.int32),
        "probs": np.stack(probs),
        "rois": np.array(rois, dtype=np.int32),
        "passes": np.array(passes, dtype=np.int32),
        "pass_rois": np.array(recorder.rois, dtype=np.int32),
        "ious": np.array(ious, dtype=np.float32),
    }


def check_rois(rois: np.ndarray, hw) -> bool:
    """ROI is the whole image at click 1, later a crop, and changes at least once after that."""
    full = [0, hw[0] - 1, 0, hw[1] - 1]
    rois = [list(r) for r in rois]
    later_crop = any(r != full for r in rois[1:])
    changes_after_crop = sum(a != b for a, b in itertools.pairwise(rois[1:]))
    return rois[0] == full and later_crop and changes_after_crop >= 1


# ------------------------------------------------------------------------------------------------
# README written next to the fixtures ($-placeholders: string.Template)
# ------------------------------------------------------------------------------------------------
README_TEMPLATE = r"""# Reference fixtures computed by the official SimpleClick code

Generated by `tools/make_official_fixtures.py`; do not edit by hand. Regenerate with

```
PYTHONPATH=<dir with cv2> python tools/make_official_fixtures.py \
    --official-repo <checkout with the official isegm package> --out tests/fixtures/official
```

- Generation: torch $torch_version, numpy $numpy_version, Python $python_version, CPU, float32.
  The output is deterministic (byte-identical when rerun with the same builds).
- Official code: `$official_repo` ($official_revision); mmcv: $mmcv.
- Provenance of that code:
  $source_note
- CFR (`cfr2`, `acfr4`, `cfr2_all` below) is **not** run from CFR-ICL's code: the generator wraps
  the official SimpleClick `BasePredictor` in a subclass that paraphrases CFR's cascade as
  described in section 7.1 of the project's SimpleClick reference notes
  (`shared/reference/simpleclick.md`); see `cascade_predictor` in the script. The CFR predictor of
  a CFR-ICL fork (`senlin-ali/CFR-ICL-Interactive-Segmentation` @0b29cdc,
  `isegm/inference/predictors/base.py`) was read and gives identical results on these scenarios.

## Files

| file | bytes |
|---|---|
$listing

Total: $total bytes.

## Models: `<cfg>.pth`

Tiny official `PlainVitModel`s, built like the official `models/iter_mask/plainvit_*` configs
(patch / token grid / embed_dim / depth / heads / neck out_dims / head channels; blocks 0-based):

- `p16_d8`: 16 / 28x28 / 32 / 8 / 2 / [16, 32, 48, 64] / 16; windowed blocks 0, 2, 4, 6
  (4 windows of 14x14 tokens), global blocks 1, 3, 5, 7 (xTiny-like, group 2).
- `p14_d8`: 14 / 32x32 / 32 / 8 / 2 / [16, 32, 48, 64] / 16; windowed 0, 2, 4, 6 (4 windows of
  16x16 tokens, like ViT-H), global 1, 3, 5, 7.
- `p16_d12`: 16 / 28x28 / 24 / 12 / 2 / [8, 16, 24, 32] / 8; windowed 0-4 and 6-10, global 5 and
  11 (ViT-B-like, group 6).

Common settings: `img_size=(448, 448)`, `in_chans=3`, `mlp_ratio=4`, `qkv_bias=True`, backbone
`num_classes` left at its default 1000 (so `backbone.head.weight` is (1000, D), as in released
checkpoints), `use_disks=True`, `norm_radius=5`, `with_prev_mask=True`, `random_split=False`; head
`in_index=[0, 1, 2, 3]`, `dropout_ratio=0.1`, `num_classes=1`, `align_corners=False`,
`upsample='x1'`, `loss_decode=CrossEntropyLoss()`. The window/global schedule above was checked
with forward hooks (windowed blocks see (4B, 196 or 256, D), global blocks (B, 784 or 1024, D)).

Weights: the official default init (seeded), then seeded noise on every parameter (norm weights
1 + N(0, 0.1), norm biases N(0, 0.05), everything else + N(0, 0.02)), plus a strong structured
component in `patch_embed_coords.proj.weight` so that clicks and the previous mask matter, and a
calibrated sign/bias of `head.conv_seg` so that predicted masks cover only part of the image.
`up_conv1`, `up_conv2`, `cls_token`, `fc_norm` and `backbone.head` are present (strict load) but
unused by the forward pass.

Format: exactly the official `isegm.utils.misc.save_checkpoint`, i.e.
`torch.save({'state_dict': model.state_dict(), 'config': model._config}, path)` (the file is
written by that function and renamed). `config` is the official `@serialize` record
(`{'class': 'isegm.model.is_plainvit_model.PlainVitModel', 'params': {name: {'type', 'value',
'specified'}}}`), and `config['params']['head_params']['value']['loss_decode']` is a pickled
`isegm.model.modeling.transformer_helper.cross_entropy_loss.CrossEntropyLoss` instance. Hence:

- `torch.load(path, weights_only=True)` fails: `UnpicklingError ... Unsupported global: GLOBAL
  isegm.model.modeling.transformer_helper.cross_entropy_loss.CrossEntropyLoss`;
- `torch.load(path, weights_only=False)` without `isegm` importable fails:
  `ModuleNotFoundError: No module named 'isegm'`.

## Raw forward pass: `<cfg>_forward.npz`

`logits = model(torch.cat([image, prev_mask], dim=1), points)['instances']` with the official
model in eval mode. Arrays (float32 unless noted; batch of 2 different samples):

- `image` (2, 3, 448, 448): RGB in [0, 1], values k/255 (as `ToTensor` gives). NOT normalised:
  the model applies the ImageNet mean/std itself.
- `prev_mask` (2, 1, 448, 448): soft previous-mask channel, values in {0, 0.27, 0.62, 0.93}.
- `points` (2, 6, 3): official layout with M = 3: rows 0..2 positive, rows 3..5 negative; each
  row is (row, col, click index); padding rows are (-1, -1, -1); fractional coordinates, some on
  the border ((447.0, 3.5), (445.5, 446.5), (0.0, 224.0)). The index column does not affect the
  disks.
- `logits_lowres` (2, 1, 112, 112), for p14 (2, 1, 128, 128): output of `model.head` (after
  `conv_seg`), i.e. before the final upsample (captured with a forward hook).
- `logits_sub` (2, 1, 56, 56): the official final logits `[:, :, ::$stride, ::$stride]`, i.e.
  rows/cols 0, $stride, ..., 440 of the (2, 1, 448, 448) output.
- `logits_stride` () int32: $stride.

The final logits are `F.interpolate(logits_lowres, size=(448, 448), mode='bilinear',
align_corners=True)` (checked bit-exact against `logits_sub`). No sigmoid is applied.

## Click sequences: `p16_d8_clicks.npz`

The official evaluation loop (`evaluate_sample`) on a synthetic $click_h x $click_w image, with
the p16_d8 model:

```
clicker = Clicker(gt_mask=gt); pred = zeros(bool); predictor.set_input_image(image)
for each click:
    clicker.make_next_click(pred)                  # replayed scenarios: clicker.add_click(Click)
    probs = predictor.get_prediction(clicker)      # full-resolution probabilities (H, W)
    pred = probs > 0.49
predictor = BasePredictor(model, 'cpu', with_flip=..., zoom_in=ZoomIn(skip_clicks=-1,
    target_size=(448, 448), expansion_ratio=1.4, min_crop_size=200, recompute_thresh_iou=0.5,
    prob_thresh=0.5))                              # transforms: [ZoomIn, SigmoidForPred, Flip]
```

This is what `get_predictor(model, 'NoBRS', 'cpu', prob_thresh=0.49, zoom_in_params=...)`
builds for SimpleClick evaluation (`with_flip=True` by default).

- `image` ($click_h, $click_w, 3) uint8: RGB input of `set_input_image`.
- `gt_mask` ($click_h, $click_w) uint8: ground truth {0, 1} (three thin vertical bars).
- `<S>_clicks` (n, 3) int32: (row, col, is_positive) in image pixels, in click order (the click
  index is the position).
- `<S>_probs` (n, $click_h, $click_w) float32: the `get_prediction` result after each click
  (also the prev-mask of the next click); exactly 0 outside the ROI.
- `<S>_rois` (n, 4) int32: ZoomIn `_object_roi` after the click, (rmin, rmax, cmin, cmax),
  inclusive.
- `<S>_passes` (n,) int32: network forward passes for the click (batch 2 each with flip).
- `<S>_pass_rois` (sum(passes), 4) int32: ROI used by every pass, in order.
- `<S>_ious` (n,) float32: IoU(probs > 0.49, gt), informational.

Scenarios `<S>` (the clicks of all but `plain` are the first n clicks of `plain`, replayed):

- `plain`: flip, no CFR, n = 8, clicks from the official `Clicker` next-click rule.
- `noflip`: `with_flip=False`, no CFR, n = 4.
- `cfr2`: flip, CFR-2 (`cascade_step=3`, not adaptive, `cascade_clicks=1`), n = 2.
- `acfr4`: flip, A-CFR-4 (`cascade_step=5`, adaptive, `cascade_clicks=1`), n = 2.
- `cfr2_all`: flip, `cascade_step=3`, not adaptive, `cascade_clicks=20` (every click), n = 4.

Observed passes and ROIs (the generator checks that for `plain` and `noflip` the ROI is the whole
image at click 1, then a crop, then changes again):

```
$roi_log
```

## Conventions and details an implementation must match

- Coordinates are (row, col) everywhere; ROIs are inclusive (rmin, rmax, cmin, cmax).
- Thresholds: 0.49 for the evaluation mask and the click rule input, 0.5 for the ZoomIn ROI,
  0.49 and <= 20 changed pixels for the CFR adaptive stop (first comparison: passes 1 vs 2).
- The official predictor builds its points tensor with `torch.tensor` from the ZoomIn click
  coordinates. In the evaluation loop the clicks are NumPy integers (the `Clicker` uses
  `np.where`), so the coordinates are NumPy float64 and the tensor is **float64**; Python numbers
  (the official demo) would give float32. `DistMaps` subtracts them in place from a float32 grid,
  which computes in the points' precision and rounds, so the two can differ on a disk-boundary
  pixel. All click scenarios here use NumPy integers, as the evaluation does (replayed clicks
  too). The forward fixture uses float32 points.
- With CFR the ROI can move between the passes of one click (ZoomIn runs on every pass);
  `<S>_pass_rois` records it.
- ZoomIn candidate ROI: bbox of (previous probs > 0.5) with the pixel `[int(r), int(c)]` of every
  positive click set; centre +- 0.5 * max(1.4 * size, 200) per axis, `int(round(.))` (Python's
  round-half-even), clamped to the image; whole image when the previous mask is empty. The stored
  ROI is replaced only when none is stored, a positive click lies outside it (test `r < rmin or
  r >= rmax`, same for columns: the inclusive max counts as outside), or bbox-IoU(candidate,
  stored) < 0.5, where bbox-IoU is the product of the row and column segment IoUs, each
  `(overlap + 1) / (hull + 1)` on inclusive ends.
- The crop `[rmin:rmax + 1, cmin:cmax + 1]` (RGB and prev-mask channels) is resized to exactly
  448x448 (aspect ratio not kept), bilinear, `align_corners=True`; clicks map to
  `448 * (r - rmin) / (rmax - rmin + 1)` (same for columns); the flipped copy uses
  `c' = 448 - c - 1`. The two flip outputs are averaged as logits, then the sigmoid is applied,
  then the map is resized back to the ROI size (bilinear, `align_corners=True`) and pasted into
  zeros.

## Size budget

To stay under 5 MB: the forward logits are stored at the head resolution plus a stride-$stride
subsample of the 448x448 output; click sequences exist only for `p16_d8`; scenarios other than
`plain` store only their first 2-4 clicks; synthetic images are piecewise constant.
"""


def write_readme(out: Path, off: Official, source_note: str, sizes: dict, roi_log: str) -> None:
    listing = "\n".join(f"| `{n}` | {s:,} |" for n, s in sorted(sizes.items()))
    text = string.Template(README_TEMPLATE).substitute(
        torch_version=torch.__version__,
        numpy_version=np.__version__,
        python_version=platform.python_version(),
        official_repo=off.repo,
        official_revision=off.revision,
        source_note=source_note.strip() or "(no --source-note given)",
        mmcv=off.mmcv_description,
        listing=listing,
        total=f"{sum(sizes.values()):,}",
        roi_log=roi_log,
        stride=LOGITS_STRIDE,
        click_h=CLICK_IMAGE_HW[0],
        click_w=CLICK_IMAGE_HW[1],
    )
    (out / "README.md").write_text(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--official-repo", type=Path, required=True, help="checkout holding the isegm package"
    )
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/official"))
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument(
        "--click-configs",
        nargs="*",
        default=["p16_d8"],
        choices=list(CONFIGS),
        help="configs that also get <cfg>_clicks.npz (default: p16_d8; size budget)",
    )
    parser.add_argument(
        "--source-note", default="", help="free text for the README: where the checkout came from"
    )
    parser.add_argument("--no-readme", action="store_true", help="do not (re)write README.md")
    args = parser.parse_args(argv)

    off = Official(args.official_repo.resolve())
    args.out.mkdir(parents=True, exist_ok=True)
    print(
        f"official isegm from {off.repo} ({off.revision}); "
        f"mmcv stand-in: {off.mmcv_stand_in}; torch {torch.__version__}"
    )

    fwd_inputs = forward_inputs(FORWARD_SEED)
    click_image, click_gt = click_inputs(CLICK_IMAGE_SEED)
    roi_lines = []
    for name in args.configs:
        model = build_model(off, name)
        strict = name in args.click_configs
        calibrate_head(model, *first_click_batch(off, click_image, click_gt), strict=strict)
        ckpt = write_checkpoint(off, model, name, args.out)
        lo, hi = write_forward(model, name, args.out, fwd_inputs)
        print(f"[{name}] wrote {ckpt.name} and {name}_forward.npz; logits {lo:.3f}..{hi:.3f}")
        if name not in args.click_configs:
            continue
        arrays = {"image": click_image, "gt_mask": click_gt.astype(np.uint8)}
        plain = run_clicks(off, model, click_image, click_gt, "plain")
        for scenario in SCENARIOS:
            res = plain
            if scenario != "plain":
                res = run_clicks(off, model, click_image, click_gt, scenario, plain["clicks"])
            arrays.update({f"{scenario}_{key}": value for key, value in res.items()})
            check = ""
            if scenario in ("plain", "noflip"):
                ok = check_rois(res["rois"], click_image.shape)
                check = f"; ROI full -> crop -> change: {'OK' if ok else 'FAIL'}"
                if not ok:
                    raise RuntimeError(f"{name}/{scenario}: ZoomIn ROI check failed")
            head = f"[{name}/{scenario}] passes {res['passes'].tolist()}{check}"
            print(head)
            roi_lines.append(head)
            first = 0
            for k, (click, npass) in enumerate(zip(res["clicks"], res["passes"], strict=True)):
                pass_rois = res["pass_rois"][first : first + npass].tolist()
                first += npass
                line = f"    click {k + 1} {click.tolist()}: ROI per pass {pass_rois}"
                print(line)
                roi_lines.append(line)
        np.savez_compressed(args.out / f"{name}_clicks.npz", **arrays)

    if not args.no_readme:
        sizes = {p.name: p.stat().st_size for p in args.out.iterdir() if p.name != "README.md"}
        write_readme(args.out, off, args.source_note, sizes, "\n".join(roi_lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
