import numpy as np
import pytest

from napari_clickseg.training.augment import (
    Compose,
    HorizontalFlip,
    PadIfNeeded,
    RandomBrightnessContrast,
    RandomCrop,
    RandomResize,
    RandomRotate90,
    RGBShift,
    VerticalFlip,
    medical_augmentation,
    natural_image_augmentation,
)


def _sample(height=30, width=40):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    mask = np.zeros((height, width), dtype=bool)
    mask[5:12, 20:31] = True
    labels = np.zeros((height, width), dtype=np.int32)
    labels[mask] = 3
    labels[20:25, 2:6] = 7
    return image, mask, labels


def _marker(image, mask):
    """Marker pixel: the image value there must still sit on the mask after a transform."""
    image = image.copy()
    image[6, 21] = (255, 0, 255)
    return image


@pytest.mark.parametrize("step", [HorizontalFlip(p=1.0), VerticalFlip(p=1.0)])
def test_flip_twice_is_identity(step):
    image, mask, labels = _sample()
    rng = np.random.default_rng(1)
    once_image, once_masks = step(image, [mask, labels], rng)
    assert not np.array_equal(once_image, image)
    twice_image, twice_masks = step(once_image, once_masks, rng)
    np.testing.assert_array_equal(twice_image, image)
    np.testing.assert_array_equal(twice_masks[0], mask)
    np.testing.assert_array_equal(twice_masks[1], labels)


def test_flip_with_probability_zero_keeps_the_sample():
    image, mask, _ = _sample()
    out_image, (out_mask,) = HorizontalFlip(p=0.0)(image, [mask], np.random.default_rng(0))
    np.testing.assert_array_equal(out_image, image)
    np.testing.assert_array_equal(out_mask, mask)


def test_horizontal_flip_moves_a_marked_pixel_with_its_mask():
    image, mask, _ = _sample()
    image = _marker(image, mask)
    out_image, (out_mask,) = HorizontalFlip(p=1.0)(image, [mask], np.random.default_rng(0))
    assert tuple(out_image[6, 40 - 1 - 21]) == (255, 0, 255)
    assert out_mask[6, 40 - 1 - 21]


def test_rotation_moves_a_marked_pixel_correctly():
    image, mask, labels = _sample()
    image = _marker(image, mask)
    height, width = mask.shape
    # Counter-clockwise turns: (r, c) -> (W-1-c, r) per quarter turn.
    expected = {
        0: (6, 21),
        1: (width - 1 - 21, 6),
        2: (height - 1 - 6, width - 1 - 21),
        3: (21, height - 1 - 6),
    }
    seen = set()
    rng = np.random.default_rng(2)
    for _ in range(40):
        out_image, (out_mask, out_labels) = RandomRotate90(p=1.0)(image, [mask, labels], rng)
        turns = 0 if out_image.shape[:2] == (height, width) else 1
        candidates = [k for k in expected if k % 2 == turns % 2]
        hits = [k for k in candidates if tuple(out_image[expected[k]]) == (255, 0, 255)]
        assert len(hits) == 1
        row, col = expected[hits[0]]
        assert out_mask[row, col] and out_labels[row, col] == 3
        assert out_mask.sum() == mask.sum() and out_mask.shape == out_image.shape[:2]
        seen.add(hits[0])
    assert seen == {0, 1, 2, 3}


def test_resize_scales_image_and_masks_together_keeping_labels():
    image, mask, labels = _sample()
    step = RandomResize((2.0, 2.0))
    out_image, (out_mask, out_labels) = step(image, [mask, labels], np.random.default_rng(0))
    assert out_image.shape == (60, 80, 3) and out_image.dtype == np.uint8
    assert out_mask.shape == out_labels.shape == (60, 80) and out_mask.dtype == bool
    assert set(np.unique(out_labels).tolist()) == {0, 3, 7}
    rows, cols = np.nonzero(out_mask)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (10, 23, 40, 61)


def test_pad_is_centred_and_fills_masks_with_zero():
    image, mask, _ = _sample(10, 12)
    out_image, (out_mask,) = PadIfNeeded((14, 12))(image, [mask], np.random.default_rng(0))
    assert out_image.shape == (14, 12, 3)
    np.testing.assert_array_equal(out_image[2:12], image)
    assert not out_image[:2].any() and not out_mask[:2].any()


@pytest.mark.parametrize("keep", ["whole", "any"])
def test_crop_contains_the_object(keep):
    image, mask, labels = _sample(60, 80)
    rng = np.random.default_rng(3)
    for _ in range(30):
        out_image, (out_mask, _) = RandomCrop((16, 16), keep=keep)(image, [mask, labels], rng)
        assert out_image.shape == (16, 16, 3)
        if keep == "whole":
            assert out_mask.sum() == mask.sum()  # 7 x 11 object fits in 16 x 16
        else:
            assert out_mask.any()


def test_crop_of_a_large_object_keeps_part_of_it_and_pads_small_images():
    image, mask, _ = _sample(8, 10)
    mask[:] = False
    mask[1:7, 1:9] = True
    out_image, (out_mask,) = RandomCrop((4, 12))(image, [mask], np.random.default_rng(4))
    assert out_image.shape == (4, 12, 3)
    assert out_mask.any()


def test_crop_keeps_image_and_mask_aligned():
    image, mask, _ = _sample()
    image = _marker(image, mask)
    rng = np.random.default_rng(5)
    for _ in range(20):
        marked = np.zeros(mask.shape, dtype=bool)
        marked[6, 21] = True
        out_image, (out_marked,) = RandomCrop((20, 20), keep="whole")(image, [marked], rng)
        (row,), (col,) = np.nonzero(out_marked)
        assert tuple(out_image[row, col]) == (255, 0, 255)


def test_brightness_contrast_changes_only_the_image_and_stays_in_range():
    image, mask, _ = _sample()
    step = RandomBrightnessContrast(brightness=(0.2, 0.2), contrast=(0.0, 0.0), p=1.0)
    out_image, (out_mask,) = step(image, [mask], np.random.default_rng(0))
    expected = np.clip(image.astype(float) + 0.2 * 255, 0, 255)
    np.testing.assert_allclose(out_image, np.rint(expected), atol=1)
    np.testing.assert_array_equal(out_mask, mask)
    floats = image.astype(np.float32) / 255
    out_float, _ = step(floats, [mask], np.random.default_rng(0))
    np.testing.assert_allclose(out_float, np.clip(floats + 0.2, 0, 1), atol=1e-6)


def test_rgb_shift_shifts_each_channel_by_one_amount():
    image = np.full((4, 4, 3), 100, dtype=np.uint8)
    out_image, _ = RGBShift(limit=10, p=1.0)(image, [], np.random.default_rng(0))
    for channel in range(3):
        values = np.unique(out_image[..., channel])
        assert len(values) == 1 and abs(int(values[0]) - 100) <= 10


def test_presets_produce_the_training_size_and_are_deterministic():
    image, mask, labels = _sample(50, 70)
    for pipeline in (natural_image_augmentation((32, 32)), medical_augmentation((32, 32))):
        assert isinstance(pipeline, Compose)
        first = pipeline(image, [mask, labels], np.random.default_rng(9))
        second = pipeline(image, [mask, labels], np.random.default_rng(9))
        assert first[0].shape == (32, 32, 3) and first[1][0].shape == (32, 32)
        assert first[1][0].any()
        np.testing.assert_array_equal(first[0], second[0])
        np.testing.assert_array_equal(first[1][1], second[1][1])


def test_misaligned_inputs_are_rejected():
    image, mask, _ = _sample()
    with pytest.raises(ValueError, match="differs from image size"):
        HorizontalFlip()(image, [mask[:-1]], np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        HorizontalFlip()(image[..., 0], [mask], np.random.default_rng(0))
