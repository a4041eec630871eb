import numpy as np
import pytest

from napari_clickseg.data.windowing import window_bounds, window_to_uint8
from napari_clickseg.engine.channel_input import ChannelSource, ModelInput
from napari_clickseg.engine.image_input import NonFiniteValuesWarning, to_rgb01
from napari_clickseg.engine.planes import Plane


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


def test_other_dtypes_are_windowed_to_8_bits_like_the_dock():
    # One rule for every entry point (issue 16, finding 7): the 0.5-99.5 percentile window of
    # the data adapters and the dock, quantised to 8 bits, then / 255.
    mri = np.array([[100, 300], [500, 900]], np.int16)
    out = to_rgb01(mri)[..., 0]
    expected = window_to_uint8(mri, *window_bounds(mri)) / np.float32(255)
    np.testing.assert_array_equal(out, expected)
    assert out.min() == 0.0 and out.max() == 1.0
    windowed = to_rgb01(mri, intensity_range=(100, 500))[..., 0]
    np.testing.assert_allclose(windowed, [[0, 128 / 255], [1.0, 1.0]], rtol=1e-6)


def test_a_tiny_float_range_is_windowed_not_taken_as_is():
    # float64 in [0, 0.001] used to pass through as an almost black image (empty masks)
    image = np.linspace(0, 0.001, 64 * 64).reshape(64, 64)
    out = to_rgb01(image)
    assert out.min() == 0.0 and out.max() == 1.0


def test_the_dock_and_the_api_feed_the_model_the_same_input():
    image = np.random.default_rng(3).normal(1e-3, 2e-4, (40, 50))
    dock = ModelInput([ChannelSource(image)]).image(Plane.canonical(2, None), 0)
    np.testing.assert_array_equal(to_rgb01(image), dock / np.float32(255))


def test_nan_and_inf_are_masked_with_a_warning():
    image = np.array([[np.nan, 0.2, 0.4], [np.inf, -np.inf, 0.8]])
    with pytest.warns(NonFiniteValuesWarning, match="NaN or infinite"):
        out = to_rgb01(image)[..., 0]
    finite = window_to_uint8(np.array([0.2, 0.4, 0.8]), *window_bounds(np.array([0.2, 0.4, 0.8])))
    np.testing.assert_array_equal(out[0, 1:], finite[:2] / np.float32(255))
    assert out[0, 0] == 0.0 and out[1, 0] == 1.0 and out[1, 1] == 0.0
    with pytest.warns(NonFiniteValuesWarning):
        assert not to_rgb01(np.full((3, 3), np.nan)).any()


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((3, 64, 64), np.uint8), "channels-first"),
        (np.zeros((2, 2, 2, 2), np.uint8), "expected a 2D image"),
        (np.array([["a", "b"]]), "not numeric"),
    ],
)
def test_bad_images_are_refused_clearly(image, message):
    with pytest.raises(ValueError, match=message):
        to_rgb01(image)


def test_bad_channel_choice_is_refused():
    with pytest.raises(ValueError, match="channels must name 3"):
        to_rgb01(np.zeros((4, 4, 4), np.uint8), channels=(0, 1))


def test_nan_in_a_volume_is_masked_with_the_same_warning_for_the_dock():
    volume = np.random.default_rng(0).normal(100, 10, (4, 20, 20))
    volume[1, :5] = np.nan
    model_input = ModelInput([ChannelSource(volume)])
    with pytest.warns(NonFiniteValuesWarning):
        image = model_input.image(Plane.canonical(3, 0), 1)
    assert (image[:5] == 0).all() and image[5:].any()
