"""open_dataset: explicit kinds, layout detection and its error messages."""

from __future__ import annotations

import numpy as np
import pytest
from builders import brats_case, write_image, write_nifti

from napari_clickseg.data.brats import BratsDataset
from napari_clickseg.data.folders import ImageMaskFolder, OfficialSlicesDataset
from napari_clickseg.data.instances import DatasetError
from napari_clickseg.data.isbi import IsbiEmDataset
from napari_clickseg.data.oai_zib import OaiZibDataset
from napari_clickseg.data.registry import DATASET_KINDS, detect_kind, open_dataset
from napari_clickseg.data.sstem import SsTemDataset

PNG = np.zeros((4, 4), np.uint8)


def _layouts(root):
    """One tiny folder per kind."""
    seg = np.zeros((4, 4, 3), np.uint8)
    seg[1, 1, 1] = 2
    brats_case(root / "brats", "P1", seg)
    write_nifti(root / "oai" / "image" / "k.nii.gz", np.zeros((4, 4, 4), np.int16))
    write_nifti(root / "oai" / "mask" / "k.nii.gz", np.zeros((4, 4, 4), np.uint8))
    write_image(root / "sstem" / "raw" / "00.tif", PNG)
    write_image(root / "sstem" / "mitochondria" / "00.png", PNG)
    write_image(root / "isbi" / "image" / "0.png", PNG)
    write_image(root / "isbi" / "label" / "0.png", PNG)
    write_image(root / "grabcut" / "data_GT" / "a.png", PNG)
    write_image(root / "grabcut" / "boundary_GT" / "a.png", PNG)
    write_image(root / "slices" / "image" / "a.png", PNG)
    write_image(root / "slices" / "annotation" / "a.png", PNG)
    return {
        "brats": BratsDataset,
        "oai": OaiZibDataset,
        "sstem": SsTemDataset,
        "isbi": IsbiEmDataset,
        "grabcut": ImageMaskFolder,
        "slices": OfficialSlicesDataset,
    }


def test_detects_every_layout(tmp_path):
    for folder, cls in _layouts(tmp_path).items():
        ds = open_dataset(str(tmp_path / folder))
        assert type(ds) is cls, folder
    assert detect_kind(tmp_path / "brats" / "P1") == "brats"  # a single case folder


def test_explicit_kind_and_options(tmp_path):
    _layouts(tmp_path)
    ds = open_dataset(f"brats:{tmp_path / 'brats'}", target="core", slices="all")
    assert isinstance(ds, BratsDataset) and ds.target == "core"
    assert isinstance(open_dataset(f"isbi:{tmp_path / 'isbi'}", min_area=3), IsbiEmDataset)
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        open_dataset(f"folder:{tmp_path / 'grabcut'}", colour=True)
    assert set(DATASET_KINDS) == {
        "brats", "oai_zib", "sstem", "epfl", "isbi", "folder", "slices", "synthetic", "zarr"
    }


def test_errors(tmp_path):
    with pytest.raises(DatasetError, match=r"unknown data set kind 'nifti'.*known kinds: brats"):
        open_dataset(f"nifti:{tmp_path}")
    with pytest.raises(FileNotFoundError, match="data set folder not found"):
        open_dataset(str(tmp_path / "none"))
    write_image(tmp_path / "x.png", PNG)
    with pytest.raises(DatasetError, match="a data set is a folder, got a file"):
        open_dataset(tmp_path / "x.png")
    with pytest.raises(
        DatasetError, match=r"(?s)matches no known data set layout.*brats:.*slices:.*x\.png"
    ):
        open_dataset(tmp_path)
    (tmp_path / "image").mkdir()
    (tmp_path / "label").mkdir()
    (tmp_path / "annotation").mkdir()
    with pytest.raises(DatasetError, match=r"matches several data set layouts \(isbi, slices\)"):
        open_dataset(tmp_path)
