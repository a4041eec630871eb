"""Reading NIfTI volumes (``.nii`` / ``.nii.gz``) with their geometry.

The voxel array keeps nibabel's axis order: ``data[i, j, k]`` is the voxel at array index
``(i, j, k)``, which the ``affine`` maps to world (scanner RAS+) coordinates in millimetres. No
reorientation or resampling happens here; :attr:`NiftiVolume.orientation` says where each array
axis points (e.g. ``("L", "P", "S")`` for BraTS).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from napari_clickseg.io.atomic import atomic_write
from napari_clickseg.io.errors import UnreadableFileError
from napari_clickseg.io.labels import to_label_array

__all__ = [
    "NIFTI_SUFFIXES",
    "NiftiVolume",
    "geometry_header",
    "is_nifti",
    "nifti_geometry",
    "read_nifti",
    "spacing_affine",
    "write_nifti_labels",
]

#: File name endings read as NIfTI.
NIFTI_SUFFIXES = (".nii", ".nii.gz")


@dataclass(frozen=True, eq=False)
class NiftiVolume:
    """A NIfTI image: voxel data plus geometry.

    Attributes
    ----------
    data : numpy.ndarray
        Voxels in nibabel's array order (i, j, k[, t]), in the file's data type (float when the
        header has a scaling slope other than 1).
    affine : numpy.ndarray
        (4, 4) float64 voxel-to-world (RAS+, mm) transform.
    spacing : tuple of float
        Voxel sizes of the first three axes from the header (``pixdim``), in header units
        (normally mm).
    header : nibabel.Nifti1Header or nibabel.Nifti2Header
        The full header.
    path : pathlib.Path
        The file it came from.
    """

    data: np.ndarray
    affine: np.ndarray
    spacing: tuple[float, float, float]
    header: Any
    path: Path

    @property
    def orientation(self) -> tuple[str, ...]:
        """Where each of the first three array axes points, e.g. ``("L", "P", "S")``."""
        return tuple(nib.aff2axcodes(self.affine))


def is_nifti(path: str | Path) -> bool:
    """Tell whether a file name ends in ``.nii`` or ``.nii.gz`` (case-insensitive).

    Parameters
    ----------
    path : str or pathlib.Path
        A file name.

    Returns
    -------
    bool
        True for NIfTI file names.
    """
    return str(path).lower().endswith(NIFTI_SUFFIXES)


def read_nifti(path: str | Path) -> NiftiVolume:
    """Read a NIfTI-1 or NIfTI-2 file completely into memory.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.nii`` or ``.nii.gz`` file.

    Returns
    -------
    NiftiVolume
        Data in nibabel's (i, j, k) axis order, affine, voxel spacing and header.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist or is a folder.
    UnreadableFileError
        If the file is not a readable NIfTI file (wrong format, truncated or corrupt).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"NIfTI file not found: {path}")
    if not path.is_file():
        raise FileNotFoundError(f"expected a NIfTI file (.nii or .nii.gz), got a folder: {path}")
    try:
        image = nib.load(path)
        if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
            raise UnreadableFileError(
                f"{path} is a {type(image).__name__}, not a NIfTI image (.nii or .nii.gz)"
            )
        data = np.asanyarray(image.dataobj)
    except (UnreadableFileError, MemoryError):
        raise
    except Exception as exc:  # nibabel, gzip and zlib raise many types for bad files
        raise UnreadableFileError(
            f"cannot read {path} as NIfTI (.nii or .nii.gz): {exc.__class__.__name__}: {exc}"
        ) from exc
    zooms = tuple(float(z) for z in image.header.get_zooms()[:3])
    spacing = (*zooms, 1.0, 1.0, 1.0)[:3]
    return NiftiVolume(
        data=data,
        affine=np.asarray(image.affine, dtype=np.float64),
        spacing=spacing,  # type: ignore[arg-type]
        header=image.header,
        path=path,
    )


def nifti_geometry(volume: NiftiVolume) -> dict[str, Any]:
    """The geometry of a volume as plain values, to keep beside its data (e.g. layer metadata).

    Parameters
    ----------
    volume : NiftiVolume
        A volume from :func:`read_nifti`.

    Returns
    -------
    dict
        ``affine`` ((4, 4) float64 array), ``header`` (the raw header bytes, without extensions),
        ``format`` (``"nifti1"`` or ``"nifti2"``), ``shape`` (the file's array shape) and
        ``source`` (the file's path as text). :func:`geometry_header` rebuilds the header.
    """
    header = volume.header
    return {
        "affine": np.array(volume.affine, dtype=np.float64),
        "header": bytes(header.binaryblock),
        "format": "nifti2" if isinstance(header, nib.Nifti2Header) else "nifti1",
        "shape": tuple(int(n) for n in volume.data.shape),
        "source": str(volume.path),
    }


def geometry_header(geometry: dict[str, Any]) -> nib.Nifti1Header | nib.Nifti2Header:
    """Rebuild the header kept by :func:`nifti_geometry`.

    Raises
    ------
    ValueError
        If ``geometry`` has no usable header (missing, wrong type or not a NIfTI header block).
    """
    block = geometry.get("header")
    kind = nib.Nifti2Header if geometry.get("format") == "nifti2" else nib.Nifti1Header
    if not isinstance(block, bytes | bytearray):
        raise ValueError(
            f"NIfTI geometry has no header bytes (got {type(block).__name__}); expected the "
            "dictionary made by nifti_geometry"
        )
    try:
        return kind(binaryblock=bytes(block))
    except Exception as exc:  # nibabel raises several types for a malformed block
        raise ValueError(f"NIfTI geometry holds an invalid {kind.__name__}: {exc}") from exc


def spacing_affine(
    spacing: tuple[float, ...], origin: tuple[float, ...] | None = None
) -> np.ndarray:
    """A (4, 4) affine scaling array axes by ``spacing`` (up to 3 values), shifted by ``origin``."""
    affine = np.eye(4)
    for axis, size in enumerate(tuple(spacing)[:3]):
        affine[axis, axis] = float(size)
    for axis, shift in enumerate(tuple(origin or ())[:3]):
        affine[axis, 3] = float(shift)
    return affine


def write_nifti_labels(
    path: str | Path,
    labels: np.ndarray,
    affine: np.ndarray,
    header: nib.Nifti1Header | nib.Nifti2Header | None = None,
) -> Path:
    """Save a label volume as NIfTI, safely (temporary file, then rename).

    Parameters
    ----------
    path : str or pathlib.Path
        ``.nii.gz`` (compressed) or ``.nii``.
    labels : numpy.ndarray
        Whole-number labels in the file's (i, j, k) axis order. They are stored in the smallest
        of uint8, uint16, int32 that holds them (:func:`~napari_clickseg.io.labels.label_dtype`).
    affine : numpy.ndarray
        (4, 4) voxel-to-world transform.
    header : nibabel.Nifti1Header or nibabel.Nifti2Header, optional
        The source image's header: its fields (pixdim, units, qform/sform and their codes,
        description) are kept; only the data type, scaling (slope 1, intercept 0), display range
        (cleared) and intent (``label``) change. Without it nibabel's defaults apply (sform from
        ``affine`` with code 2 "aligned", qform code 0).

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ValueError
        If the name does not end in ``.nii``/``.nii.gz``, the labels are not whole numbers or
        do not fit in int32, the affine is not (4, 4), or the header's shape differs from the
        labels' shape.
    """
    path = Path(path)
    if not is_nifti(path):
        raise ValueError(
            f"cannot save labels as NIfTI to {path}: the name must end in .nii.gz or .nii"
        )
    data = to_label_array(labels)
    affine = np.asarray(affine, dtype=np.float64)
    if affine.shape != (4, 4):
        raise ValueError(f"NIfTI affine must be a (4, 4) matrix, got shape {affine.shape}")
    if header is not None:
        shape = tuple(int(n) for n in header.get_data_shape())
        if shape != data.shape:
            raise ValueError(
                f"labels of shape {data.shape} do not match the NIfTI header's shape {shape}; "
                "save them without the header (geometry from the spacing) or resample them"
            )
        header = header.copy()
        header.set_data_dtype(data.dtype)
        header.set_slope_inter(1.0, 0.0)
        header["cal_min"], header["cal_max"] = 0.0, 0.0
        header.set_intent("label")
        image_class = nib.Nifti2Image if isinstance(header, nib.Nifti2Header) else nib.Nifti1Image
        image = image_class(data, affine, header=header)
    else:
        image = nib.Nifti1Image(data, affine)
        image.header.set_intent("label")
    return atomic_write(path, lambda temporary: nib.save(image, temporary))
