"""Reading 2D images (PNG, JPEG, BMP, TIFF) into numpy arrays.

Pixels come back as stored: no conversion of type, range or channels (a grayscale PNG is (H, W),
an RGB JPEG (H, W, 3), a multi-page TIFF (pages, H, W)). Palette images come back as RGB(A).
PNG, JPEG and BMP go through scikit-image (imageio and Pillow), TIFF through tifffile.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from napari_clickseg.io.errors import UnreadableFileError

__all__ = ["IMAGE_SUFFIXES", "TIFF_SUFFIXES", "read_image", "read_tiff_page", "tiff_page_count"]

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
    try:
        if path.suffix.lower() in TIFF_SUFFIXES:
            import tifffile

            image = tifffile.imread(path)
        else:
            from skimage import io as skio

            image = skio.imread(path)
    except MemoryError:
        raise
    except Exception as exc:  # the decoders raise many types for corrupt files
        raise UnreadableFileError(
            f"cannot decode image {path}: {exc.__class__.__name__}: {exc}"
        ) from exc
    return np.asarray(image)


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
