"""BraTS adapter on tiny synthetic cases, plus optional checks on the real cases."""

from __future__ import annotations

import numpy as np
import pytest
from builders import SHARED_DATA, brats_case, write_nifti

from napari_clickseg.data.brats import BratsDataset
from napari_clickseg.data.instances import DatasetError
from napari_clickseg.data.windowing import window_to_uint8
from napari_clickseg.io import UnreadableFileError

SHAPE = (12, 10, 8)  # nibabel order (x, y, z); axial slices along z


def _seg() -> np.ndarray:
    seg = np.zeros(SHAPE, np.uint8)
    seg[3:6, 2:5, 5] = 2  # whole: 9 voxels at z = 5 (the largest)
    seg[3, 2, 5] = 1
    seg[4, 3, 5] = 4
    seg[5, 2, 5] = 4  # asymmetric: x = 5, y = 2
    seg[3:5, 2:4, 2] = 2  # whole: 4 voxels at z = 2
    seg[8:10, 6:8, 3] = 1  # core: 4 voxels at z = 3 (the largest core)
    seg[8, 6, 3] = 4  # enhancing: 1 voxel at z = 3 and 1 at z = 5
    return seg


def _gradient(axis: int, base: int) -> np.ndarray:
    """A brain-like volume (0 outside a box) whose intensity grows along ``axis``."""
    ramp = np.indices(SHAPE)[axis].astype(np.int16) * 10 + base
    vol = np.zeros(SHAPE, np.int16)
    vol[1:-1, 1:-1, :] = ramp[1:-1, 1:-1, :]
    return vol


@pytest.fixture
def root(tmp_path):
    mods = {"t1": _gradient(0, 50), "t1ce": _gradient(0, 100), "t2": _gradient(1, 200)}
    mods["flair"] = _gradient(2, 300)
    brats_case(tmp_path, "Case_2", _seg(), mods, spacing=(1.0, 1.5, 2.0))
    empty = np.zeros(SHAPE, np.uint8)
    empty[0, 0, 0] = 2  # oedema only: no core, no enhancing
    brats_case(tmp_path, "Case_10", empty)
    (tmp_path / "notes").mkdir()  # not a case: ignored
    return tmp_path


def test_default_is_largest_whole_tumour_slice_in_radiological_orientation(root):
    ds = BratsDataset(root)
    objs = list(ds)
    assert [o.name for o in objs] == ["Case_2/z5/whole", "Case_10/z0/whole"]  # natural order
    assert len(ds) == 2 and ds.skipped == ()
    obj = objs[0]
    seg = _seg()
    # rows follow array axis 1 (posterior), columns axis 0 (left): the transposed axial slice
    assert obj.gt.shape == (SHAPE[1], SHAPE[0]) == obj.image.shape
    np.testing.assert_array_equal(obj.gt, (seg[:, :, 5] > 0).T.astype(np.int8))
    assert obj.gt[2, 5] == 1 and obj.gt[5, 2] == 0  # voxel (x=5, y=2)
    assert obj.gt.dtype == np.int8 and set(np.unique(obj.gt)) <= {0, 1}
    assert obj.meta["slice"] == 5 and obj.meta["spacing"] == (1.5, 1.0)
    assert obj.source.endswith("Case_2")


def test_flair_is_windowed_once_per_volume(root):
    flair = _gradient(2, 300)
    expected = window_to_uint8(flair, percentiles=(0.5, 99.5), mask="nonzero")
    for z in (2, 5):
        (obj,) = BratsDataset(root / "Case_2", slices=z)  # a single case folder works too
        assert obj.image.dtype == np.uint8 and obj.image.ndim == 2
        np.testing.assert_array_equal(obj.image, expected[:, :, z].T)
        assert obj.meta["windows"]["flair"][0] == pytest.approx(300.0, abs=0.5)
    assert not obj.image.flags.writeable


def test_modality_tuple_maps_to_rgb(root):
    (obj,) = BratsDataset(root / "Case_2", modality=("t1ce", "t2", "flair"))
    assert obj.image.shape == (SHAPE[1], SHAPE[0], 3)
    inner = obj.image[2:-2, 2:-2]
    assert (np.diff(inner[..., 0].astype(int), axis=1) > 0).all()  # t1ce grows along x = cols
    assert (np.diff(inner[..., 1].astype(int), axis=0) > 0).all()  # t2 grows along y = rows
    assert np.ptp(inner[..., 2]) == 0  # flair grows along z: constant within a slice
    assert obj.meta["modalities"] == ("t1ce", "t2", "flair")


def test_targets_and_slice_choices(root):
    core = list(BratsDataset(root, target="core"))
    assert [o.name for o in core] == ["Case_2/z3/core"]
    assert core[0].area == 4
    ds = BratsDataset(root, target="enhancing", slices="all")
    assert [o.name for o in ds] == ["Case_2/z3/enhancing", "Case_2/z5/enhancing"]
    assert [s.name for s in ds.skipped] == ["Case_10/enhancing"]
    assert "no enhancing tumour" in ds.skipped[0].reason
    ds = BratsDataset(root / "Case_2", slices=[2, 4, 5])
    assert [o.name for o in ds] == ["Case_2/z2/whole", "Case_2/z5/whole"]
    assert [(s.name, s.reason) for s in ds.skipped] == [("Case_2/z4/whole", "empty ground truth")]
    assert len(list(BratsDataset(root, slices="all"))) == 3 + 1


def test_other_axis_names_and_orientation(root):
    (obj,) = BratsDataset(root / "Case_2", axis=0, slices=[4])
    assert obj.name == "Case_2/x4/whole"
    assert obj.gt.shape == (SHAPE[2], SHAPE[1])
    np.testing.assert_array_equal(obj.gt, (_seg()[4] > 0).T.astype(np.int8))


def test_no_object_at_all_raises(root):
    ds = BratsDataset(root / "Case_10", target="core")
    with pytest.raises(DatasetError, match=r"no object to evaluate.*no core tumour"):
        len(ds)


def test_layout_errors(tmp_path, root):
    with pytest.raises(FileNotFoundError, match="folder not found"):
        BratsDataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        DatasetError, match=r"no BraTS case in .*expected case folders.*empty folder"
    ):
        BratsDataset(tmp_path / "empty")
    write_nifti(tmp_path / "val" / "V1" / "V1_flair.nii.gz", np.ones(SHAPE, np.int16))
    with pytest.raises(DatasetError, match=r"has no segmentation V1_seg.nii.gz"):
        BratsDataset(tmp_path / "val")
    (root / "Case_2" / "Case_2_t2.nii.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"lacks modality file.*Case_2_t2.nii.gz"):
        BratsDataset(root, modality=("t1ce", "t2", "flair"))


def test_content_errors(tmp_path):
    seg = _seg()
    brats_case(tmp_path, "Bad", seg, {"flair": np.ones((12, 10, 9), np.int16)})
    with pytest.raises(DatasetError, match=r"shape \(12, 10, 9\).*must match voxel for voxel"):
        list(BratsDataset(tmp_path))
    seg3 = seg.copy()
    seg3[0, 0, 0] = 3
    brats_case(tmp_path, "Bad", seg3)
    with pytest.raises(DatasetError, match=r"label\(s\) \[3\].*2017-2021 scheme"):
        list(BratsDataset(tmp_path, target="core"))
    (whole,) = BratsDataset(tmp_path, slices=[0])  # whole tumour = seg > 0 needs no scheme
    assert whole.gt[0, 0] == 1 and whole.area == 1
    with pytest.raises(DatasetError, match=r"slice 8 is out of range.*8 slices"):
        list(BratsDataset(tmp_path, slices=[8]))
    (tmp_path / "Bad" / "Bad_seg.nii.gz").write_bytes(b"garbage")
    with pytest.raises(UnreadableFileError, match=r"Bad_seg.nii.gz as NIfTI"):
        list(BratsDataset(tmp_path))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target": "tumour"}, "target must be one of whole, core, enhancing"),
        ({"modality": "dwi"}, "modality must be one of t1, t1ce, t2, flair"),
        ({"modality": ("t1", "t2")}, "tuple of three"),
        ({"slices": "middle"}, "slices must be 'largest', 'all'"),
        ({"slices": [-1]}, "non-negative slice indices"),
        ({"axis": 3}, "axis must be 0, 1 or 2"),
    ],
)
def test_option_errors(root, kwargs, match):
    with pytest.raises(ValueError, match=match):
        BratsDataset(root, **kwargs)


REAL = SHARED_DATA / "brats2018_brainy"


@pytest.mark.skipif(not REAL.is_dir(), reason="real BraTS cases not available")
def test_real_cases_largest_slices():
    ds = BratsDataset(REAL)
    objs = list(ds)
    assert [o.name for o in objs] == [
        "Brats18_2013_2_1/z101/whole",
        "Brats18_TCIA05_396_1/z73/whole",
    ]
    for obj in objs:
        assert obj.image.shape == obj.gt.shape == (240, 240)
        assert obj.meta["spacing"] == (1.0, 1.0)
        # radiological view: the brain's front (anterior, low array y) is in the top rows
        rows = np.flatnonzero(obj.image.any(axis=1))
        assert rows[0] < 60 and rows[-1] > 180
    assert len(BratsDataset(REAL, slices="all")) == 58 + 76
