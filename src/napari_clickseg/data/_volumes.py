"""Cutting 2D slices out of volumes in nibabel's array order, in one fixed orientation.

Convention (used by every volume adapter and by :mod:`napari_clickseg.data.objects3d`): for a
volume ``v`` in nibabel's (i, j, k) order and a slicing ``axis``, the slice at ``index`` is
``np.take(v, index, axis)`` with its two remaining axes *transposed*, so image rows follow the
later remaining axis and columns the earlier one. For axial BraTS slices (axis 2, data stored
L, P, S) rows run anterior to posterior and columns from the patient's right to left: the
radiological view, anterior at the top and the patient's right on the viewer's left.
"""

from __future__ import annotations

import numpy as np

from napari_clickseg.data.instances import DatasetError

__all__ = ["AXIS_LETTERS", "check_axis", "slice_areas", "slice_spacing", "take_slice", "to_stack"]

#: Letter used in object names for a slice index along each array axis (``z101``).
AXIS_LETTERS = ("x", "y", "z")


def check_axis(axis: int, what: str) -> int:
    """Validate a slicing axis of a 3D volume (0, 1 or 2)."""
    if isinstance(axis, bool) or axis not in (0, 1, 2):
        raise ValueError(
            f"{what}: axis must be 0, 1 or 2 (an array axis of the volume), got {axis!r}"
        )
    return int(axis)


def _in_plane(axis: int) -> tuple[int, int]:
    a, b = (d for d in range(3) if d != axis)
    return a, b


def take_slice(volume: np.ndarray, axis: int, index: int) -> np.ndarray:
    """One 2D slice (rows, cols[, channels]) in the module's orientation."""
    plane = np.take(volume, index, axis=axis)
    return np.swapaxes(plane, 0, 1)


def to_stack(volume: np.ndarray, axis: int) -> np.ndarray:
    """The volume as a stack (slices, rows, cols[, channels]) with ``stack[k] == take_slice(k)``."""
    a, b = _in_plane(axis)
    rest = tuple(range(3, volume.ndim))
    return np.transpose(volume, (axis, b, a, *rest))


def slice_areas(mask: np.ndarray, axis: int) -> np.ndarray:
    """Number of True voxels in each slice along ``axis``."""
    return np.count_nonzero(mask, axis=_in_plane(axis))


def slice_spacing(spacing: tuple[float, float, float], axis: int) -> tuple[float, float]:
    """(row, col) pixel size of the slices along ``axis``."""
    a, b = _in_plane(axis)
    return float(spacing[b]), float(spacing[a])


def check_shapes(
    shape_a: tuple[int, ...], shape_b: tuple[int, ...], what_a: str, what_b: str
) -> None:
    """Raise :class:`DatasetError` if two volumes differ in their first three dimensions."""
    if tuple(shape_a[:3]) != tuple(shape_b[:3]):
        raise DatasetError(
            f"{what_a} has shape {tuple(shape_a[:3])} but {what_b} has shape "
            f"{tuple(shape_b[:3])}; image and mask volumes must match voxel for voxel"
        )
