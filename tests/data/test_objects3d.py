"""3D objects for propagation: synthetic EM instances and BraTS tumours."""

from __future__ import annotations

import numpy as np
import pytest
from builders import brats_case

from napari_clickseg.data.brats import BratsDataset
from napari_clickseg.data.objects3d import Object3D, brats_objects_3d, em_objects_3d
from napari_clickseg.data.synthetic import make_em_stack


def test_em_objects_follow_instance_ids():
    image, cells, _ = make_em_stack(n_slices=4, shape=(48, 48), seed=2)
    objs = list(em_objects_3d(image, cells, spacing=(50.0, 4.0, 4.0)))
    ids = [int(i) for i in np.unique(cells) if i]
    assert [o.name for o in objs] == [f"cell{i}" for i in ids]
    for obj, i in zip(objs, ids, strict=True):
        assert obj.image is image
        np.testing.assert_array_equal(obj.gt, cells == i)
        areas = (cells == i).sum(axis=(1, 2))
        assert obj.slices == tuple(int(z) for z in np.flatnonzero(areas))
        assert obj.seed_slice == int(np.argmax(areas))
        assert obj.spacing == (50.0, 4.0, 4.0)


def test_em_objects_errors():
    image = np.zeros((2, 4, 4), np.uint8)
    with pytest.raises(ValueError, match=r"must be \(Z, Y, X\) matching the image stack"):
        em_objects_3d(image, np.zeros((2, 4, 5), np.int32))
    with pytest.raises(ValueError, match="labels must be integers"):
        em_objects_3d(image, np.zeros((2, 4, 4), np.float32))
    with pytest.raises(ValueError, match="no instance"):
        em_objects_3d(image, np.zeros((2, 4, 4), np.int32))


def test_object3d_validation():
    image = np.zeros((3, 4, 4), np.uint8)
    gt = np.zeros((3, 4, 4), bool)
    with pytest.raises(ValueError, match="empty ground truth"):
        Object3D.from_volumes("x", image, gt)
    gt[1, 1, 1] = True
    with pytest.raises(ValueError, match="image must be uint8"):
        Object3D.from_volumes("x", image.astype(np.float32), gt)
    with pytest.raises(ValueError, match="gt must be bool of shape"):
        Object3D("x", image, gt[:2], (1,), 1)
    with pytest.raises(ValueError, match="seed slice 2 must be one of"):
        Object3D("x", image, gt, (1,), 2)


def test_brats_3d_matches_the_2d_slices(tmp_path):
    seg = np.zeros((12, 10, 8), np.uint8)
    seg[3:6, 2:5, 4:7] = 2
    seg[4, 3, 5] = 4
    seg[5, 2, 5] = 1  # largest cross-section at z = 5 (tie with 4 and 6: area 9 each)
    seg[7, 7, 5] = 2
    brats_case(tmp_path, "C1", seg, spacing=(1.0, 1.5, 2.0))
    brats_case(tmp_path, "C2", np.where(seg == 4, 0, seg).astype(np.uint8))
    (obj,) = [
        o for o in brats_objects_3d(tmp_path, modality=("t1", "t2", "flair")) if "C1" in o.name
    ]
    assert obj.name == "C1/whole"
    assert obj.image.shape == (8, 10, 12, 3) and obj.gt.shape == (8, 10, 12)
    assert obj.slices == (4, 5, 6) and obj.seed_slice == 5
    assert obj.spacing == (2.0, 1.5, 1.0)
    (flat,) = BratsDataset(tmp_path / "C1", slices=[4], modality=("t1", "t2", "flair"))
    np.testing.assert_array_equal(obj.image[4], flat.image)
    np.testing.assert_array_equal(obj.gt[4], flat.gt == 1)
    names = [o.name for o in brats_objects_3d(tmp_path, target="enhancing")]
    assert names == ["C1/enhancing"]  # C2 has no enhancing tumour
