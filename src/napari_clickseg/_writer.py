"""napari writers (npe2 ``writers`` contributions): one Labels layer to NIfTI or to TIFF.

Both save safely (temporary file in the target's folder, then an atomic rename; see
:mod:`napari_clickseg.io.atomic`), store the labels in the smallest of uint8, uint16 and int32
that holds them, and return the list of written paths. See ``docs/files.md``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from napari_clickseg._reader import NIFTI_METADATA_KEY
from napari_clickseg.io.images import write_tiff_labels
from napari_clickseg.io.nifti import geometry_header, spacing_affine, write_nifti_labels

__all__ = ["write_labels_nifti", "write_labels_tiff"]


def _full_resolution(data: Any, meta: Mapping[str, Any]) -> np.ndarray:
    if meta.get("multiscale") or isinstance(data, list | tuple):
        data = data[0]  # level 0 of a multiscale layer is the full resolution
    return np.asarray(data)


def _source_geometry(labels: np.ndarray, meta: Mapping[str, Any]) -> dict[str, Any] | None:
    """The NIfTI geometry the reader stored, if it fits these labels; else None (with a warning)."""
    geometry = (meta.get("metadata") or {}).get(NIFTI_METADATA_KEY)
    if not isinstance(geometry, Mapping):
        name = f" {meta['name']!r}" if meta.get("name") else ""
        scale = tuple(float(v) for v in meta.get("scale") or (1.0,) * labels.ndim)
        translate = tuple(float(v) for v in meta.get("translate") or (0.0,) * labels.ndim)
        warnings.warn(
            f"the labels layer{name} carries no NIfTI geometry of a source scan "
            f"(metadata[{NIFTI_METADATA_KEY!r}]); saving with a diagonal affine from the "
            f"layer's scale {scale} and translate {translate}, which may be mirrored or shifted "
            "against the scan it was drawn on. Labels made by the annotation dock, or opened "
            "from NIfTI by this plugin, carry the scan's geometry",
            UserWarning,
            stacklevel=3,
        )
        return None
    file_shape = tuple(geometry.get("shape", ()))
    if geometry.get("axes") != "reversed" or labels.shape[::-1] != file_shape:
        warnings.warn(
            f"labels of shape {labels.shape} do not fit the NIfTI geometry in the layer metadata "
            f"(source {geometry.get('source')}, file shape {file_shape}, shown reversed); saving "
            "with the layer's scale as voxel spacing instead of the source affine",
            UserWarning,
            stacklevel=3,
        )
        return None
    return dict(geometry)


def write_labels_nifti(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """Save one Labels layer as NIfTI (``.nii.gz`` or ``.nii``).

    When the layer's ``metadata["nifti"]`` holds the geometry the reader stored (an image or
    labels layer opened from NIfTI, or a layer given that image's metadata) and the shapes fit,
    the file gets that affine and header: same grid, pixdim, units, qform/sform and codes as the
    source; only data type, scaling (1, 0), display range and intent (``label``) differ.
    Otherwise the geometry comes from the layer: its ``scale`` is the voxel spacing and its
    ``translate`` the origin of a diagonal affine (napari's ``rotate``, ``shear`` and ``affine``
    are not written), always with a warning: no geometry stored, or one that did not fit. In
    both cases the layer's axes are written reversed, as the reader shows them.

    Parameters
    ----------
    path : str
        Target file (napari adds ``.nii.gz`` when the name has no ending).
    data : array-like or list of array-like
        The labels (a multiscale layer saves its full-resolution level).
    meta : dict
        The layer's attributes (``scale``, ``translate``, ``metadata``, ...).

    Returns
    -------
    list of str
        ``[path]``.
    """
    labels = _full_resolution(data, meta)
    geometry = _source_geometry(labels, meta)
    file_labels = np.transpose(labels)
    if geometry is not None:
        header = geometry_header(geometry)
        affine = np.asarray(geometry["affine"], dtype=np.float64)
    else:
        header = None
        scale = tuple(meta.get("scale") or (1.0,) * labels.ndim)[::-1]
        translate = tuple(meta.get("translate") or (0.0,) * labels.ndim)[::-1]
        affine = spacing_affine(scale, translate)
    return [str(write_nifti_labels(path, file_labels, affine, header))]


def write_labels_tiff(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """Save one 2D or 3D Labels layer as a zlib-compressed TIFF (``.tif`` or ``.tiff``).

    The layer's ``scale`` is kept in the file's JSON description and restored by the reader;
    axes are written as the layer has them (no reversal).

    Parameters
    ----------
    path : str
        Target file.
    data : array-like or list of array-like
        The labels (a multiscale layer saves its full-resolution level).
    meta : dict
        The layer's attributes (``scale`` is used).

    Returns
    -------
    list of str
        ``[path]``.
    """
    labels = _full_resolution(data, meta)
    scale = meta.get("scale")
    return [str(write_tiff_labels(path, labels, None if scale is None else list(scale)))]
