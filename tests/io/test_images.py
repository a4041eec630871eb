"""read_image / TIFF pages: formats, pixels as stored, errors."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from skimage import io as skio

from napari_clickseg.io import UnreadableFileError, read_image, read_tiff_page, tiff_page_count


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".PNG"])
def test_lossless_formats_round_trip(tmp_path, suffix):
    gray = np.arange(30, dtype=np.uint8).reshape(5, 6)
    rgb = np.stack([gray, gray + 1, gray + 2], axis=-1)
    for name, data in (("g", gray), ("c", rgb)):
        path = tmp_path / f"{name}{suffix}"
        skio.imsave(path, data, check_contrast=False)
        np.testing.assert_array_equal(read_image(path), data)


def test_jpeg_and_16bit_png(tmp_path):
    data = np.full((8, 8, 3), 120, np.uint8)
    skio.imsave(tmp_path / "a.jpg", data, check_contrast=False)
    out = read_image(tmp_path / "a.jpg")
    assert out.shape == (8, 8, 3) and abs(int(out.mean()) - 120) <= 2
    deep = (np.arange(64, dtype=np.uint16) * 1000).reshape(8, 8)
    skio.imsave(tmp_path / "d.png", deep, check_contrast=False)
    assert read_image(tmp_path / "d.png").dtype == np.uint16


def test_tiff_stack_and_pages(tmp_path):
    stack = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    tifffile.imwrite(tmp_path / "s.tif", stack, photometric="minisblack")
    np.testing.assert_array_equal(read_image(tmp_path / "s.tif"), stack)
    assert tiff_page_count(tmp_path / "s.tif") == 3
    np.testing.assert_array_equal(read_tiff_page(tmp_path / "s.tif", 2), stack[2])
    with pytest.raises(IndexError, match=r"page 3 out of range.*3 pages"):
        read_tiff_page(tmp_path / "s.tif", 3)


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="image file not found"):
        read_image(tmp_path / "x.png")
    with pytest.raises(FileNotFoundError, match="got a folder"):
        read_image(tmp_path)
    (tmp_path / "x.gif").write_bytes(b"GIF89a")
    with pytest.raises(UnreadableFileError, match=r"unsupported file type '.gif'"):
        read_image(tmp_path / "x.gif")
    for name in ("bad.png", "bad.tif"):
        (tmp_path / name).write_bytes(b"not an image at all")
        with pytest.raises(UnreadableFileError, match="cannot decode image"):
            read_image(tmp_path / name)
    with pytest.raises(UnreadableFileError, match="cannot read TIFF"):
        tiff_page_count(tmp_path / "bad.tif")
    with pytest.raises(UnreadableFileError, match="unsupported file type"):
        tiff_page_count(tmp_path / "bad.png")
