"""BraTS releases' layouts: 2012-2015 VSD folders of .mha, Decathlon Task01, 2023+ naming;
label schemes; background found or given."""

from __future__ import annotations

import json

import numpy as np
import pytest
from builders import write_nifti

from conftest import write_mha
from napari_clickseg.data.brats import BratsDataset, brain_voxels
from napari_clickseg.data.instances import DatasetError
from napari_clickseg.data.registry import detect_kind

SHAPE = (12, 10, 8)


def _labels(core_label: int, enhancing: int, oedema: int) -> np.ndarray:
    """A tumour at z = 5: oedema ring, a core voxel and two enhancing voxels."""
    seg = np.zeros(SHAPE, np.uint8)
    seg[3:6, 2:5, 5] = oedema
    seg[3, 2, 5] = core_label
    seg[4, 3, 5] = enhancing
    seg[5, 2, 5] = enhancing
    return seg


def _brain(base: int, background: int = 0) -> np.ndarray:
    rng = np.random.default_rng(base)
    volume = np.full(SHAPE, background, np.int16)
    volume[1:-1, 1:-1, :] = rng.integers(base, base + 100, (SHAPE[0] - 2, SHAPE[1] - 2, SHAPE[2]))
    return volume


def _areas(dataset) -> dict[str, int]:
    return {obj.name: obj.area for obj in dataset}


def test_brats2015_vsd_folders_of_metaimages_under_hgg(tmp_path):
    case = tmp_path / "HGG" / "brats_2013_pat0001_1"
    for k, sequence in enumerate(("MR_Flair", "MR_T1", "MR_T1c", "MR_T2")):
        folder = case / f"VSD.Brain.XX.O.{sequence}.5451{k}"
        folder.mkdir(parents=True)
        write_mha(folder / f"VSD.Brain.XX.O.{sequence}.5451{k}.mha", _brain(100 * (k + 1)))
    seg_folder = case / "VSD.Brain_3more.XX.O.OT.54517"
    seg_folder.mkdir()
    write_mha(seg_folder / "VSD.Brain_3more.XX.O.OT.54517.mha", _labels(3, 4, 2))
    (case / "._VSD.Brain.XX.O.MR_T2.54513").write_bytes(b"mac junk")
    assert detect_kind(tmp_path) == "brats"
    whole = BratsDataset(tmp_path)
    assert whole.layout == "brats2015"
    assert _areas(whole) == {"brats_2013_pat0001_1/z5/whole": 9}
    # 2012-2015 labels: core = necrosis 1 + non-enhancing 3 + enhancing 4
    assert _areas(BratsDataset(tmp_path, target="core")) == {"brats_2013_pat0001_1/z5/core": 3}
    (obj,) = BratsDataset(tmp_path, modality="t1ce")
    assert obj.meta["layout"] == "brats2015" and obj.image.dtype == np.uint8


def test_decathlon_task01_four_channel_volumes(tmp_path):
    channels = [_brain(100), _brain(300), _brain(500), _brain(700)]  # FLAIR, T1w, t1gd, T2w
    write_nifti(tmp_path / "imagesTr" / "BRATS_001.nii.gz", np.stack(channels, axis=-1))
    write_nifti(tmp_path / "labelsTr" / "BRATS_001.nii.gz", _labels(2, 3, 1))
    (tmp_path / "imagesTr" / "._BRATS_001.nii.gz").write_bytes(b"mac junk")
    assert detect_kind(tmp_path) == "brats"
    # Decathlon labels: 1 oedema, 2 non-enhancing, 3 enhancing; core = {2, 3}
    assert _areas(BratsDataset(tmp_path)) == {"BRATS_001/z5/whole": 9}
    assert _areas(BratsDataset(tmp_path, target="core")) == {"BRATS_001/z5/core": 3}
    assert _areas(BratsDataset(tmp_path, target="enhancing")) == {"BRATS_001/z5/enhancing": 2}
    flair = next(iter(BratsDataset(tmp_path))).meta["windows"]["flair"]
    t1ce = next(iter(BratsDataset(tmp_path, modality="t1ce"))).meta["windows"]["t1ce"]
    assert 100 <= flair[0] < flair[1] < 200 and 500 <= t1ce[0] < t1ce[1] < 600
    # the channel order follows dataset.json where it says otherwise
    order = {"0": "T1w", "1": "FLAIR", "2": "t1gd", "3": "T2w"}
    (tmp_path / "dataset.json").write_text(json.dumps({"modality": order}))
    flair = next(iter(BratsDataset(tmp_path))).meta["windows"]["flair"]
    assert 300 <= flair[0] < flair[1] < 400


def test_brats2023_naming_and_labels(tmp_path):
    case = tmp_path / "BraTS-GLI-00000-000"
    for theirs, base in (("t1n", 100), ("t1c", 200), ("t2w", 300), ("t2f", 400)):
        write_nifti(case / f"BraTS-GLI-00000-000-{theirs}.nii.gz", _brain(base))
    write_nifti(case / "BraTS-GLI-00000-000-seg.nii.gz", _labels(1, 3, 2))
    dataset = BratsDataset(tmp_path, target="enhancing")
    assert dataset.layout == "brats2023"
    assert _areas(dataset) == {"BraTS-GLI-00000-000/z5/enhancing": 2}
    with pytest.raises(FileNotFoundError, match=r"BraTS-GLI-00000-000-t2f.nii.gz"):
        (case / "BraTS-GLI-00000-000-t2f.nii.gz").unlink()
        BratsDataset(tmp_path)


def test_a_negative_constant_background_is_found_and_left_out_of_the_window(tmp_path):
    case = tmp_path / "Case_1"
    for modality in ("t1", "t1ce", "t2"):
        write_nifti(case / f"Case_1_{modality}.nii.gz", _brain(100))
    flair = _brain(100, background=-500)  # a normalised release: background -500
    write_nifti(case / "Case_1_flair.nii.gz", flair)
    write_nifti(case / "Case_1_seg.nii.gz", _labels(1, 4, 2))
    low, high = next(iter(BratsDataset(tmp_path))).meta["windows"]["flair"]
    assert 100 <= low < high < 200  # the -500 background left out
    low, _ = next(iter(BratsDataset(tmp_path, background=None))).meta["windows"]["flair"]
    assert low == -500  # every voxel counts
    low, _ = next(iter(BratsDataset(tmp_path, background=-500.0))).meta["windows"]["flair"]
    assert low >= 100
    mask = np.zeros(SHAPE, np.uint8)
    mask[4:8, 4:8, :] = 1
    write_nifti(case / "Case_1_brainmask.nii.gz", mask)
    dataset = BratsDataset(tmp_path, brain_mask="{case}_brainmask.nii.gz")
    low, high = next(iter(dataset)).meta["windows"]["flair"]
    inside = flair[4:8, 4:8, :]
    assert inside.min() <= low < high <= inside.max()


def test_brain_voxels_rules():
    volume = np.full((6, 6, 6), 7.0)
    volume[2:4, 2:4, 2:4] = 1.0
    assert brain_voxels(volume).sum() == 8
    noisy = np.random.default_rng(0).normal(size=(6, 6, 6))
    assert brain_voxels(noisy) is None  # no constant background: every voxel
    with pytest.raises(ValueError, match="background must be 'auto', a number or None"):
        brain_voxels(volume, "zero")


def test_a_decathlon_case_without_labels_is_explained(tmp_path):
    write_nifti(tmp_path / "imagesTr" / "BRATS_002.nii.gz", np.zeros((*SHAPE, 4), np.int16))
    (tmp_path / "labelsTr").mkdir()
    with pytest.raises(DatasetError, match=r"BRATS_002\.nii\.gz has no label file"):
        BratsDataset(tmp_path)
