"""Iterative training: clicks added where the current prediction is wrong.

:func:`add_error_click` follows ``get_next_points`` of the CFR-ICL trainer
(``isegm/engine/trainer.py``), the training-time click simulator:

- false negatives ``gt & (p < 0.49)``, false positives ``~gt & (p > 0.49)`` (the target is
  binarised with ``> 0.5``, so ignored pixels (-1) count as background, as officially);
- each map zero-padded by one pixel (the image border counts as boundary) and distance
  transformed; the larger maximum decides the sign (strictly larger false-negative maximum:
  positive click);
- the click is a *random* pixel of the chosen map whose distance exceeds half the larger
  maximum; nothing is added when the prediction has no error;
- it goes into the first free slot (order < 0) of its half, or overwrites the last slot of a
  full half, with order ``max(order) + 1``.

The distance is OpenCV's approximate 5x5 chamfer distance (``DIST_L2``, mask size 5, as
the official ``cv2.distanceTransform(mask, cv2.DIST_L2, 5)``: steps 1, 1.4 and 2.1969 for
straight, diagonal and knight moves, two raster passes), reimplemented with NumPy and
vectorised over the batch; ``distance="exact"`` uses SciPy's exact Euclidean transform instead.
OpenCV computes the chamfer in 16.16 fixed point (or, in the pip wheels with IPP, in float32);
we use float32, so values can differ in the last bits.

SimpleClick's own trainer wrote new clicks from the end of each half instead; the models read
the slots as an unordered set (disks), so only the padding layout matters.

:func:`simulate_clicks` is the RITM / SimpleClick iterative step: a few forward passes without
gradients in eval mode, each adding one error click, feeding the previous prediction back.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from scipy.ndimage import distance_transform_edt
from torch import nn

PRED_THRESHOLD = 0.49


#: OpenCV's DIST_L2 5x5 chamfer weights: straight, diagonal and knight moves.
CHAMFER_WEIGHTS = (1.0, 1.4, 2.1969)
DISTANCES = ("chamfer", "exact")


def _chamfer_pass(dist: np.ndarray, straight: float, diagonal: float, knight: float) -> None:
    """One top-to-bottom, left-to-right raster pass of the 5x5 chamfer, in place.

    ``dist`` is (H, N, W + 4), rows first so that each row of the whole stack is contiguous,
    with two columns of +inf on each side, so the neighbours of columns 2 .. W + 1 are plain
    slices.
    """
    height, count, padded_width = dist.shape
    width = padded_width - 4
    ramp = (np.arange(width) * straight).astype(dist.dtype)
    inner = slice(2, 2 + width)
    best = np.empty((count, width), dtype=dist.dtype)
    candidate = np.empty_like(best)
    moves_above = ((0, straight), (-1, diagonal), (1, diagonal), (-2, knight), (2, knight))
    for row in range(height):
        np.copyto(best, dist[row, :, inner])
        if row >= 1:
            for offset, cost in moves_above:
                np.add(dist[row - 1, :, 2 + offset : 2 + offset + width], cost, out=candidate)
                np.minimum(best, candidate, out=best)
        if row >= 2:
            for offset in (-1, 1):
                np.add(dist[row - 2, :, 2 + offset : 2 + offset + width], knight, out=candidate)
                np.minimum(best, candidate, out=best)
        # Left neighbour within the row: d[j] = min_k<=j (best[k] + (j - k) * straight).
        best -= ramp
        np.minimum.accumulate(best, axis=1, out=best)
        best += ramp
        dist[row, :, inner] = best


def chamfer_distance(masks: np.ndarray, weights: tuple[float, float, float] = CHAMFER_WEIGHTS):
    """OpenCV-style 5x5 chamfer distance to the nearest zero pixel, for a stack of masks.

    Pixels outside the image do not count as zero (as in OpenCV); pad with zeros first to
    make the border a boundary.

    Parameters
    ----------
    masks : numpy.ndarray
        (N, H, W) or (H, W); nonzero pixels get their distance, zero pixels 0.
    weights : tuple of float
        Costs of a straight, a diagonal and a knight move.

    Returns
    -------
    numpy.ndarray
        float32 distances of the same shape; +inf where a map has no zero pixel.
    """
    masks = np.asarray(masks)
    single = masks.ndim == 2
    stack = masks[None] if single else masks
    count, height, width = stack.shape
    dist = np.full((height, count, width + 4), np.inf, dtype=np.float32)
    dist[:, :, 2:-2] = np.where(stack != 0, np.float32(np.inf), np.float32(0)).transpose(1, 0, 2)
    _chamfer_pass(dist, *weights)
    flipped = dist[::-1, :, ::-1].copy()  # the backward pass is the forward pass, mirrored
    _chamfer_pass(flipped, *weights)
    result = flipped[::-1, :, ::-1][:, :, 2:-2].transpose(1, 0, 2).astype(np.float32)
    return result[0] if single else result


def _padded_distances(masks: np.ndarray, distance: str) -> np.ndarray:
    """Distances of (N, H, W) masks with the image border counting as boundary."""
    if distance not in DISTANCES:
        raise ValueError(f"distance must be one of {DISTANCES}, got {distance!r}")
    padded = np.pad(masks, ((0, 0), (1, 1), (1, 1)), mode="constant")
    if distance == "chamfer":
        return chamfer_distance(padded)[:, 1:-1, 1:-1]
    return np.stack([distance_transform_edt(m)[1:-1, 1:-1] for m in padded])


def _error_maps(gt: np.ndarray, pred: np.ndarray, threshold: float):
    obj = np.asarray(gt) > 0.5
    pred = np.asarray(pred)
    if pred.dtype == bool:
        return obj & ~pred, ~obj & pred
    return obj & (pred < threshold), ~obj & (pred > threshold)


def _pick_click(
    fn_dist: np.ndarray, fp_dist: np.ndarray, rng: np.random.Generator
) -> tuple[int, int, bool] | None:
    fn_max, fp_max = fn_dist.max(), fp_dist.max()
    is_positive = bool(fn_max > fp_max)
    dist = fn_dist if is_positive else fp_dist
    candidates = np.argwhere(dist > max(fn_max, fp_max) / 2.0)
    if len(candidates) == 0:
        return None
    row, col = candidates[int(rng.integers(len(candidates)))]
    return int(row), int(col), is_positive


def _as_batch_maps(tensor: torch.Tensor, name: str) -> np.ndarray:
    array = tensor.detach().cpu()
    if array.is_floating_point():
        array = array.float()  # NumPy has no bfloat16 (mixed precision)
    if array.dim() == 4:
        if array.shape[1] != 1:
            raise ValueError(f"{name} must have one channel, got shape {tuple(tensor.shape)}")
        array = array[:, 0]
    if array.dim() != 3:
        raise ValueError(f"{name} must be (B, H, W) or (B, 1, H, W), got {tuple(tensor.shape)}")
    return array.numpy()


def error_click(
    gt: np.ndarray,
    pred: np.ndarray,
    rng: np.random.Generator,
    threshold: float = PRED_THRESHOLD,
    distance: str = "chamfer",
) -> tuple[int, int, bool] | None:
    """One simulated training click for a single item.

    Parameters
    ----------
    gt : numpy.ndarray
        (H, W) target (> 0.5 is object).
    pred : numpy.ndarray
        (H, W) probabilities, or a boolean mask.
    rng : numpy.random.Generator
        Source of randomness.
    threshold : float
        Probability threshold of the prediction (0.49 officially).
    distance : {"chamfer", "exact"}
        OpenCV's 5x5 chamfer distance (official) or the exact Euclidean distance.

    Returns
    -------
    tuple of (int, int, bool) or None
        (row, col, is_positive), or None when the prediction has no error.
    """
    missed, extra = _error_maps(gt, pred, threshold)
    fn_dist, fp_dist = _padded_distances(np.stack([missed, extra]), distance)
    return _pick_click(fn_dist, fp_dist, rng)


def add_error_click(
    points: torch.Tensor,
    pred: torch.Tensor,
    gt: torch.Tensor,
    rng: np.random.Generator,
    threshold: float = PRED_THRESHOLD,
    distance: str = "chamfer",
) -> torch.Tensor:
    """Add one click per batch item in its larger error region.

    Parameters
    ----------
    points : torch.Tensor
        (B, 2M, 3) clicks in the official layout (positives first, -1 padding).
    pred : torch.Tensor
        (B, 1, H, W) or (B, H, W) probabilities, or a boolean mask.
    gt : torch.Tensor
        Target of the same spatial shape (1 object, 0 background, -1 ignored).
    rng : numpy.random.Generator
        Source of randomness.
    threshold : float
        Probability threshold (0.49 officially).
    distance : {"chamfer", "exact"}
        OpenCV's 5x5 chamfer distance (official) or the exact Euclidean distance.

    Returns
    -------
    torch.Tensor
        A new points tensor (same shape, dtype and device); ``points`` is not modified.
    """
    if points.dim() != 3 or points.shape[-1] != 3 or points.shape[1] % 2:
        raise ValueError(f"points must be (B, 2M, 3), got shape {tuple(points.shape)}")
    preds = _as_batch_maps(pred, "pred")
    gts = _as_batch_maps(gt, "gt")
    if preds.shape != gts.shape or preds.shape[0] != points.shape[0]:
        raise ValueError(
            f"pred {preds.shape}, gt {gts.shape} and points {tuple(points.shape)} must agree "
            "on the batch size and the (H, W) size"
        )
    half = points.shape[1] // 2
    updated = points.detach().clone()
    orders = updated[..., 2]
    missed, extra = _error_maps(gts, preds, threshold)
    dists = _padded_distances(np.concatenate([missed, extra]), distance)
    batch = points.shape[0]
    for item in range(batch):
        click = _pick_click(dists[item], dists[batch + item], rng)
        if click is None:
            continue
        row, col, is_positive = click
        start = 0 if is_positive else half
        free = torch.nonzero(orders[item, start : start + half] < 0)
        slot = start + (int(free[0, 0]) if len(free) else half - 1)
        order = max(float(orders[item].max()), 0.0) + 1
        updated[item, slot] = torch.tensor((row, col, order), dtype=updated.dtype)
    return updated


def draw_num_extra_clicks(
    rng: np.random.Generator, max_num_next_clicks: int = 3, minimum: int = 0
) -> int:
    """Number of simulated click steps for a batch: uniform in [minimum, max] (inclusive).

    SimpleClick / PiClick use 0-3 (``random.randint(0, 3)``); CFR-ICL's ICL path uses 1-3.
    """
    if minimum > max_num_next_clicks:
        raise ValueError(f"minimum {minimum} exceeds max_num_next_clicks {max_num_next_clicks}")
    return int(rng.integers(minimum, max_num_next_clicks + 1))


CandidatePicker = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


def _first_or_best(logits: torch.Tensor, scores: torch.Tensor | None) -> torch.Tensor:
    if logits.shape[1] == 1 or scores is None:
        return logits[:, :1]
    best = scores.argmax(dim=1)
    return logits[torch.arange(logits.shape[0], device=logits.device), best][:, None]


def simulate_clicks(
    model: nn.Module,
    image: torch.Tensor,
    gt: torch.Tensor,
    points: torch.Tensor,
    num_steps: int,
    rng: np.random.Generator,
    prev_mask: torch.Tensor | None = None,
    threshold: float = PRED_THRESHOLD,
    eval_mode: bool = True,
    pick_candidate: CandidatePicker = _first_or_best,
    distance: str = "chamfer",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``num_steps`` no-grad passes, each adding one error click (RITM iterative training).

    Parameters
    ----------
    model : torch.nn.Module
        A click-segmentation model: ``model(image, prev_mask, points)`` returns a
        :class:`~napari_clickseg.models.interface.ModelOutput` (or a logits tensor).
    image : torch.Tensor
        (B, 3, H, W) RGB in [0, 1].
    gt : torch.Tensor
        (B, 1, H, W) target (1, 0, -1 ignored).
    points : torch.Tensor
        (B, 2M, 3) initial clicks.
    num_steps : int
        Number of passes (0 returns the inputs).
    rng : numpy.random.Generator
        Source of randomness for the click positions.
    prev_mask : torch.Tensor, optional
        (B, 1, H, W) starting prior; zeros by default.
    threshold : float
        Probability threshold of the click simulator.
    eval_mode : bool
        Switch the model to eval mode during the passes (official), restoring its mode after.
    pick_candidate : callable
        ``(logits (B, K, H, W), scores (B, K) or None) -> (B, 1, H, W)`` chooses the candidate
        of a multi-mask model that becomes the prior; by default the only one, else the
        best-scoring one (official PiClick uses a random Hungarian-matched query instead).
    distance : {"chamfer", "exact"}
        Distance transform of the click simulator (see :func:`add_error_click`).

    Returns
    -------
    tuple of torch.Tensor
        The updated points and the last prediction's probabilities (B, 1, H, W), detached:
        the prior of the pass with gradients that follows.
    """
    if prev_mask is None:
        prev_mask = torch.zeros_like(image[:, :1])
    was_training = model.training
    try:
        if eval_mode:
            model.eval()
        with torch.no_grad():
            for _ in range(num_steps):
                output = model(image, prev_mask, points)
                logits = getattr(output, "logits", output)
                scores = getattr(output, "scores", None)
                prev_mask = torch.sigmoid(pick_candidate(logits, scores)).detach()
                points = add_error_click(points, prev_mask, gt, rng, threshold, distance)
    finally:
        model.train(was_training)
    return points, prev_mask.detach()
