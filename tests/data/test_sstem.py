"""ssTEM adapter: raw/*.tif + mitochondria/*.png, one object per 4-connected component."""

from __future__ import annotations

import numpy as np
import pytest
from builders import write_image

from napari_clickseg.data.instances import DatasetError
from napari_clickseg.data.sstem import SsTemDataset


def _mask() -> np.ndarray:
    mask = np.zeros((12, 16), np.uint8)
    mask[1:3, 1:3] = 255  # component 1: first in a row-major scan
    mask[3, 3] = 255  # touches component 1 only at a corner: its own component (3)
    mask[1, 10:14] = 255  # component 2: starts on row 1, right of component 1
    mask[8:11, 5:7] = 255  # component 4
    return mask


@pytest.fixture
def root(tmp_path):
    raw = np.arange(12 * 16, dtype=np.uint8).reshape(12, 16)
    for stem in ("00", "01"):
        write_image(tmp_path / "raw" / f"{stem}.tif", raw)
    write_image(tmp_path / "mitochondria" / "00.png", _mask())
    write_image(tmp_path / "mitochondria" / "01.png", np.zeros((12, 16), np.uint8))
    return tmp_path


def test_components_are_objects_in_scan_order(root):
    ds = SsTemDataset(root)
    objs = list(ds)
    assert [o.name for o in objs] == [f"00/mitochondria{k}" for k in (1, 2, 3, 4)]
    assert [o.area for o in objs] == [4, 4, 1, 6]
    assert objs[2].gt[3, 3] == 1 and objs[0].gt[3, 3] == 0  # diagonal neighbours stay apart
    assert objs[0].image.shape == (12, 16) and objs[0].image.dtype == np.uint8
    assert objs[0].image is objs[3].image
    assert len(ds) == 4
    assert [(s.name, s.reason) for s in ds.skipped] == [("01", "no mitochondria in the mask")]


def test_other_label_folder(root):
    write_image(root / "synapses" / "00.png", (_mask() > 0).astype(np.uint8))
    write_image(root / "synapses" / "01.png", np.zeros((12, 16), np.uint8))
    assert next(o.name for o in SsTemDataset(root, labels="synapses")) == "00/synapses1"


def test_errors(root, tmp_path):
    with pytest.raises(
        DatasetError, match=r"matches no known layout: expected raw/\*.tif \+ vesicles"
    ):
        SsTemDataset(root, labels="vesicles")
    (root / "mitochondria" / "01.png").unlink()
    with pytest.raises(DatasetError, match=r"1 of 2 image.*no mask with the same stem.*01"):
        SsTemDataset(root)
    write_image(root / "mitochondria" / "01.png", np.ones((5, 5), np.uint8))
    with pytest.raises(DatasetError, match=r"is 12x16 but its mask .* is 5x5"):
        list(SsTemDataset(root))
    (root / "mitochondria" / "01.png").write_bytes(b"broken")
    with pytest.raises(ValueError, match="cannot decode image"):
        len(SsTemDataset(root))


def test_png_sections_in_a_folder_beside_the_labels(tmp_path):
    """The ISBI 2012 organelle labels: masks here, raw PNG sections in the ISBI folder."""
    raw = np.full((12, 16), 90, np.uint8)
    write_image(tmp_path / "isbi" / "image" / "0.png", raw)
    write_image(tmp_path / "organelles" / "mitochondria" / "0.png", _mask())
    ds = SsTemDataset(tmp_path / "organelles", images="../isbi/image")
    names = [o.name for o in ds]
    assert names == ["0/mitochondria1", "0/mitochondria2", "0/mitochondria3", "0/mitochondria4"]


def test_epfl_layout_is_detected_and_read(tmp_path):
    from napari_clickseg.data.registry import detect_kind, open_dataset
    from napari_clickseg.data.sstem import EpflMitoDataset

    write_image(tmp_path / "image" / "training0000.png", np.full((12, 16), 70, np.uint8))
    write_image(tmp_path / "mitochondrion" / "training0000.png", _mask())
    write_image(tmp_path / "PSD" / "training0000.png", np.zeros((12, 16), np.uint8))
    assert detect_kind(tmp_path) == "epfl"
    ds = open_dataset(tmp_path)
    assert isinstance(ds, EpflMitoDataset) and len(ds) == 4
    assert next(iter(ds)).name == "training0000/mitochondrion1"
    with pytest.raises(DatasetError, match="no object"):
        len(EpflMitoDataset(tmp_path, labels="PSD"))
