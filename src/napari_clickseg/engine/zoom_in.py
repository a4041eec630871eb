"""ZoomIn: the crop of the image the network sees, as the official predictor chooses it.

Follows ``isegm/inference/transforms/zoom_in.py`` (and the bbox helpers of
``isegm/utils/misc.py``) with the evaluation settings of SimpleClick: the whole image at the
first click, then the box of the previous mask (> 0.5) and the positive clicks expanded
1.4x about its centre (at least 200 px a side, Python's round-half-to-even), clamped to the
image, and kept until a positive click falls outside it or the new box's IoU with it drops
below 0.5.

The 200 px floor belongs to the official 448 px input: it caps the magnification at 2.24x.
For a model with another input size the floor scales with it (100 px at 224 px) unless set,
so a small model zooms in as far as the official one does; at 448 px nothing changes.

``first_view_max_side`` (off by default) is our option, not the official code's: it replaces the
whole-image first view by a window around the first click, for sections far larger than the
network input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from napari_clickseg.engine.clicks import Click

#: An ROI as inclusive (rmin, rmax, cmin, cmax) pixel bounds.
Roi = tuple[int, int, int, int]

#: The official minimum crop side and the input size it was chosen for.
OFFICIAL_MIN_CROP_SIZE = 200
OFFICIAL_TARGET_SIZE = 448


@dataclass(frozen=True)
class ZoomInSettings:
    """Parameters of the ZoomIn crop (defaults: SimpleClick evaluation).

    Attributes
    ----------
    target_size : tuple of int or None
        Network input (height, width); the crop is resized to it without keeping the
        aspect ratio. None (the default) means the model's own input size, which is 448 x 448
        for the released models (the official setting).
    expansion_ratio : float
        Factor the object's box is expanded by.
    min_crop_size : int or None
        Minimum crop side in image pixels. None (the default): the official 200 px scaled
        by the target size over 448 px (:meth:`crop_floor`), 200 px at 448 px.
    recompute_thresh_iou : float
        A new box replaces the stored one when their IoU is below this.
    prob_thresh : float
        Probability above which a pixel counts as object for the box.
    first_view_max_side : int or None
        Largest side of the view before any mask exists (the first click). None (the
        default, the official rule) shows the whole image however large; a number caps it to
        a window of at most that many pixels a side around the positive clicks, so a large
        section is not shrunk past what the network can resolve.
    """

    target_size: tuple[int, int] | None = None
    expansion_ratio: float = 1.4
    min_crop_size: int | None = None
    recompute_thresh_iou: float = 0.5
    prob_thresh: float = 0.5
    first_view_max_side: int | None = None

    def __post_init__(self) -> None:
        if self.first_view_max_side is not None and self.first_view_max_side < 16:
            raise ValueError(
                "first_view_max_side must be at least 16 pixels (or None for the whole "
                f"image), got {self.first_view_max_side}"
            )

    def crop_floor(self) -> int:
        """The minimum crop side in use: ``min_crop_size``, else the scaled official one."""
        if self.min_crop_size is not None:
            return self.min_crop_size
        if self.target_size is None:
            return OFFICIAL_MIN_CROP_SIZE
        return round(OFFICIAL_MIN_CROP_SIZE * min(self.target_size) / OFFICIAL_TARGET_SIZE)

    def for_input(self, input_size: Sequence[int]) -> ZoomInSettings:
        """These settings with every default resolved for a model of ``input_size``."""
        target = self.target_size or (int(input_size[0]), int(input_size[1]))
        resolved = replace(self, target_size=target)
        return replace(resolved, min_crop_size=resolved.crop_floor())


def bbox_from_mask(mask: np.ndarray) -> Roi:
    """Inclusive bounding box (rmin, rmax, cmin, cmax) of a non-empty boolean mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def expand_bbox(bbox: Roi, ratio: float, min_size: int) -> Roi:
    """Expand a box about its centre by ``ratio``, at least ``min_size`` a side."""
    rmin, rmax, cmin, cmax = bbox
    rcenter, ccenter = 0.5 * (rmin + rmax), 0.5 * (cmin + cmax)
    height = max(ratio * (rmax - rmin + 1), min_size)
    width = max(ratio * (cmax - cmin + 1), min_size)
    # Python's round (half to even), as the official code.
    return (
        round(rcenter - 0.5 * height),
        round(rcenter + 0.5 * height),
        round(ccenter - 0.5 * width),
        round(ccenter + 0.5 * width),
    )


def clamp_bbox(bbox: Roi, height: int, width: int) -> Roi:
    """Clamp a box to an image of ``height`` x ``width``."""
    return (max(0, bbox[0]), min(height - 1, bbox[1]), max(0, bbox[2]), min(width - 1, bbox[3]))


def _segment_iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    intersection = max(0, min(a[1], b[1]) - max(a[0], b[0]) + 1)
    union = max(1e-6, max(a[1], b[1]) - min(a[0], b[0]) + 1)
    return intersection / union


def bbox_iou(a: Roi, b: Roi) -> float:
    """IoU of two inclusive boxes, as the product of the row and column segment IoUs."""
    return _segment_iou(a[:2], b[:2]) * _segment_iou(a[2:], b[2:])


def object_roi(mask: np.ndarray, clicks: Sequence[Click], settings: ZoomInSettings) -> Roi:
    """Box of the mask plus the positive clicks' pixels, expanded and clamped."""
    return object_roi_from_box(bbox_from_mask(mask), mask.shape, clicks, settings)


def object_roi_from_box(
    box: Roi, shape: tuple[int, int], clicks: Sequence[Click], settings: ZoomInSettings
) -> Roi:
    """:func:`object_roi` from the mask's bounding box instead of the mask."""
    rmin, rmax, cmin, cmax = box
    for click in clicks:
        if click.is_positive:
            row, col = int(click.row), int(click.col)
            rmin, rmax = min(rmin, row), max(rmax, row)
            cmin, cmax = min(cmin, col), max(cmax, col)
    roi = expand_bbox((rmin, rmax, cmin, cmax), settings.expansion_ratio, settings.crop_floor())
    return clamp_bbox(roi, *shape)


def first_view(shape: tuple[int, int], clicks: Sequence[Click], max_side: int | None) -> Roi:
    """The view before any mask exists: the whole image, or a window of at most ``max_side``.

    The window is centred on the positive clicks' box and shifted (not cut) to lie inside
    the image, so it keeps ``max_side`` pixels wherever the image has them.

    Parameters
    ----------
    shape : tuple of int
        Image (height, width).
    clicks : sequence of Click
        The clicks so far; without a positive click the whole image is the view.
    max_side : int or None
        Largest side of the window; None means the whole image (the official rule).

    Returns
    -------
    tuple of int
        Inclusive (rmin, rmax, cmin, cmax).
    """
    height, width = shape
    positives = [click for click in clicks if click.is_positive]
    if max_side is None or not positives or (height <= max_side and width <= max_side):
        return 0, height - 1, 0, width - 1
    rows = [int(click.row) for click in positives]
    cols = [int(click.col) for click in positives]

    def window(low: int, high: int, size: int) -> tuple[int, int]:
        side = min(size, max(max_side, high - low + 1))
        start = (low + high + 1) // 2 - side // 2
        start = min(max(start, 0), size - side)
        return start, start + side - 1

    rmin, rmax = window(min(rows), max(rows), height)
    cmin, cmax = window(min(cols), max(cols), width)
    return rmin, rmax, cmin, cmax


def clicks_inside_roi(roi: Roi, clicks: Sequence[Click]) -> bool:
    """Whether every positive click lies in the ROI (the official half-open test)."""
    rmin, rmax, cmin, cmax = roi
    return all(
        rmin <= click.row < rmax and cmin <= click.col < cmax
        for click in clicks
        if click.is_positive
    )


def next_roi(
    current: Roi | None,
    prev_probs: np.ndarray,
    clicks: Sequence[Click],
    settings: ZoomInSettings,
) -> Roi:
    """The ROI to use for the next forward pass.

    Parameters
    ----------
    current : tuple of int or None
        The ROI in use, None before the first click.
    prev_probs : numpy.ndarray
        The previous full-resolution probability map (H, W); zeros before the first click.
    clicks : sequence of Click
        All clicks so far, in image pixels.
    settings : ZoomInSettings
        ZoomIn parameters.

    Returns
    -------
    tuple of int
        Inclusive (rmin, rmax, cmin, cmax).
    """
    mask = prev_probs > settings.prob_thresh
    box = bbox_from_mask(mask) if mask.any() else None
    return next_roi_from_box(current, box, mask.shape, clicks, settings)


def next_roi_from_box(
    current: Roi | None,
    mask_box: Roi | None,
    shape: tuple[int, int],
    clicks: Sequence[Click],
    settings: ZoomInSettings,
) -> Roi:
    """:func:`next_roi` from the bounding box of ``prev_probs > prob_thresh`` (None: empty).

    The predictor keeps its previous map compact (:class:`~napari_clickseg.engine.roi_map.
    RoiMap`) and computes only this box, so ZoomIn never needs the full-resolution map.
    """
    if mask_box is not None:
        candidate = object_roi_from_box(mask_box, shape, clicks, settings)
    else:
        candidate = first_view(shape, clicks, settings.first_view_max_side)
    if current is None or not clicks_inside_roi(current, clicks):
        return candidate
    if bbox_iou(candidate, current) < settings.recompute_thresh_iou:
        return candidate
    return current
