"""Volume-level intensity windowing of scanner intensities to uint8.

The models see 8-bit images. MRI intensities have no fixed scale, so a volume is windowed once,
with bounds computed over the whole volume (not per slice: every slice of a volume then shares one
mapping, as when a volume is exported to PNG slices). The bounds are percentiles, robust to a
few very bright voxels.

For skull-stripped MRI such as BraTS most voxels are exactly 0 (about 82-85 % in BraTS), so
percentiles over all voxels describe the background, not the brain: the BraTS adapter uses
``mask="nonzero"`` (percentiles over the brain only), which maps the brain's own 0.5-99.5 %
range to 0..255 and leaves the background at 0.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["window_bounds", "window_to_uint8"]

MaskSpec = Literal["nonzero"] | np.ndarray | None


def _selected_values(volume: np.ndarray, mask: MaskSpec) -> np.ndarray:
    if mask is None:
        values = volume.ravel()
    elif isinstance(mask, str):
        if mask != "nonzero":
            raise ValueError(f"mask must be None, 'nonzero' or a boolean array, got {mask!r}")
        values = volume[volume != 0]
    else:
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != volume.shape:
            raise ValueError(
                f"mask must be a boolean array of the volume's shape {volume.shape}, got "
                f"{mask.dtype} {mask.shape}"
            )
        values = volume[mask]
    if np.issubdtype(values.dtype, np.floating):
        values = values[np.isfinite(values)]
    return values


def window_bounds(
    volume: np.ndarray,
    percentiles: tuple[float, float] = (0.5, 99.5),
    mask: MaskSpec = None,
) -> tuple[float, float]:
    """Intensity bounds at two percentiles of a volume (or of the voxels a mask selects).

    Parameters
    ----------
    volume : numpy.ndarray
        Any shape, numeric.
    percentiles : tuple of float, optional
        (low, high) percentiles in 0..100.
    mask : None, "nonzero" or numpy.ndarray, optional
        Which voxels count: all (None), the nonzero ones (skull-stripped MRI), or a boolean
        array of the volume's shape.

    Returns
    -------
    tuple of float
        (low, high) intensities, low <= high.

    Raises
    ------
    ValueError
        If the percentiles are not 0 <= low <= high <= 100 or no (finite) voxel is selected.
    """
    lo_p, hi_p = (float(p) for p in percentiles)
    if not 0.0 <= lo_p <= hi_p <= 100.0:
        raise ValueError(f"percentiles must satisfy 0 <= low <= high <= 100, got {percentiles}")
    volume = np.asarray(volume)
    if not (np.issubdtype(volume.dtype, np.number) or volume.dtype == bool):
        raise ValueError(f"cannot window a volume of non-numeric type {volume.dtype}")
    values = _selected_values(volume, mask)
    if values.size == 0:
        if mask is None:
            what = "the volume"
        elif isinstance(mask, str):
            what = "the volume's nonzero voxels"
        else:
            what = "the voxels the mask selects"
        raise ValueError(f"cannot compute window percentiles: {what} holds no finite value")
    low, high = np.percentile(values.astype(np.float64, copy=False), [lo_p, hi_p])
    return float(low), float(high)


def window_to_uint8(
    volume: np.ndarray,
    low: float | None = None,
    high: float | None = None,
    percentiles: tuple[float, float] = (0.5, 99.5),
    mask: MaskSpec = None,
) -> np.ndarray:
    """Map intensities linearly from [low, high] to [0, 255], clip, round to uint8.

    Parameters
    ----------
    volume : numpy.ndarray
        Any shape, numeric (a 3D volume, a 2D slice).
    low, high : float, optional
        Window bounds; a bound left out is the corresponding percentile.
    percentiles : tuple of float, optional
        (low, high) percentiles used for missing bounds.
    mask : None, "nonzero" or numpy.ndarray, optional
        Voxels the percentiles are computed over (see :func:`window_bounds`); the mapping is
        applied to every voxel.

    Returns
    -------
    numpy.ndarray
        uint8 of the volume's shape. When ``low == high`` (a constant volume), voxels above the
        bound are 255 and the rest 0. NaN becomes 0.

    Raises
    ------
    ValueError
        If ``low > high``, or as :func:`window_bounds`.
    """
    volume = np.asarray(volume)
    if low is None or high is None:
        p_low, p_high = window_bounds(volume, percentiles, mask)
        low = p_low if low is None else low
        high = p_high if high is None else high
    low, high = float(low), float(high)
    if low > high:
        raise ValueError(f"window low ({low}) is above high ({high}); expected low <= high")
    values = volume.astype(np.float32, copy=False)
    if high == low:
        return np.where(values > high, 255, 0).astype(np.uint8)
    scaled = (values - np.float32(low)) * np.float32(255.0 / (high - low))
    scaled = np.nan_to_num(scaled, nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
