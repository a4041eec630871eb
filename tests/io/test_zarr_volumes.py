import numpy as np
import pytest
import zarr

from napari_clickseg.io.errors import UnreadableFileError
from napari_clickseg.io.zarr_volumes import create_zarr_labels, is_zarr_path, open_lazy_volume


def test_plain_zarr_array_opens_lazily(tmp_path):
    array = zarr.create_array(
        store=str(tmp_path / "v.zarr"), shape=(6, 40, 50), chunks=(1, 20, 25), dtype="uint16"
    )
    array[2] = 7
    volume = open_lazy_volume(tmp_path / "v.zarr")
    assert isinstance(volume.data, zarr.Array) and volume.shape == (6, 40, 50)
    assert volume.nbytes == 6 * 40 * 50 * 2
    np.testing.assert_array_equal(np.asarray(volume.data[2]), 7)
    assert is_zarr_path(tmp_path / "v.zarr") and not is_zarr_path(tmp_path / "missing.zarr")


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_ome_zarr_image_gives_full_resolution_without_singleton_axes(tmp_path, zarr_format):
    group = zarr.open_group(str(tmp_path / "img.ome.zarr"), mode="w", zarr_format=zarr_format)
    multiscales = [
        {
            "version": "0.4",
            "axes": [{"name": n} for n in "tczyx"],
            "datasets": [
                {
                    "path": "0",
                    "coordinateTransformations": [
                        {"type": "scale", "scale": [1.0, 1.0, 50.0, 4.0, 4.0]}
                    ],
                },
                {
                    "path": "1",
                    "coordinateTransformations": [
                        {"type": "scale", "scale": [1.0, 1.0, 50.0, 8.0, 8.0]}
                    ],
                },
            ],
        }
    ]
    group.attrs["multiscales"] = multiscales
    full = group.create_array("0", shape=(1, 1, 5, 32, 32), chunks=(1, 1, 1, 32, 32), dtype="u1")
    group.create_array("1", shape=(1, 1, 5, 16, 16), dtype="u1")
    full[0, 0, 3, 5:9, 5:9] = 200
    volume = open_lazy_volume(tmp_path / "img.ome.zarr")
    assert volume.shape == (5, 32, 32) and volume.axes == ("z", "y", "x")
    assert volume.scale == (50.0, 4.0, 4.0)
    assert volume.data[3].max() == 200 and volume.data[..., 6].shape == (5, 32)


def test_group_with_one_array_opens_that_array(tmp_path):
    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    group.create_array("raw", shape=(3, 8, 8), dtype="f4")
    assert open_lazy_volume(tmp_path / "g.zarr").shape == (3, 8, 8)


def test_bad_zarr_paths_say_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        open_lazy_volume(tmp_path / "missing.zarr")
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(UnreadableFileError, match="as a zarr store"):
        open_lazy_volume(tmp_path / "empty.zarr")
    group = zarr.open_group(str(tmp_path / "two.zarr"), mode="w")
    group.create_array("a", shape=(2, 2, 2), dtype="u1")
    group.create_array("b", shape=(2, 2, 2), dtype="u1")
    with pytest.raises(UnreadableFileError, match="2 arrays"):
        open_lazy_volume(tmp_path / "two.zarr")


def test_created_labels_write_only_nonzero_chunks(tmp_path):
    labels = create_zarr_labels(tmp_path / "out.zarr", (4, 64, 64), (1, 32, 32), np.uint8)
    labels[1, :5, :5] = 1
    chunk_files = [
        p for p in (tmp_path / "out.zarr").rglob("*") if p.is_file() and p.name != "zarr.json"
    ]
    assert len(chunk_files) == 1
    with pytest.raises(FileExistsError):
        create_zarr_labels(tmp_path / "out.zarr", (4, 64, 64), None, np.uint8)
