"""The simulated user of the evaluation protocol: the official next-click rule.

Follows ``isegm/inference/clicker.py`` (RITM, used unchanged by SimpleClick, CFR-ICL,
iCMFormer and PiClick):

- false negatives ``gt & ~pred`` and false positives ``~gt & pred``, ignore pixels (-1) left out;
- each map zero-padded by one pixel (the image border counts as boundary), the exact Euclidean
  distance transform, the padding cropped off; OpenCV returns float32 distances, so ours are
  rounded to float32 too (equal distances tie exactly as in the official code);
- pixels already clicked set to 0;
- a positive click only if the false-negative maximum is strictly larger (a tie is negative);
- the first pixel with the maximum in row-major order.

When nothing is wrong any more (both maxima 0) the official rule still returns a click: a
negative one at the first pixel whose false-positive distance is 0 (usually (0, 0)). We do the
same, so NoC curves stay identical.

The distance transforms are computed on the error pixels' bounding box only (exactly the same
values, see :func:`next_click`), so a click's cost follows the size of the errors, not of the
image; :func:`next_click_full_image` is the literal full-image rule, kept as the reference.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import distance_transform_edt

from napari_clickseg.engine.clicks import Click

IGNORE_LABEL = -1


def _padded_distance(mask: np.ndarray) -> np.ndarray:
    """The official distance map: exact EDT of ``mask`` zero-padded by one pixel, float32."""
    padded = np.pad(mask, 1, mode="constant")
    distance = distance_transform_edt(padded).astype(np.float32)
    return distance[1:-1, 1:-1]


def _error_box(*masks: np.ndarray) -> tuple[slice, slice] | None:
    """The bounding box of every True pixel of ``masks``, or None if all are empty."""
    rows = np.zeros(masks[0].shape[0], bool)
    cols = np.zeros(masks[0].shape[1], bool)
    for mask in masks:
        rows |= mask.any(axis=1)
        cols |= mask.any(axis=0)
    if not rows.any():
        return None
    (r0, r1), (c0, c1) = np.flatnonzero(rows)[[0, -1]], np.flatnonzero(cols)[[0, -1]]
    return slice(int(r0), int(r1) + 1), slice(int(c0), int(c1) + 1)


def _error_maps(gt: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False negatives and false positives, ignore pixels left out."""
    gt = np.asarray(gt)
    pred = np.asarray(pred, dtype=bool)
    if gt.shape != pred.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from ground truth {gt.shape}")
    obj = gt == 1
    valid = gt != IGNORE_LABEL
    return obj & ~pred & valid, ~obj & pred & valid


def _pick(
    false_negative: np.ndarray, false_positive: np.ndarray, not_clicked: np.ndarray | None
) -> tuple[int, int, bool, bool]:
    """The official choice on these maps: (row, col, is_positive, anything_left_to_click)."""
    fn_dist = _padded_distance(false_negative)
    fp_dist = _padded_distance(false_positive)
    if not_clicked is not None:
        fn_dist = fn_dist * not_clicked
        fp_dist = fp_dist * not_clicked
    fn_max, fp_max = fn_dist.max(), fp_dist.max()
    is_positive = bool(fn_max > fp_max)
    distance, best = (fn_dist, fn_max) if is_positive else (fp_dist, fp_max)
    rows, cols = np.nonzero(distance == best)
    return int(rows[0]), int(cols[0]), is_positive, bool(best > 0)


def next_click(gt: np.ndarray, pred: np.ndarray, not_clicked: np.ndarray | None = None) -> Click:
    """The official next simulated click.

    The distance transforms run only on the bounding box of the error pixels, zero-padded by
    one pixel. That is exactly the official full-image map: every pixel outside the box is
    zero in it, and for a pixel inside, a zero pixel beyond the padded box is never nearer than
    the padding ring's pixel between them. Row-major order inside the box is the image's, so
    ties resolve as in the official code.

    Parameters
    ----------
    gt : numpy.ndarray
        (H, W) ground truth: 1 object, 0 background, -1 ignore.
    pred : numpy.ndarray
        (H, W) boolean current prediction (all False before the first click).
    not_clicked : numpy.ndarray, optional
        (H, W) boolean, False at pixels already clicked.

    Returns
    -------
    Click
        Integer pixel position; positive for a missed object pixel.
    """
    false_negative, false_positive = _error_maps(gt, pred)
    box = _error_box(false_negative, false_positive)
    if box is None:
        return Click(0.0, 0.0, False)  # nothing wrong: the official rule's negative at (0, 0)
    local_not_clicked = None if not_clicked is None else not_clicked[box]
    row, col, is_positive, found = _pick(
        false_negative[box], false_positive[box], local_not_clicked
    )
    if not found:
        # every error pixel was clicked already: the official map is 0 everywhere, so (0, 0)
        return Click(0.0, 0.0, False)
    return Click(float(row + box[0].start), float(col + box[1].start), is_positive)


def next_click_full_image(
    gt: np.ndarray, pred: np.ndarray, not_clicked: np.ndarray | None = None
) -> Click:
    """The official rule computed literally on the whole image (reference for tests, benchmarks).

    Same parameters and result as :func:`next_click`, at the cost of two full-image distance
    transforms per click.
    """
    row, col, is_positive, _ = _pick(*_error_maps(gt, pred), not_clicked)
    return Click(float(row), float(col), is_positive)


class Clicker:
    """Makes the official sequence of simulated clicks for one ground-truth object.

    Parameters
    ----------
    gt : numpy.ndarray
        (H, W) ground truth: 1 object, 0 background, -1 ignore.
    """

    def __init__(self, gt: np.ndarray) -> None:
        self.gt = np.asarray(gt)
        if self.gt.ndim != 2:
            raise ValueError(f"ground truth must be 2D (H, W), got shape {self.gt.shape}")
        self.not_clicked = np.ones(self.gt.shape, dtype=bool)
        self.clicks: list[Click] = []

    def make_next_click(self, pred: np.ndarray) -> Click:
        """Add and return the next click for the current prediction."""
        click = next_click(self.gt, pred, self.not_clicked)
        self.add_click(click)
        return click

    def add_click(self, click: Click) -> None:
        """Record a click (also one made by hand) and mark its pixel as clicked."""
        self.clicks.append(click)
        self.not_clicked[int(click.row), int(click.col)] = False
