"""Label volumes in files: telling them from images, and the integer type they are saved in.

The rule for "is this file a label image?" (used by every reader, see ``docs/files.md``):

1. a file that says so (a NIfTI ``intent_code`` of ``label``, or a TIFF written by this package
   as labels) is labels if its values are whole numbers;
2. otherwise a file or folder whose *name* contains ``seg``, ``label`` or ``mask``
   (case-insensitive, e.g. ``case_seg.nii.gz``, ``labels.tif``, ``aseg.nii``) is labels if all its
   values are whole numbers (a float-typed mask of 0.0 / 1.0 counts, a probability map does not);
3. otherwise a file stored with an integer type is labels if it has at most
   :data:`MAX_UNNAMED_LABELS` distinct values (a binary or few-class mask; an MRI, CT or EM image
   has hundreds or thousands) *and*, with three values or more, those values form regions rather
   than speckle: over a few 2D planes the pixels of each nonzero value make 4-connected pieces of
   at least :data:`MIN_PIXELS_PER_PIECE` pixels on average. An intensity image quantised to a few
   grey levels (a uint16 EM or MRI image with 16 levels) breaks into pieces of a few pixels (noise
   moves pixels between neighbouring levels: 2-10 pixels per piece measured on ISBI EM and BraTS
   MRI at 16 levels), label images do not (50 on a BraTS segmentation, about 1500 on ISBI cells).
   Data too small to judge (1D, or planes under 16 x 16 pixels) is labels by the count alone;
4. everything else is an image.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = [
    "LABEL_NAME_PATTERN",
    "MAX_UNNAMED_LABELS",
    "MIN_PIXELS_PER_PIECE",
    "has_whole_values",
    "label_dtype",
    "looks_like_labels",
    "to_label_array",
]

#: Names (file or folder) that mark label images.
LABEL_NAME_PATTERN = re.compile(r"seg|label|mask", re.IGNORECASE)
#: Most distinct values an integer image without a label name may have to be read as labels.
MAX_UNNAMED_LABELS = 32
#: Least mean size (pixels) of the 4-connected pieces of one value in a plane for unnamed integer
#: data with three values or more to be labels (rule 3 of the module docstring).
MIN_PIXELS_PER_PIECE = 20
#: Planes (2D slices over the last two axes) and plane side looked at for rule 3.
_PLANES = 8
_PLANE_SIDE = 512
_MIN_PLANE_SIDE = 16
#: Elements looked at first, so that large images are dismissed without a full scan.
_SAMPLE = 65536


def has_whole_values(data: np.ndarray) -> bool:
    """Whether every value is a finite whole number (always true for integer and bool types)."""
    data = np.asarray(data)
    if data.dtype == bool or np.issubdtype(data.dtype, np.integer):
        return True
    if not np.issubdtype(data.dtype, np.floating):
        return False
    return bool(np.all(np.isfinite(data)) and np.all(data == np.round(data)))


def _few_values(data: np.ndarray, limit: int) -> bool:
    flat = data.reshape(-1)
    step = max(1, flat.size // _SAMPLE)
    if np.unique(flat[::step]).size > limit:
        return False
    return np.unique(flat).size <= limit


def _forms_regions(data: np.ndarray) -> bool:
    """Whether the nonzero values form regions (labels), not speckle (quantised intensities).

    Looks at up to :data:`_PLANES` evenly spaced planes over the last two axes (each cropped to
    its central :data:`_PLANE_SIDE` square); True when the data is too small to judge.
    """
    from scipy import ndimage

    if data.ndim < 2 or min(data.shape[-2:]) < _MIN_PLANE_SIDE:
        return True
    planes = data.reshape(-1, *data.shape[-2:])
    step = max(1, -(-planes.shape[0] // _PLANES))
    pixels = pieces = 0
    for plane in planes[::step]:
        rows, cols = (max(0, (n - _PLANE_SIDE) // 2) for n in plane.shape)
        plane = plane[rows : rows + _PLANE_SIDE, cols : cols + _PLANE_SIDE]
        for value in np.unique(plane):
            if value == 0:
                continue
            mask = plane == value
            pixels += int(np.count_nonzero(mask))
            pieces += ndimage.label(mask)[1]  # 4-connected (the default cross)
    return pieces == 0 or pixels / pieces >= MIN_PIXELS_PER_PIECE


def looks_like_labels(data: np.ndarray, name: str, declared: bool = False) -> bool:
    """Apply the module's rule: should these values open as a napari Labels layer?

    Parameters
    ----------
    data : numpy.ndarray
        The values as read (after any scaling the file asks for).
    name : str
        File or folder name (only its text is looked at).
    declared : bool, optional
        True when the file itself says it holds labels (rule 1).

    Returns
    -------
    bool
        True for labels, False for an image.
    """
    data = np.asarray(data)
    if data.size == 0 or data.dtype == bool:
        return data.dtype == bool
    if declared or LABEL_NAME_PATTERN.search(name):
        return has_whole_values(data)
    if np.issubdtype(data.dtype, np.integer):
        if not _few_values(data, MAX_UNNAMED_LABELS):
            return False
        return _few_values(data, 2) or _forms_regions(data)
    return False


def label_dtype(labels: np.ndarray) -> np.dtype:
    """The smallest of uint8, uint16 and int32 that holds every label value.

    Parameters
    ----------
    labels : numpy.ndarray
        Whole-number label values (any integer or bool type, or floats holding whole numbers).

    Returns
    -------
    numpy.dtype
        uint8 for 0..255, uint16 for 0..65535, int32 otherwise (negative values included).

    Raises
    ------
    ValueError
        If a value is not a whole number or lies outside the int32 range.
    """
    labels = np.asarray(labels)
    if not has_whole_values(labels):
        raise ValueError(
            f"labels must be whole numbers, got {labels.dtype} values that are not (fractions, "
            "NaN or infinity); round or threshold them first"
        )
    if labels.size == 0:
        return np.dtype(np.uint8)
    low, high = labels.min(), labels.max()
    if low >= 0 and high <= np.iinfo(np.uint8).max:
        return np.dtype(np.uint8)
    if low >= 0 and high <= np.iinfo(np.uint16).max:
        return np.dtype(np.uint16)
    info = np.iinfo(np.int32)
    if low >= info.min and high <= info.max:
        return np.dtype(np.int32)
    raise ValueError(
        f"label values {low}..{high} do not fit in int32 ({info.min}..{info.max}); NIfTI and "
        "TIFF label files here hold at most int32 values, renumber the labels first"
    )


def to_label_array(labels: np.ndarray) -> np.ndarray:
    """The labels converted to :func:`label_dtype` (values unchanged)."""
    labels = np.asarray(labels)
    return labels.astype(label_dtype(labels), copy=False)
