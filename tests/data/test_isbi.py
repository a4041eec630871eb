"""ISBI 2012 adapter: PNG slices in numeric order, TIFF stacks, 4-connected cells."""

from __future__ import annotations

import numpy as np
import pytest
from builders import SHARED_DATA, write_image

from napari_clickseg.data.instances import DatasetError
from napari_clickseg.data.isbi import IsbiEmDataset


def _label(n_cells: int) -> np.ndarray:
    """255 inside ``n_cells`` cells in the top row, 0 on membranes."""
    label = np.zeros((10, 24), np.uint8)
    for k in range(n_cells):
        label[1:4, 1 + 3 * k : 3 + 3 * k] = 255
    return label


@pytest.fixture
def pngs(tmp_path):
    for n in (0, 1, 2, 10):  # numeric order 0, 1, 2, 10 (lexicographic: 0, 1, 10, 2)
        write_image(tmp_path / "image" / f"{n}.png", np.full((10, 24), n, np.uint8))
        write_image(tmp_path / "label" / f"{n}.png", _label(n % 5 + 1))
    return tmp_path


def test_png_slices_in_numeric_order(pngs):
    ds = IsbiEmDataset(pngs)
    names = [o.name for o in ds]
    assert names[:3] == ["0/cell1", "1/cell1", "1/cell2"]
    assert [o.meta["slice"] for o in ds][-1] == 10
    assert len(ds) == 1 + 2 + 3 + 1 == len(names)
    obj = next(iter(IsbiEmDataset(pngs, slices=[2])))
    assert obj.image[0, 0] == 2 and obj.area == 6


def test_slice_selection_and_min_area(pngs):
    ds = IsbiEmDataset(pngs, slices=[10, 2])
    assert [o.meta["slice"] for o in ds] == [2, 2, 2, 10]
    label = _label(0)
    label[5:9, 5:9] = 255  # a 16-pixel cell
    label[6, 15] = 200  # a 1-pixel fragment (> 127 counts as inside)
    label[7, 16] = 255  # corner-touching: another fragment
    label[8, 20] = 100  # <= 127: membrane
    write_image(pngs / "label" / "0.png", label)
    assert [o.area for o in IsbiEmDataset(pngs, slices=[0])] == [16, 1, 1]
    ds = IsbiEmDataset(pngs, slices=[0], min_area=2)
    assert [o.name for o in ds] == ["0/cell1"]
    assert [s.name for s in ds.skipped] == ["0/cell2", "0/cell3"]
    assert "area 1 below min_area 2" in ds.skipped[0].reason


def test_tiff_stacks(tmp_path):
    volume = np.stack([np.full((10, 24), k, np.uint8) for k in range(3)])
    labels = np.stack([_label(k + 1) for k in range(3)])
    write_image(tmp_path / "train-volume.tif", volume)
    write_image(tmp_path / "train-labels.tif", labels)
    ds = IsbiEmDataset(tmp_path)
    assert len(ds) == 6
    objs = list(IsbiEmDataset(tmp_path, slices=[2]))
    assert [o.name for o in objs] == ["2/cell1", "2/cell2", "2/cell3"]
    assert objs[0].image[0, 0] == 2 and objs[0].source.endswith("train-volume.tif[2]")
    write_image(tmp_path / "train-labels.tif", labels[:2])
    with pytest.raises(DatasetError, match=r"has 3 pages but train-labels.tif has 2"):
        IsbiEmDataset(tmp_path)


def test_errors(pngs, tmp_path):
    with pytest.raises(DatasetError, match=r"slice\(s\) \[7\] not in .* slices 0..10 \(4 in all\)"):
        IsbiEmDataset(pngs, slices=[7, 1])
    with pytest.raises(ValueError, match="min_area must be >= 0"):
        IsbiEmDataset(pngs, min_area=-1)
    write_image(pngs / "image" / "x.png", np.zeros((10, 24), np.uint8))
    write_image(pngs / "label" / "x.png", np.zeros((10, 24), np.uint8))
    with pytest.raises(DatasetError, match=r"must be slice numbers \(N.png\), found x"):
        IsbiEmDataset(pngs)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"matches no known layout.*train-volume.tif"):
        IsbiEmDataset(tmp_path / "empty")


REAL = SHARED_DATA / "isbi2012_em"


@pytest.mark.skipif(not REAL.is_dir(), reason="real ISBI 2012 slices not available")
def test_real_slice_20():
    objs = list(IsbiEmDataset(REAL, slices=20))
    assert len(objs) == 96  # the README's "about 114" is the mean over the 30 slices
    assert objs[0].image.shape == (512, 512)
    assert len(IsbiEmDataset(REAL)) == 3431
