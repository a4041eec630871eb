"""Builders of tiny on-disk data sets (NIfTI, PNG, TIFF) for the adapter tests.

Imported by the test modules of this folder (``from builders import ...``).
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import tifffile
from skimage import io as skio

#: The real data sets beside the project (absent on most machines: tests using them skip).
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

# BraTS-like affine: array axes point L, P, S as in the real files.
LPS_AFFINE = np.array([[-1.0, 0, 0, 0], [0, -1.0, 0, 239.0], [0, 0, 1.0, 0], [0, 0, 0, 1]])


def write_nifti(path: Path, data: np.ndarray, spacing=(1.0, 1.0, 1.0), affine=None) -> Path:
    """Write ``data`` (nibabel's i, j, k order) as NIfTI with the given voxel sizes."""
    if affine is None:
        affine = LPS_AFFINE @ np.diag([*spacing, 1.0])
    image = nib.Nifti1Image(np.asarray(data), affine)
    image.header.set_zooms(tuple(spacing) + tuple(1.0 for _ in range(np.ndim(data) - 3)))
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, path)
    return path


def write_image(path: Path, data: np.ndarray) -> Path:
    """Write a PNG / BMP / JPEG (skimage) or TIFF (tifffile) file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".tif", ".tiff"):
        data = np.asarray(data)
        rgb = data.ndim == 3 and data.shape[-1] == 3
        tifffile.imwrite(path, data, photometric="rgb" if rgb else "minisblack")
    else:
        skio.imsave(path, np.asarray(data), check_contrast=False)
    return path


def brats_case(
    root: Path,
    name: str,
    seg: np.ndarray,
    modalities: dict[str, np.ndarray] | None = None,
    spacing=(1.0, 1.0, 1.0),
) -> Path:
    """Write ``root/<name>/<name>_{t1,t1ce,t2,flair,seg}.nii.gz``; missing modalities get a
    default brain-like volume (nonzero inside a box, 0 outside)."""
    folder = root / name
    modalities = dict(modalities or {})
    rng = np.random.default_rng(len(name))
    for k, m in enumerate(("t1", "t1ce", "t2", "flair")):
        if m not in modalities:
            vol = np.zeros(seg.shape, np.int16)
            vol[1:-1, 1:-1, :] = rng.integers(
                100 * (k + 1), 100 * (k + 1) + 50, vol[1:-1, 1:-1].shape
            )
            modalities[m] = vol
    for m, vol in modalities.items():
        if vol is not None:
            write_nifti(folder / f"{name}_{m}.nii.gz", vol, spacing)
    write_nifti(folder / f"{name}_seg.nii.gz", seg.astype(np.uint8), spacing)
    return folder
