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
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import distance_transform_edt

from napari_clickseg.engine.clicks import Click

IGNORE_LABEL = -1


def _padded_distance(mask: np.ndarray) -> np.ndarray:
    padded = np.pad(mask, 1, mode="constant")
    distance = distance_transform_edt(padded).astype(np.float32)
    return distance[1:-1, 1:-1]


def next_click(gt: np.ndarray, pred: np.ndarray, not_clicked: np.ndarray | None = None) -> Click:
    """The official next simulated click.

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
    gt = np.asarray(gt)
    pred = np.asarray(pred, dtype=bool)
    if gt.shape != pred.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from ground truth {gt.shape}")
    obj = gt == 1
    valid = gt != IGNORE_LABEL
    fn_dist = _padded_distance(obj & ~pred & valid)
    fp_dist = _padded_distance(~obj & pred & valid)
    if not_clicked is not None:
        fn_dist = fn_dist * not_clicked
        fp_dist = fp_dist * not_clicked
    fn_max, fp_max = fn_dist.max(), fp_dist.max()
    is_positive = bool(fn_max > fp_max)
    distance, best = (fn_dist, fn_max) if is_positive else (fp_dist, fp_max)
    rows, cols = np.nonzero(distance == best)
    return Click(float(rows[0]), float(cols[0]), is_positive)


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
