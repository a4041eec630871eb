import numpy as np

from napari_clickseg.engine.clicker import Clicker, next_click


def test_first_click_is_positive_at_the_object_centre():
    gt = np.zeros((11, 11), np.int8)
    gt[2:9, 2:9] = 1
    click = next_click(gt, np.zeros(gt.shape, bool))
    assert click.is_positive and (click.row, click.col) == (5, 5)


def test_tie_between_false_negative_and_false_positive_is_negative():
    gt = np.zeros((5, 9), np.int8)
    gt[2, 2] = 1  # a missed one-pixel object ...
    pred = np.zeros(gt.shape, bool)
    pred[2, 6] = True  # ... and a one-pixel false positive: equal distances
    click = next_click(gt, pred)
    assert not click.is_positive and (click.row, click.col) == (2, 6)


def test_border_counts_as_boundary():
    gt = np.zeros((6, 6), np.int8)
    gt[:, :3] = 1  # a 6 x 3 object along the left, top and bottom borders
    click = next_click(gt, np.zeros(gt.shape, bool))
    # with the one-pixel padding the borders are boundary: the deepest pixels (distance 2)
    # are (1..4, 1); row 0 would be distance 1. The first in row-major order wins.
    assert click.is_positive and (click.row, click.col) == (1, 1)


def test_ignore_pixels_are_never_errors():
    gt = np.full((7, 7), -1, np.int8)
    gt[3, 3] = 1
    pred = np.ones(gt.shape, bool)  # everything predicted: only ignore pixels are wrong
    click = next_click(gt, pred)
    # nothing is wrong: the official rule returns a negative click at the first pixel
    assert not click.is_positive and (click.row, click.col) == (0, 0)


def test_clicked_pixels_are_skipped():
    gt = np.zeros((9, 9), np.int8)
    gt[1:8, 1:8] = 1
    clicker = Clicker(gt)
    first = clicker.make_next_click(np.zeros(gt.shape, bool))
    second = clicker.make_next_click(np.zeros(gt.shape, bool))
    assert (first.row, first.col) == (4, 4)
    assert (second.row, second.col) != (4, 4) and second.is_positive
    assert not clicker.not_clicked[4, 4]


def test_shape_mismatch_is_refused():
    import pytest

    with pytest.raises(ValueError, match="differs from ground truth"):
        next_click(np.zeros((3, 3)), np.zeros((3, 4), bool))


def _random_case(rng, shape):
    """Blobs of object and prediction (some touching the border), ignore pixels, clicks."""
    from scipy.ndimage import gaussian_filter

    height, width = shape
    gt = (gaussian_filter(rng.random(shape), 3) > 0.52).astype(np.int8)
    pred = gaussian_filter(rng.random(shape), 3) > 0.52
    if rng.random() < 0.5:
        gt[rng.random(shape) < 0.02] = -1
    if rng.random() < 0.3:  # errors only in one corner region
        keep = np.zeros(shape, bool)
        keep[: height // 3, width // 2 :] = True
        pred = np.where(keep, pred, gt == 1)
    not_clicked = rng.random(shape) > 0.01
    return gt, pred, not_clicked


def test_bounding_box_rule_equals_the_full_image_rule():
    from napari_clickseg.engine.clicker import next_click_full_image

    rng = np.random.default_rng(0)
    for case in range(300):
        shape = (int(rng.integers(3, 90)), int(rng.integers(3, 90)))
        gt, pred, not_clicked = _random_case(rng, shape)
        for mask in (None, not_clicked):
            fast = next_click(gt, pred, mask)
            full = next_click_full_image(gt, pred, mask)
            assert (fast.row, fast.col, fast.is_positive) == (
                full.row,
                full.col,
                full.is_positive,
            ), f"case {case}"


def test_bounding_box_rule_when_every_error_pixel_was_clicked():
    from napari_clickseg.engine.clicker import next_click_full_image

    gt = np.zeros((8, 8), np.int8)
    gt[5, 6] = 1
    not_clicked = np.ones(gt.shape, bool)
    not_clicked[5, 6] = False
    pred = np.zeros(gt.shape, bool)
    fast, full = next_click(gt, pred, not_clicked), next_click_full_image(gt, pred, not_clicked)
    assert (fast.row, fast.col, fast.is_positive) == (full.row, full.col, full.is_positive)
    assert (fast.row, fast.col, fast.is_positive) == (0, 0, False)
