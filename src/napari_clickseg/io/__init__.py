"""File readers: NIfTI volumes with their geometry, and 2D images (PNG, JPEG, BMP, TIFF)."""

from napari_clickseg.io.errors import UnreadableFileError
from napari_clickseg.io.images import read_image, read_tiff_page, tiff_page_count
from napari_clickseg.io.nifti import NiftiVolume, is_nifti, read_nifti

__all__ = [
    "NiftiVolume",
    "UnreadableFileError",
    "is_nifti",
    "read_image",
    "read_nifti",
    "read_tiff_page",
    "tiff_page_count",
]
