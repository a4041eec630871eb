import numpy as np
import pytest

from conftest import write_mha
from napari_clickseg.io import UnreadableFileError
from napari_clickseg.io.metaimage import read_metaimage


@pytest.mark.parametrize("compressed", [False, True])
def test_voxels_come_back_in_nibabel_order(tmp_path, compressed):
    data = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6) - 60
    image = read_metaimage(write_mha(tmp_path / "v.mha", data, compressed))
    np.testing.assert_array_equal(image.data, data)
    assert image.spacing == (1.0, 2.0, 3.0) and image.offset == (0.0, -239.0, 0.0)
    assert image.data.dtype == np.int16


def test_damaged_files_are_explained(tmp_path):
    data = np.zeros((4, 5, 6), np.int16)
    path = write_mha(tmp_path / "v.mha", data)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(UnreadableFileError, match="truncated"):
        read_metaimage(path)
    with pytest.raises(UnreadableFileError, match="unknown ElementType"):
        read_metaimage(write_mha(tmp_path / "w.mha", data, element="MET_HALF"))
    (tmp_path / "x.mha").write_bytes(b"\x89PNG garbage")
    with pytest.raises(UnreadableFileError, match="MetaImage"):
        read_metaimage(tmp_path / "x.mha")
