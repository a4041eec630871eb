"""Reading 2D images (PNG, JPEG, BMP, TIFF) into numpy arrays.

Pixels come back as stored: no conversion of type, range or channels (a grayscale PNG is (H, W),
an RGB JPEG (H, W, 3), a multi-page TIFF (pages, H, W)). Palette images come back as RGB(A).
PNG, JPEG and BMP go through scikit-image (imageio and Pillow), TIFF through tifffile.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from napari_clickseg.io.atomic import atomic_write
from napari_clickseg.io.errors import UnreadableFileError
from napari_clickseg.io.labels import to_label_array

__all__ = [
    "IMAGE_SUFFIXES",
    "TIFF_SUFFIXES",
    "read_image",
    "read_image_stack",
    "read_tiff_page",
    "read_tiff_stack",
    "tiff_page_count",
    "write_tiff_labels",
]

#: File name endings of TIFF files (read with tifffile).
TIFF_SUFFIXES = (".tif", ".tiff")
#: File name endings :func:`read_image` accepts (case-insensitive).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", *TIFF_SUFFIXES)


def _check_file(path: Path, suffixes: tuple[str, ...]) -> None:
    if not path.exists():
        raise FileNotFoundError(f"image file not found: {path}")
    if not path.is_file():
        raise FileNotFoundError(f"expected an image file, got a folder: {path}")
    if path.suffix.lower() not in suffixes:
        raise UnreadableFileError(
            f"cannot read {path}: unsupported file type {path.suffix!r}, expected one of "
            f"{', '.join(suffixes)}"
        )


def read_image(path: str | Path) -> np.ndarray:
    """Read a PNG, JPEG, BMP or TIFF file.

    Parameters
    ----------
    path : str or pathlib.Path
        The image file; its ending (case-insensitive) picks the reader.

    Returns
    -------
    numpy.ndarray
        The pixels as stored: (H, W) or (H, W, C); a multi-page TIFF gives all its pages.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist or is a folder.
    UnreadableFileError
        If the ending is not a supported one or the file cannot be decoded.
    """
    path = Path(path)
    _check_file(path, IMAGE_SUFFIXES)
    if path.suffix.lower() in TIFF_SUFFIXES:
        # The napari reader's check: a damaged TIFF says so instead of giving an empty array.
        return _with_tiff(path, lambda tif: _first_series(tif)[0], "cannot decode image")
    try:
        from skimage import io as skio

        image = np.asarray(skio.imread(path))
    except MemoryError:
        raise
    except Exception as exc:  # the decoders raise many types for corrupt files
        raise UnreadableFileError(
            f"cannot decode image {path}: {exc.__class__.__name__}: {exc}"
        ) from exc
    if image.size == 0:
        raise UnreadableFileError(f"cannot decode image {path}: no pixels (damaged or empty file)")
    return image


def tiff_page_count(path: str | Path) -> int:
    """Count the pages (2D planes) of a TIFF file without reading its pixels.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.tif`` or ``.tiff`` file.

    Returns
    -------
    int
        Number of pages.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist or is a folder.
    UnreadableFileError
        If the file is not a readable TIFF.
    """
    return _with_tiff(path, lambda tif: len(tif.pages), "cannot read TIFF")


def read_tiff_page(path: str | Path, index: int) -> np.ndarray:
    """Read one page of a multi-page TIFF (e.g. one section of a stack).

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.tif`` or ``.tiff`` file.
    index : int
        Page index, from 0.

    Returns
    -------
    numpy.ndarray
        The page's pixels as stored, (H, W) or (H, W, C).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist or is a folder.
    IndexError
        If ``index`` is not a page of the file.
    UnreadableFileError
        If the file is not a readable TIFF.
    """

    def page(tif) -> np.ndarray:
        n = len(tif.pages)
        if not 0 <= index < n:
            raise IndexError(f"page {index} out of range: {path} has {n} pages (0..{n - 1})")
        return np.asarray(tif.pages[index].asarray())

    return _with_tiff(path, page, f"cannot read page {index} of TIFF")


def _with_tiff(path: str | Path, read, failure: str):
    """Open a TIFF and apply ``read`` to it; decoding failures become UnreadableFileError."""
    import tifffile

    path = Path(path)
    _check_file(path, TIFF_SUFFIXES)
    try:
        with tifffile.TiffFile(path) as tif:
            return read(tif)
    except (IndexError, MemoryError):
        raise
    except Exception as exc:
        raise UnreadableFileError(f"{failure} {path}: {exc}") from exc


def read_tiff_stack(path: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """Read the first image series of a TIFF (e.g. an ssTEM stack) and its JSON metadata.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.tif`` or ``.tiff`` file.

    Returns
    -------
    data : numpy.ndarray
        The series as stored, e.g. (sections, H, W).
    metadata : dict
        The JSON metadata tifffile keeps in the description (such as ``scale`` and
        ``layer_type`` written by :func:`write_tiff_labels`); empty when there is none. For an
        ImageJ stack (axes ``ZYX`` or ``YX``) without it, ``scale`` is its pixel size: the slice
        ``spacing`` and the inverse X/Y resolution, in the file's unit.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist or is a folder.
    UnreadableFileError
        If the file is not a readable TIFF.
    """

    return _with_tiff(path, _first_series, "cannot read TIFF")


def _first_series(tif) -> tuple[np.ndarray, dict[str, Any]]:
    """The first image series of an open TIFF and its JSON metadata (see read_tiff_stack)."""
    if not tif.series or not len(tif.pages):
        raise UnreadableFileError("no image in the file (damaged or empty TIFF)")
    shaped = tif.shaped_metadata or ()
    metadata = dict(shaped[0]) if shaped and isinstance(shaped[0], dict) else {}
    if "scale" not in metadata and (scale := _imagej_scale(tif)) is not None:
        metadata["scale"] = scale
    return np.asarray(tif.asarray()), metadata


def _imagej_scale(tif) -> list[float] | None:
    """(z, y, x) or (y, x) pixel size of an ImageJ stack, from its spacing and resolution tags."""
    imagej = tif.imagej_metadata
    axes = tif.series[0].axes
    if not imagej or axes not in ("ZYX", "YX"):
        return None
    tags = tif.pages.first.tags
    sizes = []
    for name in ("YResolution", "XResolution"):
        tag = tags.get(name)
        numerator, denominator = tag.value if tag is not None else (1, 1)
        if not numerator or not denominator:
            return None
        sizes.append(denominator / numerator)
    if axes == "ZYX":
        sizes.insert(0, float(imagej.get("spacing", 1.0)))
    return sizes


def write_tiff_labels(
    path: str | Path, labels: np.ndarray, scale: Sequence[float] | None = None
) -> Path:
    """Save labels as a zlib-compressed TIFF stack, safely (temporary file, then rename).

    Parameters
    ----------
    path : str or pathlib.Path
        ``.tif`` or ``.tiff``.
    labels : numpy.ndarray
        Whole-number labels, 2D (H, W) or a stack (N, H, W); each plane becomes a page. They
        are stored in the smallest of uint8, uint16, int32 that holds them.
    scale : sequence of float, optional
        Pixel size per axis, kept in the file's JSON description (``{"scale": [...]}``) together
        with ``"layer_type": "labels"``; :func:`read_tiff_stack` gives them back.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ValueError
        If the name does not end in ``.tif``/``.tiff``, the labels are not 2D or 3D, not whole
        numbers, do not fit in int32, or ``scale`` has the wrong length.
    """
    import tifffile

    path = Path(path)
    if path.suffix.lower() not in TIFF_SUFFIXES:
        raise ValueError(
            f"cannot save labels as TIFF to {path}: the name must end in .tif or .tiff"
        )
    data = to_label_array(labels)
    if data.ndim not in (2, 3):
        raise ValueError(
            f"TIFF labels must be 2D (H, W) or a stack (N, H, W), got shape {data.shape}"
        )
    metadata: dict[str, Any] = {"layer_type": "labels"}
    if scale is not None:
        scale = [float(s) for s in scale]
        if len(scale) != data.ndim:
            raise ValueError(f"scale {scale} needs one value per axis of labels {data.shape}")
        metadata["scale"] = scale

    def write(temporary: Path) -> None:
        tifffile.imwrite(
            temporary, data, photometric="minisblack", compression="zlib", metadata=metadata
        )

    return atomic_write(path, write)


def read_image_stack(files: Sequence[str | Path]) -> np.ndarray:
    """Read 2D images (e.g. the PNG slices of a folder) in the given order into one stack.

    Parameters
    ----------
    files : sequence of str or pathlib.Path
        The slices, in stack order; all must have the same shape and type.

    Returns
    -------
    numpy.ndarray
        (N, H, W) or (N, H, W, C).

    Raises
    ------
    ValueError
        If ``files`` is empty, or a slice's shape or type differs from the first slice's (the
        message names both files).
    FileNotFoundError, UnreadableFileError
        From :func:`read_image`, naming the file that failed.
    """
    if not files:
        raise ValueError("cannot stack images: no files given")
    first_path = Path(files[0])
    first = read_image(first_path)
    stack = np.empty((len(files), *first.shape), dtype=first.dtype)
    stack[0] = first
    for index, file in enumerate(files[1:], start=1):
        plane = read_image(file)
        if plane.shape != first.shape or plane.dtype != first.dtype:
            raise ValueError(
                f"cannot stack {Path(file).name}: shape {plane.shape} {plane.dtype} differs from "
                f"{first_path.name} ({first.shape} {first.dtype}); all slices of a stack must "
                "have the same size and type"
            )
        stack[index] = plane
    return stack
