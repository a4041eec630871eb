"""File readers and writers: NIfTI volumes with their geometry, 2D images and TIFF stacks, label
files saved safely."""

from napari_clickseg.io.atomic import atomic_write
from napari_clickseg.io.errors import UnreadableFileError
from napari_clickseg.io.images import (
    read_image,
    read_image_stack,
    read_tiff_page,
    read_tiff_stack,
    tiff_page_count,
    write_tiff_labels,
)
from napari_clickseg.io.labels import label_dtype, looks_like_labels
from napari_clickseg.io.nifti import (
    NiftiVolume,
    geometry_header,
    is_nifti,
    nifti_geometry,
    read_nifti,
    write_nifti_labels,
)

__all__ = [
    "NiftiVolume",
    "UnreadableFileError",
    "atomic_write",
    "geometry_header",
    "is_nifti",
    "label_dtype",
    "looks_like_labels",
    "nifti_geometry",
    "read_image",
    "read_image_stack",
    "read_nifti",
    "read_tiff_page",
    "read_tiff_stack",
    "tiff_page_count",
    "write_nifti_labels",
    "write_tiff_labels",
]
