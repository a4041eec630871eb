"""Full-image maps kept at the network's resolution, and bilinear resampling evaluated pointwise.

The predictor's output for one click is a (h, w) map at the network's input size, resized
(bilinear, ``align_corners=True``) to the ZoomIn ROI and pasted into a zero canvas of the image's
size. On an 8000 x 8000 slice that canvas is 256 MB of float32, although it holds nothing but
the small map. :class:`RoiMap` keeps the small map and the ROI instead and computes the canvas's
values only where they are asked for: a crop for the next click, the bounding box of the pixels
above a threshold for ZoomIn, the boolean mask within that box.

:func:`bilinear_at` reproduces PyTorch's CPU kernel of ``F.interpolate(mode="bilinear",
align_corners=True)``: the same float32 source coordinates and weights, and the same operation
order (``fma(x0, w0, x1 * w1)`` along the width, then along the height). On x86-64 builds of
PyTorch, whose kernel is compiled with fused multiply-adds, the values are bitwise identical
(tests/engine/test_roi_map.py checks this on random sizes); elsewhere they may differ in the last
bit (about 6e-8).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from napari_clickseg.engine.zoom_in import Roi

__all__ = ["RoiMap", "bilinear_at", "linear_weights", "resize_at"]

#: Rows evaluated at a time when a map is materialised (bounds the float64 temporaries).
_ROW_BLOCK = 256


def linear_weights(size_in: int, size_out: int) -> tuple[np.ndarray, ...]:
    """Source indices and weights of a linear resize with ``align_corners=True``.

    Parameters
    ----------
    size_in, size_out : int
        Input and output lengths along one axis.

    Returns
    -------
    tuple of numpy.ndarray
        ``(i0, i1, w0, w1)``: for each output index the two source indices (int64) and their
        float32 weights, computed as PyTorch's ``compute_indices_weights_linear``.
    """
    # torch: (in - 1) / (out - 1) in float32, 0 for a single output
    one = size_out > 1
    scale = np.float32(size_in - 1) / np.float32(size_out - 1) if one else np.float32(0.0)
    source = scale * np.arange(size_out, dtype=np.float32)
    i0 = np.minimum(np.floor(source).astype(np.int64), size_in - 1)
    lam = np.clip(source - i0.astype(np.float32), 0.0, 1.0).astype(np.float32)
    i1 = np.where(i0 < size_in - 1, i0 + 1, i0)
    return i0, i1, (np.float32(1.0) - lam).astype(np.float32), lam


def _fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """float32 ``a * b + c`` with one rounding (the product of two float32 is exact in float64)."""
    return (a.astype(np.float64) * b + c).astype(np.float32)


def bilinear_at(
    source: np.ndarray,
    rows: tuple[np.ndarray, ...],
    cols: tuple[np.ndarray, ...],
) -> np.ndarray:
    """Bilinear interpolation of ``source`` at given index/weight pairs.

    Parameters
    ----------
    source : numpy.ndarray
        (C, h, w) float32.
    rows, cols : tuple of numpy.ndarray
        ``(i0, i1, w0, w1)`` as :func:`linear_weights` returns them (possibly a subset).

    Returns
    -------
    numpy.ndarray
        (C, len(rows[0]), len(cols[0])) float32.
    """
    r0, r1, a0, a1 = rows
    c0, c1, b0, b1 = cols
    top, bottom = source[:, r0], source[:, r1]
    t0 = _fma(top[:, :, c0], b0, top[:, :, c1] * b1)
    t1 = _fma(bottom[:, :, c0], b0, bottom[:, :, c1] * b1)
    return _fma(t0, a0[:, None], t1 * a1[:, None])


def resize_at(
    read: Callable[[np.ndarray, np.ndarray], np.ndarray],
    size_in: tuple[int, int],
    size_out: tuple[int, int],
) -> np.ndarray:
    """Bilinear resize (``align_corners=True``) that reads only the source pixels it needs.

    A resize from (H, W) to (h, w) uses at most 2h rows and 2w columns of the source, so a
    huge crop resized to the network's input costs O(h w), not O(H W).

    Parameters
    ----------
    read : callable
        ``read(rows, cols)`` -> (C, len(rows), len(cols)) float32 source values at those
        (sorted, unique) indices.
    size_in, size_out : tuple of int
        (H, W) of the source and (h, w) of the result.

    Returns
    -------
    numpy.ndarray
        (C, h, w) float32, as ``F.interpolate`` of the whole source would give it.
    """
    rows = linear_weights(size_in[0], size_out[0])
    cols = linear_weights(size_in[1], size_out[1])
    row_ids = np.unique(np.concatenate(rows[:2]))
    col_ids = np.unique(np.concatenate(cols[:2]))
    block = read(row_ids, col_ids)
    local_rows = (*(np.searchsorted(row_ids, i) for i in rows[:2]), *rows[2:])
    local_cols = (*(np.searchsorted(col_ids, i) for i in cols[:2]), *cols[2:])
    return bilinear_at(block, local_rows, local_cols)


@dataclass(frozen=True)
class RoiMap:
    """An (H, W) map that is zero outside an ROI and a resized small map inside it.

    Attributes
    ----------
    shape : tuple of int
        (H, W) of the full map (the image).
    roi : tuple of int or None
        Inclusive (rmin, rmax, cmin, cmax); None: the map is zero everywhere.
    low : numpy.ndarray
        (h, w) float32 (read-only) whose bilinear resize to the ROI's size is the map inside
        the ROI. A map stored at full resolution has ``low`` of the ROI's size (the identity
        resize).
    """

    shape: tuple[int, int]
    roi: Roi | None
    low: np.ndarray

    @classmethod
    def zeros(cls, shape: tuple[int, int]) -> RoiMap:
        """The zero map of an image of ``shape``."""
        return cls(tuple(shape), None, _frozen(np.zeros((0, 0), np.float32)))

    @classmethod
    def from_dense(cls, values: np.ndarray) -> RoiMap:
        """A map from a full (H, W) array (bool or numbers), kept as the box of its nonzeros."""
        values = np.asarray(values)
        rows = np.flatnonzero(values.any(axis=1))
        if rows.size == 0:
            return cls.zeros(values.shape)
        cols = np.flatnonzero(values[rows[0] : rows[-1] + 1].any(axis=0))
        roi = (int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1]))
        crop = values[roi[0] : roi[1] + 1, roi[2] : roi[3] + 1]
        return cls(tuple(values.shape), roi, _frozen(np.array(crop, dtype=np.float32)))

    @classmethod
    def pasted(cls, shape: tuple[int, int], roi: Roi, low: np.ndarray) -> RoiMap:
        """The map of ``low`` resized into ``roi`` of a zero canvas (the predictor's paste)."""
        return cls(tuple(shape), tuple(int(v) for v in roi), _frozen(np.array(low, np.float32)))

    @property
    def nbytes(self) -> int:
        """Bytes held (the small map)."""
        return int(self.low.nbytes)

    def values(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The map at the grid ``rows`` x ``cols`` of full-image indices.

        Parameters
        ----------
        rows, cols : numpy.ndarray
            Increasing int indices into the full map.

        Returns
        -------
        numpy.ndarray
            (len(rows), len(cols)) float32.
        """
        rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
        out = np.zeros((rows.size, cols.size), np.float32)
        if self.roi is None or rows.size == 0 or cols.size == 0:
            return out
        rmin, rmax, cmin, cmax = self.roi
        row_in = (rows >= rmin) & (rows <= rmax)
        col_in = (cols >= cmin) & (cols <= cmax)
        if not row_in.any() or not col_in.any():
            return out
        row_weights = self._weights(0)
        col_weights = self._weights(1)
        local_rows = tuple(v[rows[row_in] - rmin] for v in row_weights)
        local_cols = tuple(v[cols[col_in] - cmin] for v in col_weights)
        inside = bilinear_at(self.low[None], local_rows, local_cols)[0]
        out[np.ix_(row_in, col_in)] = inside
        return out

    def crop(self, roi: Roi) -> np.ndarray:
        """The map inside an inclusive box (rmin, rmax, cmin, cmax)."""
        rmin, rmax, cmin, cmax = roi
        return self.values(np.arange(rmin, rmax + 1), np.arange(cmin, cmax + 1))

    def dense(self) -> np.ndarray:
        """The whole (H, W) float32 map (allocates H x W x 4 bytes).

        Made as the predictor used to paste it, with ``F.interpolate`` on the CPU: the
        official values on every platform, and fast.
        """
        out = np.zeros(self.shape, np.float32)
        if self.roi is not None:
            rmin, rmax, cmin, cmax = self.roi
            low = torch.from_numpy(np.array(self.low))[None, None]
            size = (rmax - rmin + 1, cmax - cmin + 1)
            resized = F.interpolate(low, size=size, mode="bilinear", align_corners=True)
            out[rmin : rmax + 1, cmin : cmax + 1] = resized[0, 0].numpy()
        return out

    def above(self, threshold: float) -> np.ndarray:
        """Boolean (H, W) mask ``map > threshold``, evaluated only inside its bounding box."""
        out = np.zeros(self.shape, bool)
        box = self.bbox_above(threshold)
        if box is not None:
            rmin, rmax, cmin, cmax = box
            cols = np.arange(cmin, cmax + 1)
            for start in range(rmin, rmax + 1, _ROW_BLOCK):
                rows = np.arange(start, min(start + _ROW_BLOCK, rmax + 1))
                out[rows[0] : rows[-1] + 1, cmin : cmax + 1] = self.values(rows, cols) > threshold
        return out

    def bbox_above(self, threshold: float) -> Roi | None:
        """Inclusive bounding box of the pixels above ``threshold``; None if there are none.

        Exact, at a cost that follows the box's border rather than the map's area: a resized
        pixel is a convex combination of its four sources, so only rows (columns) whose sources
        reach the threshold can hold one, and the scan stops at the first row (column) from
        each side that does.
        """
        if self.roi is None or self.low.size == 0:
            return None
        rmin, _, cmin, _ = self.roi
        # Convex combinations stay below max(sources); the margin covers the rounding.
        reach = threshold - 1e-5 * max(1.0, abs(threshold))
        hot = self.low > reach
        if not hot.any():
            return None
        row_weights, col_weights = self._weights(0), self._weights(1)
        rows = _candidates(hot.any(axis=1), row_weights) + rmin
        cols = _candidates(hot.any(axis=0), col_weights) + cmin

        def row_hits(chosen: np.ndarray) -> np.ndarray:
            return (self.values(chosen, cols) > threshold).any(axis=1)

        first_row = _first_hit(rows, row_hits)
        if first_row is None:
            return None
        last_row = _first_hit(rows[::-1], row_hits)
        rows = rows[(rows >= first_row) & (rows <= last_row)]

        def col_hits(chosen: np.ndarray) -> np.ndarray:
            return (self.values(rows, chosen) > threshold).any(axis=0)

        first_col = _first_hit(cols, col_hits)
        last_col = _first_hit(cols[::-1], col_hits)
        return int(first_row), int(last_row), int(first_col), int(last_col)

    def _weights(self, axis: int) -> tuple[np.ndarray, ...]:
        rmin, rmax, cmin, cmax = self.roi
        size_out = rmax - rmin + 1 if axis == 0 else cmax - cmin + 1
        return linear_weights(self.low.shape[axis], size_out)


def _candidates(hot_sources: np.ndarray, weights: tuple[np.ndarray, ...]) -> np.ndarray:
    """Output indices (relative to the ROI) one of whose two sources is hot."""
    i0, i1 = weights[0], weights[1]
    return np.flatnonzero(hot_sources[i0] | hot_sources[i1])


def _first_hit(
    indices: np.ndarray, hits: Callable[[np.ndarray], np.ndarray], block: int = 32
) -> int | None:
    """The first of ``indices`` (in their order) for which ``hits`` is true, scanning in blocks."""
    for start in range(0, indices.size, block):
        chosen = indices[start : start + block]
        ordered = np.sort(chosen)
        found = hits(ordered)
        if found.any():
            hit_set = set(ordered[found].tolist())
            return next(int(i) for i in chosen if int(i) in hit_set)
    return None


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
