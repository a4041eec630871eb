"""napari writers: NIfTI labels keep the source geometry, TIFF labels round trip, dtype rule,
atomic saving."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import tifffile

from napari_clickseg._reader import read_nifti_file, read_tiff_file
from napari_clickseg._writer import write_labels_nifti, write_labels_tiff
from napari_clickseg.io import atomic_write, label_dtype

_HEADER_FIELDS = (
    "pixdim",
    "qform_code",
    "sform_code",
    "quatern_b",
    "quatern_c",
    "quatern_d",
    "qoffset_x",
    "qoffset_y",
    "qoffset_z",
    "srow_x",
    "srow_y",
    "srow_z",
    "xyzt_units",
    "dim",
)


@pytest.fixture
def source(tmp_path):
    """An image with an oblique geometry, distinct q/s-forms and codes, opened by the reader."""
    angle = np.deg2rad(20.0)
    affine = np.eye(4)
    affine[:3, :3] = np.array(
        [[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]]
    ) @ np.diag([0.9, 1.2, 3.0])
    affine[:3, 3] = (10.0, -20.5, 33.0)
    data = np.random.default_rng(0).normal(0, 1, (8, 7, 6)).astype(np.float32)
    image = nib.Nifti1Image(data, affine)
    image.header.set_qform(affine, code=1)  # scanner
    image.header.set_sform(affine, code=4)  # MNI
    image.header.set_xyzt_units("mm", "sec")
    image.header["descrip"] = b"source scan"
    path = tmp_path / "scan.nii.gz"
    nib.save(image, path)
    [(layer_data, meta, _)] = read_nifti_file(path)
    return path, layer_data, meta


def _labels_like(layer_data, top=5):
    labels = np.zeros(layer_data.shape, np.int64)  # napari Labels often hold int64
    labels[1:3, 2:5, 1:4] = 1
    labels[3, 0, 0] = top
    return labels


def test_nifti_labels_keep_the_source_affine_and_header(tmp_path, source):
    path, layer_data, meta = source
    labels = _labels_like(layer_data)
    out = tmp_path / "scan_seg.nii.gz"
    written = write_labels_nifti(
        str(out), labels, {"metadata": meta["metadata"], "scale": meta["scale"]}
    )
    assert written == [str(out)]
    saved, original = nib.load(out), nib.load(path)
    np.testing.assert_array_equal(np.asanyarray(saved.dataobj), labels.transpose(2, 1, 0))
    assert saved.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(saved.affine, original.affine)
    for field in _HEADER_FIELDS:
        np.testing.assert_array_equal(saved.header[field], original.header[field], err_msg=field)
    assert saved.header["descrip"] == original.header["descrip"]
    assert saved.header.get_intent()[0] == "label"
    # and the plugin reads it back as the same labels on the same grid
    [(again, again_meta, layer_type)] = read_nifti_file(out)
    assert layer_type == "labels"
    np.testing.assert_array_equal(again, labels)
    assert again_meta["scale"] == meta["scale"]


def test_nifti2_source_gives_nifti2_labels(tmp_path):
    affine = np.diag([0.5, 0.5, 1.5, 1.0])
    nib.save(
        nib.Nifti2Image(np.random.default_rng(1).random((4, 5, 6)), affine), tmp_path / "a.nii"
    )
    [(layer_data, meta, _)] = read_nifti_file(tmp_path / "a.nii")
    out = tmp_path / "a_seg.nii"
    write_labels_nifti(str(out), _labels_like(layer_data), meta)
    saved = nib.load(out)
    assert isinstance(saved, nib.Nifti2Image)
    np.testing.assert_array_equal(saved.affine, affine)
    np.testing.assert_array_equal(np.asanyarray(saved.dataobj), _labels_like(layer_data).T)


def test_nifti_labels_without_geometry_use_scale_and_translate(tmp_path):
    labels = np.zeros((3, 4, 5), np.int32)
    labels[1, 2, 3] = 300
    out = tmp_path / "drawn.nii"
    with pytest.warns(UserWarning, match="no NIfTI geometry of a source scan") as caught:
        write_labels_nifti(
            str(out), labels, {"scale": (2.0, 1.0, 0.5), "translate": (4.0, 0.0, 1.0)}
        )
    assert "scale (2.0, 1.0, 0.5)" in str(caught[0].message)
    saved = nib.load(out)
    assert saved.get_data_dtype() == np.uint16
    assert saved.header.get_zooms() == (0.5, 1.0, 2.0)
    np.testing.assert_array_equal(saved.affine[:3, 3], (1.0, 0.0, 4.0))
    [(again, meta, _)] = read_nifti_file(out)
    np.testing.assert_array_equal(again, labels)
    assert meta["scale"] == (2.0, 1.0, 0.5)


def test_nifti_geometry_of_another_shape_warns_and_falls_back(tmp_path, source):
    _, layer_data, meta = source
    cropped = np.ones(tuple(n - 1 for n in layer_data.shape), np.uint8)
    out = tmp_path / "cropped.nii.gz"
    with pytest.warns(UserWarning, match="do not fit the NIfTI geometry"):
        write_labels_nifti(str(out), cropped, {"metadata": meta["metadata"], "scale": (3, 2, 1)})
    assert nib.load(out).header.get_zooms() == (1.0, 2.0, 3.0)


def test_tiff_labels_round_trip_with_scale(tmp_path):
    labels = np.zeros((4, 6, 5), np.int64)
    labels[0, 1, 1] = 2
    labels[3, 5, 4] = 1000
    out = tmp_path / "mito.tif"
    assert write_labels_tiff(str(out), labels, {"scale": (50.0, 4.0, 4.0)}) == [str(out)]
    stored = tifffile.imread(out)
    assert stored.dtype == np.uint16
    np.testing.assert_array_equal(stored, labels)
    [(again, meta, layer_type)] = read_tiff_file(out)
    assert layer_type == "labels"
    np.testing.assert_array_equal(again, labels)
    assert meta["scale"] == (50.0, 4.0, 4.0)


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        ([0, 1, 255], np.uint8),
        ([0, 256], np.uint16),
        ([0, 65535], np.uint16),
        ([0, 65536], np.int32),
        ([-1, 3], np.int32),
        ([0.0, 2.0], np.uint8),
        ([True, False], np.uint8),
    ],
)
def test_smallest_label_dtype(values, dtype):
    assert label_dtype(np.array(values)) == dtype


@pytest.mark.parametrize(
    ("values", "message"),
    [([0.5, 1.0], "whole numbers"), ([0, 2**31], "do not fit in int32"), ([np.nan], "whole")],
)
def test_label_dtype_rejects_what_cannot_be_saved(values, message):
    with pytest.raises(ValueError, match=message):
        label_dtype(np.array(values))


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "labels.nii.gz"
    target.write_bytes(b"the user's earlier work")

    def crash_half_way(temporary):
        temporary.write_bytes(b"half a fi")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, crash_half_way)
    assert target.read_bytes() == b"the user's earlier work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.nii.gz"]


def test_failing_nifti_writer_does_not_corrupt_an_existing_file(tmp_path, source, monkeypatch):
    _, layer_data, meta = source
    out = tmp_path / "seg.nii.gz"
    write_labels_nifti(str(out), _labels_like(layer_data, top=1), meta)
    before = out.read_bytes()
    listing = sorted(p.name for p in tmp_path.iterdir())

    def broken_save(image, filename):
        with open(filename, "wb") as partial:
            partial.write(b"\x1f\x8b partial")
        raise RuntimeError("simulated crash while saving")

    monkeypatch.setattr(nib, "save", broken_save)
    with pytest.raises(RuntimeError, match="simulated crash"):
        write_labels_nifti(str(out), _labels_like(layer_data, top=7), meta)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing


def test_successful_write_replaces_and_leaves_only_the_file(tmp_path):
    out = tmp_path / "stack.tiff"
    out.write_bytes(b"old")
    write_labels_tiff(str(out), np.ones((2, 3, 3), np.uint8), {})
    assert tifffile.imread(out).shape == (2, 3, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["stack.tiff"]


def test_writer_errors_are_specific(tmp_path):
    with pytest.raises(ValueError, match="whole numbers"):
        write_labels_tiff(str(tmp_path / "x.tif"), np.array([[0.5]]), {})
    with pytest.raises(ValueError, match=r"2D \(H, W\) or a stack"):
        write_labels_tiff(str(tmp_path / "x.tif"), np.zeros((2, 2, 2, 2), np.uint8), {})
    with pytest.raises(FileNotFoundError, match="does not exist"), pytest.warns(UserWarning):
        write_labels_nifti(str(tmp_path / "no" / "x.nii.gz"), np.zeros((2, 2, 2), np.uint8), {})
