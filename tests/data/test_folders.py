"""Image/mask folders (GrabCut, Berkeley, plain) and the official pre-sliced medical layouts."""

from __future__ import annotations

import numpy as np
import pytest
from builders import SHARED_DATA, write_image

from napari_clickseg.data.folders import ImageMaskFolder, OfficialSlicesDataset, trimap_to_gt
from napari_clickseg.data.instances import DatasetError
from napari_clickseg.io import UnreadableFileError


def _trimap() -> np.ndarray:
    mask = np.zeros((8, 10), np.uint8)
    mask[2:6, 2:7] = 128  # unlabelled band
    mask[3:5, 3:6] = 255  # object
    return mask


def test_trimap_rules():
    gt = trimap_to_gt(_trimap())
    assert gt.dtype == np.int8
    assert (gt == 1).sum() == 6 and (gt == -1).sum() == 20 - 6 and gt[0, 0] == 0
    low = np.array([[0, 1, 100, 127, 128, 129, 255]], np.uint8)
    assert trimap_to_gt(low, "trimap").tolist() == [[0, 0, 0, 0, -1, 1, 1]]
    assert trimap_to_gt(low, "binary").tolist() == [[0, 1, 1, 1, 1, 1, 1]]
    assert trimap_to_gt(np.array([[0, 1]]), "auto").tolist() == [[0, 1]]  # 0/1 masks
    with pytest.raises(ValueError, match="mask_rule must be one of auto, trimap, binary"):
        trimap_to_gt(low, "soft")


def test_grabcut_layout_with_ignore_and_colour_mask(tmp_path):
    rgb = np.zeros((8, 10, 3), np.uint8)
    write_image(tmp_path / "data_GT" / "b10.jpg", rgb)
    write_image(tmp_path / "data_GT" / "b2.bmp", rgb)
    write_image(tmp_path / "boundary_GT" / "b10.bmp", _trimap())
    colour = np.zeros((8, 10, 3), np.uint8)
    colour[1:3, 1:3, 2] = 255  # blue: OpenCV's channel 0, the one the official loader reads
    colour[5:7, 5:7, 0] = 255  # red only: background
    write_image(tmp_path / "boundary_GT" / "b2.png", colour)
    ds = ImageMaskFolder(tmp_path)
    objs = list(ds)
    assert [o.name for o in objs] == ["b2", "b10"]  # natural order
    assert objs[0].area == 4 and (objs[0].gt[5:7, 5:7] == 0).all()
    assert (objs[1].gt == -1).sum() == 14
    assert objs[1].image.shape == (8, 10, 3) and objs[1].meta["layout"] == "GrabCut"
    assert len(ds) == 2


def test_plain_binary_masks_grayscale_images_and_empty_masks(tmp_path):
    write_image(tmp_path / "images" / "a.png", np.full((6, 6), 7, np.uint8))
    write_image(tmp_path / "images" / "b.tif", np.full((6, 6, 4), 9, np.uint8))  # RGBA
    write_image(tmp_path / "images" / "c.png", np.zeros((6, 6), np.uint8))
    mask = np.zeros((6, 6), np.uint8)
    mask[1:3, 1:3] = 1
    write_image(tmp_path / "masks" / "a.png", mask)
    write_image(tmp_path / "masks" / "b.png", mask * 255)
    write_image(tmp_path / "masks" / "c.png", np.zeros((6, 6), np.uint8))
    write_image(tmp_path / "masks" / "extra.png", mask)  # no image: ignored
    ds = ImageMaskFolder(tmp_path, name="plain")
    objs = list(ds)
    assert [o.name for o in objs] == ["a", "b"] and ds.name == "plain"
    assert objs[0].area == objs[1].area == 4
    assert objs[0].image.ndim == 2  # grayscale stays 2D
    assert objs[1].image.shape == (6, 6, 3)  # alpha dropped
    assert [(s.name, s.reason) for s in ds.skipped] == [("c", "empty ground truth")]
    assert len(ImageMaskFolder(tmp_path, mask_rule="trimap")) == 1  # 0/1 mask "a" is empty


def test_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder not found"):
        ImageMaskFolder(tmp_path / "nope")
    (tmp_path / "pics").mkdir()
    with pytest.raises(DatasetError, match=r"no known layout.*data_GT/ \+ boundary_GT/.*pics/"):
        ImageMaskFolder(tmp_path)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    with pytest.raises(DatasetError, match="no image files"):
        ImageMaskFolder(tmp_path)
    write_image(tmp_path / "images" / "a.png", np.zeros((6, 6), np.uint8))
    write_image(tmp_path / "images" / "a.jpg", np.zeros((6, 6), np.uint8))
    with pytest.raises(DatasetError, match="two image files share the stem 'a'"):
        ImageMaskFolder(tmp_path)
    (tmp_path / "images" / "a.jpg").unlink()
    with pytest.raises(DatasetError, match="have no mask with the same stem"):
        ImageMaskFolder(tmp_path)
    write_image(tmp_path / "masks" / "a.png", np.zeros((5, 6), np.uint8))
    write_image(tmp_path / "masks" / "a.png", np.ones((5, 6), np.uint8))
    with pytest.raises(DatasetError, match=r"is 6x6 but its mask .* is 5x6"):
        next(iter(ImageMaskFolder(tmp_path)))
    write_image(tmp_path / "masks" / "a.png", np.zeros((6, 6), np.uint8))
    with pytest.raises(DatasetError, match=r"no object to evaluate.*empty ground truth"):
        list(ImageMaskFolder(tmp_path))
    (tmp_path / "images" / "a.png").write_bytes(b"not a png")
    write_image(tmp_path / "masks" / "a.png", np.ones((6, 6), np.uint8))
    with pytest.raises(UnreadableFileError, match="cannot decode image"):
        list(ImageMaskFolder(tmp_path))
    with pytest.raises(ValueError, match="mask_rule must be one of"):
        ImageMaskFolder(tmp_path, mask_rule="x")


def test_official_slices_binary_and_labels(tmp_path):
    mask = np.zeros((6, 8), np.uint8)
    mask[1:3, 1:4] = 1
    mask[4, 4:7] = 4
    for folder in ("brats", "oai"):
        write_image(tmp_path / folder / "image" / "s1.png", np.full((6, 8), 50, np.uint8))
    write_image(tmp_path / "brats" / "annotation" / "s1.png", mask)
    write_image(tmp_path / "oai" / "annotations" / "s1.png", mask)
    (obj,) = OfficialSlicesDataset(tmp_path / "brats")
    assert obj.name == "s1" and obj.area == 9  # all tumour labels make one object
    objs = list(OfficialSlicesDataset(tmp_path / "oai"))
    assert [(o.name, o.area) for o in objs] == [("s1/1", 6), ("s1/4", 3)]
    with pytest.raises(DatasetError, match=r"image/ \+ annotation/ or image/ \+ annotations/"):
        OfficialSlicesDataset(tmp_path)


GRABCUT = SHARED_DATA / "grabcut"


@pytest.mark.skipif(not GRABCUT.is_dir(), reason="real GrabCut data not available")
def test_real_grabcut():
    objs = list(ImageMaskFolder(GRABCUT))
    assert len(objs) == 50
    assert sum(bool((o.gt == -1).any()) for o in objs) == 42
    assert all(o.image.ndim == 3 and o.image.shape[:2] == o.gt.shape for o in objs)


def test_ritm_img_gt_layout_reads_coloured_128_masks_as_objects(tmp_path):
    """DAVIS stores the object as (128, 0, 0): RITM takes the channel maximum > 0."""
    image = np.full((8, 10, 3), 60, np.uint8)
    mask = np.zeros((8, 10, 3), np.uint8)
    mask[2:5, 3:7, 0] = 128
    write_image(tmp_path / "img" / "000.jpg", image)
    write_image(tmp_path / "gt" / "000.png", mask)
    (obj,) = list(ImageMaskFolder(tmp_path))
    assert obj.gt.sum() == 12 and obj.gt[3, 4] == 1 and (obj.gt >= 0).all()


@pytest.mark.skipif(not (SHARED_DATA / "davis").is_dir(), reason="needs ../shared/data/davis")
def test_real_davis_and_coco_mval_have_one_object_per_image():
    assert len(ImageMaskFolder(SHARED_DATA / "davis")) == 345
    assert len(ImageMaskFolder(SHARED_DATA / "coco_mval")) == 400
