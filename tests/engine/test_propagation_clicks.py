import numpy as np
import pytest
from scipy.ndimage import distance_transform_edt

from napari_clickseg.engine.propagation_clicks import (
    interior_maximum,
    interior_points,
    mask_depth,
    ring_margin,
    ring_points,
)


def _disk(shape, centre, radius):
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2


def test_interior_maximum_is_the_distance_transform_maximum_inside_the_mask():
    mask = _disk((60, 80), (30, 50), 12) | _disk((60, 80), (30, 20), 5)
    click = interior_maximum(mask)
    depth = distance_transform_edt(mask)
    assert click.is_positive
    assert mask[int(click.row), int(click.col)]
    assert depth[int(click.row), int(click.col)] == depth.max()
    assert (click.row, click.col) == (30, 50)  # the centre of the larger disk


def test_the_image_border_counts_as_boundary():
    mask = np.zeros((20, 40), bool)
    mask[:, :30] = True  # touches three borders
    depth = mask_depth(mask)
    assert depth[0, 5] == 1 and depth[10, 0] == 1
    click = interior_maximum(mask)
    assert 5 <= click.row <= 14 and 5 <= click.col <= 24


def test_interior_points_give_one_click_per_thick_part():
    mask = _disk((60, 120), (30, 25), 14) | _disk((60, 120), (30, 90), 12)
    mask[28:33, 25:90] = True  # a thin bridge: a dumbbell
    clicks = interior_points(mask, max_points=5, min_depth_ratio=0.5)
    assert len(clicks) == 2
    assert (clicks[0].row, clicks[0].col) == (30, 25)
    assert abs(clicks[1].row - 30) <= 1 and abs(clicks[1].col - 90) <= 1
    assert all(mask[int(c.row), int(c.col)] and c.is_positive for c in clicks)


def test_interior_points_spread_along_an_elongated_mask_and_respect_the_budget():
    mask = np.zeros((30, 200), bool)
    mask[5:25, 10:190] = True
    clicks = interior_points(mask, max_points=20, min_depth_ratio=0.5)
    assert len(clicks) > 3
    cols = sorted(c.col for c in clicks)
    assert min(np.diff(cols)) >= 9  # outside each other's inscribed disk (radius 10)
    assert all(mask[int(c.row), int(c.col)] for c in clicks)
    assert len(interior_points(mask, max_points=2)) == 2


def test_errors_are_clear():
    with pytest.raises(ValueError, match="empty mask"):
        interior_maximum(np.zeros((5, 5), bool))
    with pytest.raises(ValueError, match="2D"):
        interior_maximum(np.ones((2, 5, 5), bool))
    with pytest.raises(ValueError, match="max_points"):
        interior_points(np.ones((5, 5), bool), max_points=0)
    with pytest.raises(ValueError, match="min_depth_ratio"):
        interior_points(np.ones((5, 5), bool), min_depth_ratio=1.5)


def test_ring_points_are_negative_and_at_the_margin_outside_the_mask():
    mask = _disk((80, 80), (40, 40), 10)
    clicks = ring_points(mask, count=8, margin=5.0)
    assert len(clicks) == 8
    outside = distance_transform_edt(~mask)
    for click in clicks:
        assert not click.is_positive
        assert 5.0 <= outside[int(click.row), int(click.col)] < 6.0
    angles = sorted(np.arctan2(c.row - 40, c.col - 40) for c in clicks)
    gaps = np.diff([*angles, angles[0] + 2 * np.pi])
    assert gaps.max() < 2 * (2 * np.pi / 8)  # spread around the ring, not bunched


def test_ring_points_outside_the_image_give_no_click_and_margin_scales_with_size():
    assert ring_points(np.ones((10, 10), bool), count=4, margin=3.0) == []
    small, large = _disk((200, 200), (100, 100), 5), _disk((200, 200), (100, 100), 40)
    assert ring_margin(small, 0.5) == pytest.approx(2.5, rel=0.05)
    assert ring_margin(large, 0.5) == pytest.approx(20, rel=0.05)
    assert ring_margin(np.ones((1, 1), bool), 0.5) == 2.0
