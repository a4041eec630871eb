"""OAI-ZIB adapter: NIfTI volumes (iSegFormer slices 40/80/120) and the official 2D layout."""

from __future__ import annotations

import numpy as np
import pytest
from builders import write_image, write_nifti

from napari_clickseg.data.instances import DatasetError
from napari_clickseg.data.oai_zib import OaiZibDataset
from napari_clickseg.data.synthetic import make_knee_mri


@pytest.fixture(scope="module")
def knee():
    image, labels = make_knee_mri((130, 48, 48), seed=1)  # (Z sagittal, Y, X)
    return image, labels


def _to_nifti(vol: np.ndarray) -> np.ndarray:
    """(Z, Y, X) -> nibabel (x, y, z) with the sagittal slices along axis 2."""
    return np.ascontiguousarray(np.transpose(vol, (2, 1, 0)))


@pytest.fixture
def volumes(tmp_path, knee):
    image, labels = knee
    write_nifti(tmp_path / "image" / "9001.nii.gz", _to_nifti(image), (0.36, 0.36, 0.7))
    write_nifti(tmp_path / "mask" / "9001.nii.gz", _to_nifti(labels))
    return tmp_path


def test_cartilage_objects_at_iseg_slices(volumes, knee):
    image, labels = knee
    ds = OaiZibDataset(volumes, labels="cartilage")
    objs = list(ds)
    assert [o.name for o in objs] == [
        "9001/z40/femoral",
        "9001/z40/tibial",
        "9001/z80/femoral",
        "9001/z80/tibial",
    ]
    assert len(ds) == 4
    for obj in objs:
        z, value = obj.meta["slice"], obj.meta["value"]
        np.testing.assert_array_equal(obj.gt, (labels[z] == value).astype(np.int8))
        assert obj.image.shape == labels[z].shape and obj.image.dtype == np.uint8
        assert obj.meta["spacing"] == pytest.approx((0.36, 0.36))
    assert objs[0].image is objs[1].image  # one image per slice, shared
    # slice 120 has no cartilage (the synthetic bones sit in the central slices)
    assert {s.name for s in ds.skipped} == {"9001/z120/femoral", "9001/z120/tibial"}
    assert "need more than 20" in ds.skipped[0].reason
    # the image is windowed at volume level: brighter tissue stays brighter
    z40 = image[40]
    assert np.corrcoef(z40.ravel(), objs[0].image.ravel())[0, 1] > 0.95


def test_zib_label_scheme_and_threshold(tmp_path, knee):
    _, labels = knee
    zib = np.zeros_like(labels)
    zib[labels == 1] = 2  # femoral cartilage
    zib[labels == 2] = 4  # tibial cartilage
    zib[0:5] = 1  # femoral bone elsewhere: not an object
    write_nifti(tmp_path / "image" / "k1.nii", _to_nifti(labels.astype(np.float32)))
    write_nifti(tmp_path / "mask" / "k1.nii", _to_nifti(zib))
    assert len(OaiZibDataset(tmp_path)) == 4  # labels="zib" is the default
    counts = {"femoral": int((labels[40] == 1).sum()), "tibial": int((labels[40] == 2).sum())}
    small, large = sorted(counts, key=counts.get)
    ds = OaiZibDataset(tmp_path, min_pixels=counts[small], slices=(40,))
    assert [o.name for o in ds] == [f"k1/z40/{large}"]
    value = {"femoral": 2, "tibial": 4}[small]
    assert f"{counts[small]} pixels of label {value}" in ds.skipped[0].reason
    assert [o.name for o in OaiZibDataset(tmp_path, labels={"fc": 2}, slices=(80,))] == [
        "k1/z80/fc"
    ]


def test_short_volume_slices_are_skipped_and_empty_raises(tmp_path):
    labels = np.zeros((8, 8, 30), np.uint8)
    write_nifti(tmp_path / "image" / "a.nii.gz", labels.astype(np.int16))
    write_nifti(tmp_path / "mask" / "a.nii.gz", labels)
    ds = OaiZibDataset(tmp_path)
    with pytest.raises(DatasetError, match="no object to evaluate"):
        len(ds)
    assert "slice 40 is outside the volume (axis 2 has 30 slices)" in ds.skipped[0].reason


def test_official_2d_layout(tmp_path):
    mask = np.zeros((16, 20), np.uint8)
    mask[2:6, 3:9] = 128  # femoral cartilage
    mask[10:13, 4:15] = 255  # tibial cartilage
    for stem in ("9001_40", "9001_80"):
        write_image(tmp_path / "test" / "image" / f"{stem}.png", np.full((16, 20, 3), 90, np.uint8))
        write_image(tmp_path / "test" / "annotations" / f"{stem}.png", mask)
    write_image(tmp_path / "test" / "image" / "9002_40.png", np.zeros((16, 20), np.uint8))
    write_image(tmp_path / "test" / "annotations" / "9002_40.png", np.zeros((16, 20), np.uint8))
    ds = OaiZibDataset(tmp_path)
    assert ds.layout == "slices"
    objs = list(ds)
    assert [o.name for o in objs] == ["9001_40/128", "9001_40/255", "9001_80/128", "9001_80/255"]
    assert objs[0].area == 24 and objs[1].area == 33
    assert objs[0].image.shape == (16, 20, 3)
    assert len(ds) == 4 and [s.name for s in ds.skipped] == ["9002_40"]


def test_errors(tmp_path, volumes):
    with pytest.raises(DatasetError, match=r"matches no known layout.*image/ \+ mask/.*found: a/"):
        (tmp_path / "other" / "a").mkdir(parents=True)
        OaiZibDataset(tmp_path / "other")
    write_nifti(volumes / "image" / "9002.nii.gz", np.zeros((4, 4, 4), np.int16))
    with pytest.raises(DatasetError, match=r"have no mask with the same stem.*9002"):
        OaiZibDataset(volumes)
    write_nifti(volumes / "mask" / "9002.nii.gz", np.ones((4, 4, 50), np.uint8))
    with pytest.raises(DatasetError, match="must match voxel for voxel"):
        list(OaiZibDataset(volumes, labels="cartilage", slices=(40,), min_pixels=0))
    with pytest.raises(ValueError, match="labels must be one of zib, cartilage"):
        OaiZibDataset(volumes, labels="bones")
    with pytest.raises(ValueError, match="positive int values"):
        OaiZibDataset(volumes, labels={"fc": 0})
    with pytest.raises(ValueError, match="axis must be 0, 1 or 2"):
        OaiZibDataset(volumes, axis=5)
