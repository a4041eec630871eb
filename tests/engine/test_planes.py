"""Plane: cutting volumes along any axis and writing masks back."""

import numpy as np
import pytest

from napari_clickseg.engine.planes import Plane


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_take_and_indices_round_trip_along_every_axis(axis):
    volume = np.arange(4 * 5 * 6).reshape(4, 5, 6)
    displayed = tuple(a for a in range(3) if a != axis)
    plane = Plane.from_displayed(3, displayed)
    assert plane.axis == axis
    image = plane.take(volume, 2)
    assert image.shape == plane.shape(volume.shape)
    mask = np.zeros(image.shape, bool)
    mask[1, 0] = mask[0, 2] = True
    indices = plane.indices(volume.shape, 2, mask)
    assert sorted(volume[indices].tolist()) == sorted(image[mask].tolist())
    assert all(i == 2 for i in indices[axis])


def test_transposed_display_swaps_rows_and_columns():
    volume = np.arange(3 * 4 * 5).reshape(3, 4, 5)
    plane = Plane.from_displayed(3, (2, 1))
    image = plane.take(volume, 1)
    assert image.shape == (5, 4)
    assert image[3, 2] == volume[1, 2, 3]
    index, row, col = plane.locate(plane.point(1, 3.0, 2.0))
    assert (index, row, col) == (1, 3.0, 2.0)
    np.testing.assert_array_equal(plane.point(1, 3.0, 2.0), [1, 2, 3])


def test_2d_and_channels_last():
    rgb = np.zeros((7, 8, 3))
    plane = Plane.from_displayed(2, (0, 1))
    assert plane.axis is None and plane.take(rgb).shape == (7, 8, 3)
    assert plane.locate(np.array([2.0, 3.0])) == (0, 2.0, 3.0)


def test_bad_planes_and_indices_are_refused():
    with pytest.raises(ValueError, match="each of the 3 axes once"):
        Plane(3, 0, 0, 1)
    plane = Plane.from_displayed(3, (1, 2))
    with pytest.raises(IndexError, match="slice 9 does not exist"):
        plane.take(np.zeros((4, 5, 6)), 9)
    with pytest.raises(ValueError, match="does not fit a plane"):
        plane.indices((4, 5, 6), 0, np.zeros((6, 5), bool))


def test_slicer_is_a_writable_view_and_canonical_keeps_axis_order():
    volume = np.zeros((3, 4, 5), np.uint8)
    plane = Plane.canonical(3, 1)
    assert (plane.row_axis, plane.col_axis) == (0, 2)
    volume[plane.slicer(2)] = 7
    assert (volume[:, 2, :] == 7).all() and volume.sum() == 7 * 15
    np.testing.assert_array_equal(plane.take(volume, 2), volume[:, 2, :])
