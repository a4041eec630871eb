import numpy as np
import pytest

from napari_clickseg.training.copy_paste import (
    SUEMCopyPaste,
    add_distractor,
    distractor_is_usable,
    mix_images,
    paste_object,
)

SIZE = (24, 24)


def _flat(value):
    return np.full((*SIZE, 3), value, dtype=np.uint8)


def _box(top, left, height, width):
    mask = np.zeros(SIZE, dtype=bool)
    mask[top : top + height, left : left + width] = True
    return mask


def test_paste_puts_the_object_at_its_place_on_the_other_image():
    obj_image, target_image = _flat(200), _flat(40)
    obj_mask = _box(4, 6, 8, 5)
    image, mask = paste_object(obj_image, obj_mask, target_image, alpha=0.75)
    np.testing.assert_array_equal(mask, obj_mask)
    assert np.all(image[obj_mask] == round(0.75 * 200 + 0.25 * 40))
    assert np.all(image[~obj_mask] == 40)
    assert np.all(target_image == 40)  # inputs untouched


def test_distractor_occlude_removes_it_from_the_target():
    image, mask = _flat(10), _box(4, 4, 10, 10)
    other, other_mask = _flat(250), _box(8, 8, 10, 10)
    new_image, new_mask = add_distractor(image, mask, other, other_mask, "occlude")
    np.testing.assert_array_equal(new_mask, mask & ~other_mask)
    assert np.all(new_image[other_mask] == 250) and np.all(new_image[~other_mask] == 10)


def test_distractor_union_adds_it_to_the_target():
    image, mask = _flat(10), _box(4, 4, 10, 10)
    other, other_mask = _flat(250), _box(8, 8, 10, 10)
    new_image, new_mask = add_distractor(image, mask, other, other_mask, "union")
    np.testing.assert_array_equal(new_mask, mask | other_mask)
    assert np.all(new_image[other_mask] == 250)


def test_distractor_blend_mixes_pixels_and_keeps_the_target():
    image, mask = _flat(100), _box(4, 4, 10, 10)
    other, other_mask = _flat(200), _box(8, 8, 10, 10)
    new_image, new_mask = add_distractor(image, mask, other, other_mask, "blend", alpha=0.6)
    np.testing.assert_array_equal(new_mask, mask)
    assert np.all(new_image[other_mask] == 140)
    assert np.all(new_image[~other_mask] == 100)


def test_whole_image_mix_and_float_images():
    mixed = mix_images(_flat(100), _flat(200), alpha=0.5)
    assert mixed.dtype == np.uint8 and np.all(mixed == 150)
    floats = mix_images(np.ones((*SIZE, 3), np.float32), np.zeros((*SIZE, 3), np.float32), 0.8)
    np.testing.assert_allclose(floats, 0.8)


def test_usable_distractor_leaves_more_than_20_target_pixels():
    mask = _box(0, 0, 5, 5)  # 25 pixels
    assert distractor_is_usable(mask, _box(0, 0, 1, 4))  # 21 left
    assert not distractor_is_usable(mask, _box(0, 0, 1, 5))  # 20 left


def test_bad_inputs_are_reported():
    with pytest.raises(ValueError, match="mode must be one of"):
        add_distractor(_flat(0), _box(0, 0, 2, 2), _flat(0), _box(0, 0, 2, 2), "swap")
    with pytest.raises(ValueError, match="images of one size"):
        mix_images(_flat(0), np.zeros((10, 10, 3), np.uint8), 0.5)
    with pytest.raises(ValueError, match="copy_paste_prob"):
        SUEMCopyPaste(copy_paste_prob=1.5)


class _Pool:
    """Other samples: flat images (240 first, then 60) with a random 6 x 6 box object."""

    def __init__(self):
        self.masks = []

    @property
    def calls(self):
        return len(self.masks)

    def __call__(self, rng):
        value = 240 if not self.masks else 60
        top, left = (int(v) for v in rng.integers(0, 14, size=2))
        self.masks.append(_box(top, left, 6, 6))
        return _flat(value), self.masks[-1]


def test_suem_all_steps_keep_image_and_mask_consistent():
    image, mask = _flat(20), _box(3, 3, 12, 12)
    suem = SUEMCopyPaste(copy_paste_prob=1.0, image_mix_prob=0.0)
    rng = np.random.default_rng(0)
    for _ in range(40):
        pool = _Pool()
        new_image, new_mask = suem(image, mask, pool, rng)
        assert new_mask.dtype == bool and new_mask.shape == SIZE
        distractor = pool.masks[-1]
        # Step 1 pasted the object onto the 240 image, blended with alpha in [0.5, 1].
        untouched = ~mask & ~distractor
        assert np.all(new_image[untouched] == 240)
        object_only = new_image[mask & ~distractor]
        assert np.all((object_only >= 20) & (object_only <= 130))
        # Step 2: the target is the object, minus or plus the distractor, or unchanged.
        options = (mask & ~distractor, mask | distractor, mask)
        assert any(np.array_equal(new_mask, option) for option in options)
        if not np.array_equal(new_mask, mask):
            assert np.all(new_image[distractor] == 60)  # occlusion / union paste opaquely


def test_suem_probabilities_zero_change_nothing():
    image, mask = _flat(20), _box(3, 3, 12, 12)
    pool = _Pool()
    new_image, new_mask = SUEMCopyPaste(0.0, 0.0)(image, mask, pool, np.random.default_rng(1))
    np.testing.assert_array_equal(new_image, image)
    np.testing.assert_array_equal(new_mask, mask)
    assert pool.calls == 0


def test_suem_modes_are_used_uniformly_and_are_deterministic():
    image, mask = _flat(20), _box(3, 3, 12, 12)
    suem = SUEMCopyPaste(copy_paste_prob=1.0, image_mix_prob=0.0)
    outcomes = {"occlude": 0, "union": 0, "blend": 0}
    rng = np.random.default_rng(2)
    for _ in range(300):
        _, new_mask = suem(image, mask, _Pool(), rng)
        if new_mask.sum() < mask.sum():
            outcomes["occlude"] += 1
        elif new_mask.sum() > mask.sum():
            outcomes["union"] += 1
        else:
            outcomes["blend"] += 1
    # Occlusion or union can leave the mask unchanged when the box lies inside/outside it,
    # so only check that every mode happens often.
    assert all(count > 50 for count in outcomes.values()), outcomes
    a = suem(image, mask, _Pool(), np.random.default_rng(3))
    b = suem(image, mask, _Pool(), np.random.default_rng(3))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_suem_image_mix_blends_with_another_image():
    image, mask = _flat(20), _box(3, 3, 12, 12)
    new_image, new_mask = SUEMCopyPaste(0.0, 1.0)(image, mask, _Pool(), np.random.default_rng(4))
    np.testing.assert_array_equal(new_mask, mask)
    values = np.unique(new_image)
    assert len(values) == 1 and 20 < values[0] <= 130  # alpha in [0.5, 1] toward 240
