"""Volume-level windowing to uint8."""

from __future__ import annotations

import numpy as np
import pytest

from napari_clickseg.data.windowing import window_bounds, window_to_uint8


def test_explicit_window_maps_linearly_and_clips():
    vol = np.array([[-10.0, 0.0, 50.0, 100.0, 200.0]])
    out = window_to_uint8(vol, low=0, high=100)
    assert out.dtype == np.uint8
    assert out.tolist() == [[0, 0, 128, 255, 255]]


def test_percentile_window_over_whole_volume():
    vol = np.arange(1000)
    low, high = window_bounds(vol, (10, 90))
    assert low == pytest.approx(99.9) and high == pytest.approx(899.1)
    out = window_to_uint8(vol, percentiles=(10, 90))
    assert out[0] == 0 and out[-1] == 255
    assert out[500] == round((500 - low) / (high - low) * 255)


def test_nonzero_mask_ignores_skull_stripped_background():
    # 90 % background zeros, brain intensities 100..199
    brain = np.repeat(np.arange(100, 200), 1)
    vol = np.concatenate([np.zeros(900), brain]).reshape(10, 10, 10)
    assert window_bounds(vol, (0, 50))[1] == 0.0  # whole volume: median is background
    low, high = window_bounds(vol, (0, 100), mask="nonzero")
    assert (low, high) == (100.0, 199.0)
    out = window_to_uint8(vol, percentiles=(0, 100), mask="nonzero")
    assert out.shape == vol.shape
    assert out.min() == 0 and out.max() == 255
    assert (out[vol == 0] == 0).all()


def test_boolean_mask_and_partial_bounds():
    vol = np.arange(100, dtype=np.float32).reshape(10, 10)
    mask = np.zeros_like(vol, bool)
    mask[:5] = True  # values 0..49
    assert window_bounds(vol, (0, 100), mask=mask) == (0.0, 49.0)
    out = window_to_uint8(vol, high=49, percentiles=(0, 100))  # low from percentile: 0
    assert out[4, 9] == 255 and out[0, 0] == 0


def test_constant_volume_and_nan():
    assert (window_to_uint8(np.full((3, 3), 7.0)) == 0).all()
    vol = np.array([0.0, 1.0, np.nan, 2.0])
    out = window_to_uint8(vol, percentiles=(0, 100))
    assert out.tolist() == [0, 128, 0, 255]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"low": 5, "high": 1}, "low .* is above high"),
        ({"percentiles": (50, 10)}, "percentiles must satisfy"),
        ({"percentiles": (0, 101)}, "percentiles must satisfy"),
        ({"mask": "brain"}, "mask must be None, 'nonzero'"),
        ({"mask": np.ones((2, 2), bool)}, "boolean array of the volume's shape"),
    ],
)
def test_window_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        window_to_uint8(np.arange(9.0).reshape(3, 3), **kwargs)


def test_empty_selection_raises():
    with pytest.raises(ValueError, match="nonzero voxels holds no finite value"):
        window_bounds(np.zeros((4, 4)), mask="nonzero")
    with pytest.raises(ValueError, match="non-numeric"):
        window_bounds(np.array(["a", "b"]))
