import numpy as np
import pytest

from napari_clickseg.engine.image_input import to_rgb01


def test_uint8_divided_by_255_like_totensor():
    image = np.array([[0, 51, 255]], np.uint8)
    out = to_rgb01(image)
    assert out.shape == (1, 3, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0, :, 0], np.array([0, 51, 255], np.float32) / 255.0)


def test_grayscale_replicated_and_rgb_kept():
    gray = np.random.default_rng(0).integers(0, 255, (5, 6)).astype(np.uint8)
    out = to_rgb01(gray)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 0], out[..., 2])
    rgb = np.random.default_rng(1).integers(0, 255, (5, 6, 3)).astype(np.uint8)
    np.testing.assert_array_equal(to_rgb01(rgb), rgb / np.float32(255))


def test_more_channels_take_first_three_or_chosen_ones():
    image = np.stack([np.full((2, 2), v, np.uint8) for v in (10, 20, 30, 40)], axis=-1)
    assert to_rgb01(image)[0, 0].tolist() == pytest.approx([10 / 255, 20 / 255, 30 / 255])
    picked = to_rgb01(image, channels=(3, 1, 0))[0, 0]
    assert picked.tolist() == pytest.approx([40 / 255, 20 / 255, 10 / 255])


def test_two_channels_get_their_mean_as_third():
    image = np.stack([np.zeros((2, 2)), np.ones((2, 2))], axis=-1).astype(np.float32)
    assert to_rgb01(image)[0, 0].tolist() == [0.0, 1.0, 0.5]


def test_other_dtypes_are_min_max_scaled_or_windowed():
    mri = np.array([[100, 300], [500, 900]], np.int16)
    out = to_rgb01(mri)[..., 0]
    np.testing.assert_allclose(out, [[0, 0.25], [0.5, 1.0]])
    windowed = to_rgb01(mri, intensity_range=(100, 500))[..., 0]
    np.testing.assert_allclose(windowed, [[0, 0.5], [1.0, 1.0]])


def test_float_in_unit_range_kept():
    image = np.array([[0.2, 0.7]], np.float32)
    np.testing.assert_array_equal(to_rgb01(image)[..., 1], image)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((3, 64, 64), np.uint8), "channels-first"),
        (np.zeros((2, 2, 2, 2), np.uint8), "expected a 2D image"),
        (np.array([[np.nan, 1.0]]), "NaN"),
        (np.array([["a", "b"]]), "not numeric"),
    ],
)
def test_bad_images_are_refused_clearly(image, message):
    with pytest.raises(ValueError, match=message):
        to_rgb01(image)


def test_bad_channel_choice_is_refused():
    with pytest.raises(ValueError, match="channels must name 3"):
        to_rgb01(np.zeros((4, 4, 4), np.uint8), channels=(0, 1))
