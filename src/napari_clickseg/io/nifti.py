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

from napari_clickseg.io.errors import UnreadableFileError

__all__ = ["NIFTI_SUFFIXES", "NiftiVolume", "is_nifti", "read_nifti"]

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
