"""Training samples from adapters and generators; hold-out rules."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from skimage import io as skio

from napari_clickseg.training.click_sampler import MultiPointSampler
from napari_clickseg.training.config import PROJECT_HOLDOUT, DataSource
from napari_clickseg.training.dataset import (
    ClickTrainDataset,
    FitAndScale,
    PredictorView,
    TrainImage,
    build_augmentation,
    image_draw_probabilities,
    load_train_images,
    parse_holdout_rule,
)


def _isbi_folder(root: Path, slices: int = 30) -> Path:
    """ISBI-like PNG pairs: slice n has image value n and 2 cells."""
    for n in range(slices):
        label = np.zeros((24, 24), np.uint8)
        label[2:10, 2:10] = 255
        label[12:22, 12:22] = 255
        (root / "image").mkdir(parents=True, exist_ok=True)
        (root / "label").mkdir(parents=True, exist_ok=True)
        skio.imsave(
            root / "image" / f"{n}.png", np.full((24, 24), n, np.uint8), check_contrast=False
        )
        skio.imsave(root / "label" / f"{n}.png", label, check_contrast=False)
    return root


def _brats_folder(root: Path, cases: list[str]) -> Path:
    rng = np.random.default_rng(0)
    for name in cases:
        seg = np.zeros((16, 16, 3), np.uint8)
        seg[4:10, 4:10, 1] = 2
        seg[5:8, 5:8, 1] = 1
        (root / name).mkdir(parents=True, exist_ok=True)
        for m in ("t1", "t1ce", "t2", "flair"):
            vol = rng.integers(100, 200, seg.shape).astype(np.int16)
            nib.save(nib.Nifti1Image(vol, np.eye(4)), root / name / f"{name}_{m}.nii.gz")
        nib.save(nib.Nifti1Image(seg, np.eye(4)), root / name / f"{name}_seg.nii.gz")
    return root


def _dataset(images, crop=32, samples=8, **kwargs):
    sampler = MultiPointSampler(max_num_points=6, prob_gamma=0.8, merge_objects_prob=0.15)
    return ClickTrainDataset(
        images,
        crop,
        sampler,
        build_augmentation(crop),
        samples,
        seed=3,
        min_object_area=4,
        **kwargs,
    )


def test_project_holdout_keeps_isbi_slices_20_to_29_out(tmp_path):
    root = _isbi_folder(tmp_path / "isbi")
    rules = [parse_holdout_rule(r) for r in PROJECT_HOLDOUT]
    images, excluded = load_train_images([DataSource(f"isbi:{root}")], rules)
    values = sorted({int(i.image[0, 0, 0]) for i in images})  # image value = slice number
    assert values == list(range(20))
    assert len(excluded) == 10 * 2 and all("/cell" in e for e in excluded)
    assert {e.split(": ")[1].split("/")[0] for e in excluded} == {str(n) for n in range(20, 30)}
    # without the rules every slice is used
    all_images, none = load_train_images([DataSource(f"isbi:{root}")], [])
    assert len(all_images) == 30 and none == []


def test_project_holdout_keeps_brats_case_out(tmp_path):
    root = _brats_folder(tmp_path / "brats", ["Brats18_TCIA05_396_1", "Brats18_2013_2_1"])
    rules = [parse_holdout_rule(r) for r in PROJECT_HOLDOUT]
    source = DataSource(f"brats:{root}", {"slices": "all", "target": "core"})
    images, excluded = load_train_images([source], rules)
    assert excluded and all("Brats18_TCIA05_396_1" in e for e in excluded)
    assert images and all("Brats18_TCIA05_396_1" not in i.name for i in images)
    assert all("Brats18_TCIA05_396_1" not in n for i in images for n in i.object_names)


SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.mark.skipif(not (SHARED_DATA / "isbi2012_em").is_dir(), reason="real ISBI data absent")
def test_real_isbi_slices_20_to_29_are_never_training_images():
    rules = [parse_holdout_rule(r) for r in PROJECT_HOLDOUT]
    source = DataSource(f"isbi:{SHARED_DATA / 'isbi2012_em'}", {"min_area": 100})
    images, excluded = load_train_images([source], rules)
    kept = {name.split("/")[0] for i in images for name in i.object_names}
    held = {e.split(": ")[1].split("/")[0] for e in excluded}
    assert kept == {str(n) for n in range(20)} and held == {str(n) for n in range(20, 30)}


@pytest.mark.skipif(not (SHARED_DATA / "brats2018_brainy").is_dir(), reason="real BraTS absent")
def test_real_brats_case_396_is_never_a_training_image():
    rules = [parse_holdout_rule(r) for r in PROJECT_HOLDOUT]
    source = DataSource(f"brats:{SHARED_DATA / 'brats2018_brainy'}")
    images, excluded = load_train_images([source], rules)
    assert [n for i in images for n in i.object_names] == ["Brats18_2013_2_1/z101/whole"]
    assert [e.split(": ")[1] for e in excluded] == ["Brats18_TCIA05_396_1/z73/whole"]


def test_holdout_rule_forms():
    rule = parse_holdout_rule("isbi:slice=1,3-4")
    assert rule.values == ("1", "3", "4")
    assert rule.matches("isbi", "3/cell1", {"slice": 3})
    assert not rule.matches("isbi", "2/cell1", {"slice": 2})
    assert not rule.matches("sstem", "3/cell1", {"slice": 3})
    glob = parse_holdout_rule("*:name=case7/*")
    assert glob.matches("brats", "case7/z3/whole", {}) and not glob.matches("brats", "case8/z", {})
    for bad in ("isbi", "isbi:slice", "isbi:=3", "isbi:slice=9-2"):
        with pytest.raises(ValueError, match="hold-out rule"):
            parse_holdout_rule(bad)


def test_synthetic_items_have_the_training_layout_and_are_reproducible():
    images, _ = load_train_images([DataSource("synthetic:knee", {"shape": [12, 64, 64]})])
    assert images and all(i.image.dtype == np.uint8 and i.image.shape[2] == 3 for i in images)
    dataset = _dataset(images, crop=48)
    item = dataset[5]
    assert item["image"].shape == (3, 48, 48) and item["image"].dtype == torch.float32
    assert float(item["image"].min()) >= 0.0 and float(item["image"].max()) <= 1.0
    assert item["gt"].shape == (1, 48, 48) and int((item["gt"] == 1).sum()) >= 4
    points = item["points"]
    assert points.shape == (12, 3)
    positives = points[:6][points[:6, 2] >= 0]
    assert len(positives) >= 1
    rows, cols = positives[:, 0].long(), positives[:, 1].long()
    assert bool((item["gt"][0, rows, cols] == 1).all())  # positive clicks lie on the object
    again = dataset[5]
    assert all(torch.equal(item[k], again[k]) for k in item)
    dataset.set_epoch(1)
    assert not torch.equal(dataset[5]["image"], item["image"])


def test_every_synthetic_kind_gives_objects():
    for kind, options in (
        ("em_cells", {"shape": [2, 64, 64]}),
        ("em_mitochondria", {"shape": [2, 96, 96]}),
        ("brain", {"shape": [8, 48, 48], "slice_step": 2}),
    ):
        images, _ = load_train_images([DataSource(f"synthetic:{kind}", options)])
        assert images and all(len(i.objects) >= 1 for i in images), kind
    with pytest.raises(ValueError, match="unknown synthetic kind"):
        load_train_images([DataSource("synthetic:lungs")])


def test_empty_pool_is_refused():
    with pytest.raises(ValueError, match="no training image"):
        _dataset([])


def _pool(counts: list[int]) -> list[TrainImage]:
    """``counts[s]`` 32-px images of source s; image value = its source, one square object."""
    images = []
    for source, count in enumerate(counts):
        for i in range(count):
            obj = np.zeros((32, 32), bool)
            obj[8:24, 8:24] = True
            pixels = np.full((32, 32, 3), 50 * source + i % 5, np.uint8)
            images.append(TrainImage(f"s{source}/{i}", pixels, [obj], source=source))
    return images


def test_source_weights_become_per_image_probabilities():
    images = _pool([9, 1, 0, 2])
    p = image_draw_probabilities(images, [1.0, 1.0, 5.0, 2.0])
    sources = np.array([i.source for i in images])
    # the empty source 2 gives its share to the others: 1 : 1 : 2 of what is left
    shares = np.bincount(sources, p, minlength=4)
    np.testing.assert_allclose(shares, [0.25, 0.25, 0.0, 0.5])
    np.testing.assert_allclose(p[sources == 0], 0.25 / 9)  # equal within a source
    with pytest.raises(ValueError, match="positive weight is empty or held out"):
        image_draw_probabilities(images, [0.0, 0.0, 1.0, 0.0])


def test_weighted_draws_follow_the_shares_and_unweighted_draws_follow_the_images():
    images = _pool([9, 1])  # source 0 is dark (0-4), source 1 bright (50)
    p = image_draw_probabilities(images, [0.5, 0.5])

    def share_of_the_single_image(probabilities):
        sampler = MultiPointSampler(max_num_points=6, prob_gamma=0.8, merge_objects_prob=0.0)
        plain = build_augmentation(32, (1.0, 1.0), augment=False)
        dataset = ClickTrainDataset(
            images, 32, sampler, plain, 400, seed=3, draw_probabilities=probabilities
        )
        return np.mean([float(dataset[i]["image"].mean()) > 0.1 for i in range(len(dataset))])

    assert 0.42 < share_of_the_single_image(p) < 0.58
    assert 0.05 < share_of_the_single_image(None) < 0.16
    with pytest.raises(ValueError, match="draw_probabilities has 3 entries for 10 images"):
        _dataset(images, draw_probabilities=np.ones(3) / 3)


def test_images_remember_their_source():
    sources = [
        DataSource("synthetic:em_cells", {"shape": [2, 64, 64]}),
        DataSource("synthetic:knee", {"shape": [12, 64, 64]}),
    ]
    images, _ = load_train_images(sources)
    assert {i.source for i in images} == {0, 1}
    assert all(i.name.startswith(sources[i.source].spec) for i in images)


def _one_object_image():
    """A 240 x 320 image whose pixels encode their position, with a 20 x 10 object."""
    rows, cols = np.mgrid[0:240, 0:320]
    image = np.stack([rows, cols, np.zeros_like(rows)], axis=-1) * 255 // 320
    mask = np.zeros((240, 320), np.uint8)
    mask[100:120, 200:210] = 1
    return image.astype(np.uint8), mask


def test_predictor_view_whole_image_is_the_first_click_view():
    image, mask = _one_object_image()
    view = PredictorView(64, whole_prob=1.0, zoom_prob=0.0, fallback=FitAndScale(64, (1, 1)))
    out, (out_mask,) = view(image, [mask], np.random.default_rng(0))
    assert out.shape == (64, 64, 3) and out_mask.shape == (64, 64)
    # the corners of the input are the corners of the image: nothing was cropped
    assert out[0, 0, 0] == image[0, 0, 0] and abs(int(out[-1, -1, 1]) - int(image[-1, -1, 1])) <= 4
    # the object shrinks with the image (aspect ratio not kept): 20/240 x 10/320 of 64 x 64
    assert out_mask.sum() == pytest.approx(64 * 64 * (20 / 240) * (10 / 320), rel=0.35)


def test_predictor_view_zoom_magnifies_the_object_and_keeps_it_whole():
    image, mask = _one_object_image()
    view = PredictorView(64, whole_prob=0.0, zoom_prob=1.0, fallback=FitAndScale(64, (1, 1)))
    rng = np.random.default_rng(1)
    for _ in range(20):
        out, (out_mask,) = view(image, [mask], rng)
        assert out.shape == (64, 64, 3)
        rows = np.flatnonzero(out_mask.any(axis=1))
        cols = np.flatnonzero(out_mask.any(axis=0))
        # the whole object is inside the view, away from its top and bottom edges
        assert rows[0] > 0 and rows[-1] < 63 and len(cols) > 0
        # magnified: the box is at most 2x the object's 20 rows, at least 0.3 x 64 px
        assert out_mask.sum() > 64 * 64 * (20 / 64) * (10 / 64) * 0.5


def test_predictor_view_falls_back_to_the_random_scale():
    image, mask = _one_object_image()
    fallback = FitAndScale(64, (1, 1))
    view = PredictorView(64, whole_prob=0.0, zoom_prob=0.0, fallback=fallback)
    out, (out_mask,) = view(image, [mask], np.random.default_rng(0))
    assert out.shape == image.shape and np.array_equal(out_mask, mask)


def test_predictor_view_refuses_probabilities_over_one():
    with pytest.raises(ValueError, match="sum <= 1"):
        PredictorView(64, 0.7, 0.7, FitAndScale(64, (1, 1)))


def test_views_reach_the_augmentation_only_when_asked():
    assert not isinstance(build_augmentation(64).steps[0], PredictorView)
    assert isinstance(build_augmentation(64, zoom_view_prob=0.4).steps[0], PredictorView)
