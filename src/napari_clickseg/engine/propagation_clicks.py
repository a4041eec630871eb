"""Clicks derived from a mask, to seed the prediction of the next slice during propagation.

Positions are (row, col) pixels of the mask. Both rules look at the mask's distance transform
(each pixel's distance to the nearest background pixel, the image border counting as
background, as in the evaluation's next-click rule): points far from the boundary are the ones
most likely to stay inside the object on the neighbouring slice, where the object has moved
or shrunk a little.

- :func:`interior_maximum`: one click at the distance-transform maximum (the centre of the
  largest inscribed disk; the first such pixel in row-major order);
- :func:`interior_points`: that click, then repeatedly the deepest pixel outside the inscribed
  disks already taken, while it is at least ``min_depth_ratio`` as deep as the first one. A
  thick blob gives one click, an elongated or several-piece mask one per thick part;
- :func:`ring_points`: negative clicks spread evenly (farthest-point order) over a ring around
  the mask, ``margin`` pixels outside it: background the object is not expected to reach on
  the next slice. Useful for predictors that need background seeds (the random walker).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import distance_transform_edt

from napari_clickseg.engine.clicks import Click

__all__ = ["interior_maximum", "interior_points", "mask_depth", "ring_margin", "ring_points"]


def mask_depth(mask: np.ndarray) -> np.ndarray:
    """Distance of each mask pixel to the nearest background pixel or to the image border.

    Parameters
    ----------
    mask : numpy.ndarray
        (H, W) boolean mask.

    Returns
    -------
    numpy.ndarray
        float32 (H, W); 0 outside the mask, 1 on its boundary pixels.
    """
    mask = _check_mask(mask)
    padded = np.pad(mask, 1, mode="constant")
    return distance_transform_edt(padded).astype(np.float32)[1:-1, 1:-1]


def interior_maximum(mask: np.ndarray) -> Click:
    """One positive click at the deepest pixel of the mask.

    Parameters
    ----------
    mask : numpy.ndarray
        (H, W) boolean, not empty.

    Returns
    -------
    Click
        Positive click at the distance-transform maximum (first in row-major order).
    """
    crop, (top, left) = _around(_check_mask(mask), 0)
    depth = mask_depth(crop)
    row, col = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return Click(float(row + top), float(col + left), True)


def interior_points(
    mask: np.ndarray, max_points: int = 5, min_depth_ratio: float = 0.5
) -> list[Click]:
    """Several positive clicks spread over the thick parts of the mask.

    Parameters
    ----------
    mask : numpy.ndarray
        (H, W) boolean, not empty.
    max_points : int, optional
        At most this many clicks.
    min_depth_ratio : float, optional
        A further click needs a depth of at least this fraction of the deepest pixel's depth.

    Returns
    -------
    list of Click
        The first is :func:`interior_maximum`'s click; no click lies inside the inscribed disk
        of an earlier one.
    """
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, got {max_points}")
    if not 0.0 <= min_depth_ratio <= 1.0:
        raise ValueError(f"min_depth_ratio must lie in [0, 1], got {min_depth_ratio}")
    crop, (top, left) = _around(_check_mask(mask), 0)
    depth = mask_depth(crop)
    available = depth.copy()
    rows, cols = np.ogrid[: depth.shape[0], : depth.shape[1]]
    clicks: list[Click] = []
    deepest = float(depth.max())
    while len(clicks) < max_points:
        index = int(np.argmax(available))
        value = float(available.flat[index])
        if value <= 0 or (clicks and value < min_depth_ratio * deepest):
            break
        row, col = np.unravel_index(index, depth.shape)
        clicks.append(Click(float(row + top), float(col + left), True))
        available[(rows - row) ** 2 + (cols - col) ** 2 < value**2] = 0
    return clicks


def ring_margin(mask: np.ndarray, ratio: float) -> float:
    """``ratio`` times the mask's equivalent radius sqrt(area / pi), at least 2 pixels."""
    area = np.count_nonzero(_check_mask(mask))
    return max(2.0, ratio * float(np.sqrt(area / np.pi)))


def ring_points(mask: np.ndarray, count: int, margin: float) -> list[Click]:
    """Negative clicks on the ring ``margin`` pixels outside the mask.

    Parameters
    ----------
    mask : numpy.ndarray
        (H, W) boolean, not empty.
    count : int
        At most this many clicks (fewer when the ring has fewer pixels, none when the ring
        lies outside the image).
    margin : float
        Distance in pixels from the mask to the ring (the ring is the pixels whose distance
        to the mask lies in [margin, margin + 1)).

    Returns
    -------
    list of Click
        Negative clicks in farthest-point order, the first at the ring's first pixel in
        row-major order.
    """
    mask = _check_mask(mask)
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if margin <= 0:
        raise ValueError(f"margin must be positive, got {margin}")
    crop, (top, left) = _around(mask, int(np.ceil(margin)) + 2)
    outside = distance_transform_edt(~crop)
    rows, cols = np.nonzero((outside >= margin) & (outside < margin + 1))
    rows, cols = rows + top, cols + left
    if count == 0 or rows.size == 0:
        return []
    points = np.stack([rows, cols], axis=1).astype(np.float64)
    chosen = [0]
    nearest = np.sum((points - points[0]) ** 2, axis=1)
    while len(chosen) < min(count, len(points)):
        index = int(np.argmax(nearest))
        chosen.append(index)
        nearest = np.minimum(nearest, np.sum((points - points[index]) ** 2, axis=1))
    return [Click(float(points[i, 0]), float(points[i, 1]), False) for i in chosen]


def _around(mask: np.ndarray, pad: int) -> tuple[np.ndarray, tuple[int, int]]:
    """The mask's bounding box grown by ``pad`` (clamped to the image) and its corner.

    The distance transforms above give the same values on this crop as on the whole slice
    (every pixel they look for lies inside it), at a cost that follows the object, not the
    slice: propagation through 8000 x 8000 sections stays cheap.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))
    top, left = max(0, int(rows[0]) - pad), max(0, int(cols[0]) - pad)
    bottom = min(mask.shape[0], int(rows[-1]) + pad + 1)
    right = min(mask.shape[1], int(cols[-1]) + pad + 1)
    return mask[top:bottom, left:right], (top, left)


def _check_mask(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"expected a 2D (H, W) mask, got shape {mask.shape}")
    mask = mask.astype(bool, copy=False)
    if not mask.any():
        raise ValueError("cannot derive clicks from an empty mask")
    return mask
