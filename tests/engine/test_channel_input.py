"""ModelInput: windowed, channel-mapped uint8 planes."""

import numpy as np
import pytest

from napari_clickseg.engine.channel_input import ChannelSource, ModelInput
from napari_clickseg.engine.planes import Plane


def test_gray_volume_is_windowed_once_for_the_whole_volume():
    volume = np.zeros((3, 8, 8), np.float32)
    volume[0] = 100.0
    volume[2] = 1000.0
    model_input = ModelInput([ChannelSource(volume)])
    plane = Plane.from_displayed(3, (1, 2))
    dim, bright = model_input.image(plane, 0), model_input.image(plane, 2)
    assert dim.dtype == np.uint8 and dim.shape == (8, 8, 3)
    assert bright.max() == 255 and 0 < dim.max() < bright.max()  # one mapping for all slices


def test_three_sources_feed_r_g_b_and_uint8_is_kept():
    a = np.full((2, 4, 4), 10, np.uint8)
    b = np.full((2, 4, 4), 20, np.uint8)
    rgb = np.stack([a, b, a], axis=-1)
    model_input = ModelInput([ChannelSource(b), ChannelSource(rgb, 0), ChannelSource(rgb, 1)])
    image = model_input.image(Plane.from_displayed(3, (1, 2)), 1)
    assert image[0, 0].tolist() == [20, 10, 20]


def test_sources_of_different_shapes_are_refused():
    with pytest.raises(ValueError, match="share one shape"):
        small, large = np.zeros((2, 3)), np.zeros((3, 3))
        ModelInput([ChannelSource(small, name="a")] * 2 + [ChannelSource(large, name="b")])
