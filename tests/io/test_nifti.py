"""read_nifti: axis order, geometry and errors."""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest

from napari_clickseg.io import NiftiVolume, UnreadableFileError, is_nifti, read_nifti


def _save(path, data, zooms=(1.0, 2.0, 3.0)):
    affine = np.diag([-zooms[0], -zooms[1], zooms[2], 1.0])
    nib.save(nib.Nifti1Image(data, affine), path)
    return affine


@pytest.mark.parametrize("name", ["v.nii.gz", "v.nii"])
def test_read_keeps_nibabel_order_and_geometry(tmp_path, name):
    data = np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4)
    affine = _save(tmp_path / name, data)
    vol = read_nifti(tmp_path / name)
    assert isinstance(vol, NiftiVolume)
    np.testing.assert_array_equal(vol.data, data)
    assert vol.data.dtype == np.int16
    np.testing.assert_allclose(vol.affine, affine)
    assert vol.spacing == (1.0, 2.0, 3.0)
    assert vol.orientation == ("L", "P", "S")
    assert vol.header.get_data_shape() == (2, 3, 4)
    assert vol.path == tmp_path / name


def test_is_nifti():
    assert is_nifti("a/b.nii.gz") and is_nifti("B.NII") and not is_nifti("x.png")


def test_missing_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="NIfTI file not found"):
        read_nifti(tmp_path / "nope.nii.gz")
    with pytest.raises(FileNotFoundError, match="got a folder"):
        read_nifti(tmp_path)


def test_garbage_and_truncated_files(tmp_path):
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"this is not a nifti file")
    with pytest.raises(UnreadableFileError, match=r"cannot read .*bad.nii.gz as NIfTI"):
        read_nifti(bad)
    plain = tmp_path / "plain.nii"
    plain.write_bytes(b"\0" * 10)
    with pytest.raises(UnreadableFileError, match="as NIfTI"):
        read_nifti(plain)
    good = tmp_path / "good.nii.gz"
    _save(good, np.random.default_rng(0).random((20, 20, 20)).astype(np.float32))
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(UnreadableFileError, match="as NIfTI"):
        read_nifti(cut)
    assert gzip.decompress(good.read_bytes())  # the original is fine
