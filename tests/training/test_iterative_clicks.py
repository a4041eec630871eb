import numpy as np
import pytest
import torch
from torch import nn

from napari_clickseg.models.click_maps import points_tensor
from napari_clickseg.models.interface import ModelOutput
from napari_clickseg.training.iterative_clicks import (
    add_error_click,
    draw_num_extra_clicks,
    error_click,
    simulate_clicks,
)


def _square(size=40, top=5, left=5, side=20):
    mask = np.zeros((size, size), dtype=np.float32)
    mask[top : top + side, left : left + side] = 1
    return mask


def test_missing_object_gives_a_positive_click_deep_inside():
    gt = _square()
    pred = np.zeros_like(gt)
    # A small false positive elsewhere: smaller than the missed square.
    pred[32:35, 32:35] = 0.9
    rng = np.random.default_rng(0)
    for _ in range(50):
        row, col, positive = error_click(gt, pred, rng)
        assert positive
        # Distance to the square's edge (10 at the centre) above half the maximum.
        depth = min(row - 5, 24 - row, col - 5, 24 - col) + 1
        assert depth > 5


def test_larger_false_positive_gives_a_negative_click():
    gt = _square(side=6)
    pred = np.zeros_like(gt)
    pred[5:11, 5:11] = 0.8  # the object found
    pred[20:36, 20:36] = 0.8  # and a large false positive
    rng = np.random.default_rng(1)
    for _ in range(20):
        row, col, positive = error_click(gt, pred, rng)
        assert not positive
        assert 20 <= row < 36 and 20 <= col < 36


def test_threshold_049_and_no_error_means_no_click():
    gt = _square()
    rng = np.random.default_rng(2)
    assert error_click(gt, gt * 0.5, rng) is None  # 0.5 > 0.49 counts as object
    assert error_click(gt, gt.astype(bool), rng) is None
    assert error_click(gt, gt * 0.48, rng)[2] is True


def test_image_border_counts_as_boundary():
    gt = np.zeros((30, 30), dtype=np.float32)
    gt[:, :10] = 1  # a band along the left edge
    rng = np.random.default_rng(3)
    cols = [error_click(gt, np.zeros_like(gt), rng)[1] for _ in range(50)]
    # With zero padding the deepest column is in the middle of the band, not at col 0.
    assert min(cols) >= 2 and max(cols) <= 7


def test_click_goes_to_the_first_free_slot_with_the_next_order():
    gt = torch.from_numpy(_square())[None, None].repeat(2, 1, 1, 1)
    pred = torch.zeros_like(gt)
    pred[1] = gt[1]
    pred[1, 0, 30:38, 30:38] = 1  # item 1: only a false positive
    points = points_tensor([[(10, 10, True), (0, 0, False)], [(12, 12, True)]], dtype=torch.float32)
    points = torch.cat([points, torch.full((2, 4, 3), -1.0)], dim=1)  # M = 1 -> pad to M = 3
    points = points[:, [0, 2, 3, 1, 4, 5]]  # layout: 3 positive slots, 3 negative slots
    before = points.clone()
    updated = add_error_click(points, pred, gt, np.random.default_rng(4))
    assert torch.equal(points, before)  # input untouched
    assert updated.dtype == points.dtype and updated.shape == points.shape
    # Item 0: positive click in slot 1 (first free positive slot), order = max(1) + 1 = 2.
    assert updated[0, 1, 2] == 2 and gt[0, 0, int(updated[0, 1, 0]), int(updated[0, 1, 1])] == 1
    assert torch.equal(updated[0, [0, 2, 3, 4, 5]], points[0, [0, 2, 3, 4, 5]])
    # Item 1: negative click in slot 3 (first negative slot), order = max(0) + 1.
    assert updated[1, 3, 2] == 1
    row, col = int(updated[1, 3, 0]), int(updated[1, 3, 1])
    assert 30 <= row < 38 and 30 <= col < 38


def test_full_half_overwrites_its_last_slot():
    gt = torch.from_numpy(_square())[None, None]
    points = torch.tensor([[[6.0, 6.0, 0.0], [7.0, 7.0, 1.0], [-1, -1, -1], [-1, -1, -1]]])
    updated = add_error_click(points, torch.zeros_like(gt), gt, np.random.default_rng(5))
    assert updated[0, 0].tolist() == [6.0, 6.0, 0.0]
    assert updated[0, 1, 2] == 2
    assert updated[0, 2:].eq(-1).all()


def test_shape_errors_are_reported():
    gt = torch.zeros(1, 1, 8, 8)
    with pytest.raises(ValueError, match=r"\(B, 2M, 3\)"):
        add_error_click(torch.zeros(1, 3, 3), gt, gt, np.random.default_rng(0))
    with pytest.raises(ValueError, match="must agree"):
        add_error_click(torch.zeros(2, 2, 3), gt, gt, np.random.default_rng(0))


def test_num_extra_clicks_range():
    rng = np.random.default_rng(6)
    draws = {draw_num_extra_clicks(rng) for _ in range(200)}
    assert draws == {0, 1, 2, 3}
    assert {draw_num_extra_clicks(rng, 3, minimum=1) for _ in range(200)} == {1, 2, 3}


class _DiskModel(nn.Module):
    """Predicts the positive click disks minus the negative ones; records calls."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(10.0))
        self.modes = []
        self.priors = []

    def forward(self, image, prev_mask, points):
        from napari_clickseg.models.click_maps import click_disks

        self.modes.append(self.training)
        self.priors.append(prev_mask.clone())
        disks = click_disks(points, image.shape[-2], image.shape[-1], radius=8)
        logits = self.scale * (disks[:, :1] - disks[:, 1:] - 0.5)
        return ModelOutput(logits=logits)


def test_simulate_clicks_adds_one_click_per_step_in_eval_mode_without_grad():
    gt = torch.from_numpy(_square())[None, None]
    image = torch.zeros(1, 3, 40, 40)
    points = torch.full((1, 8, 3), -1.0)
    points[0, 0] = torch.tensor([15.0, 15.0, 2.0])
    model = _DiskModel().train()
    new_points, prior = simulate_clicks(model, image, gt, points, 3, np.random.default_rng(7))
    assert model.training  # mode restored
    assert model.modes == [False, False, False]
    assert torch.count_nonzero(new_points[0, :, 2] >= 0) == 4
    assert not prior.requires_grad and prior.shape == (1, 1, 40, 40)
    # Each pass is fed the previous pass's probabilities.
    assert model.priors[0].eq(0).all()
    assert not model.priors[1].eq(0).all()
    same_points, same_prior = simulate_clicks(model, image, gt, points, 0, np.random.default_rng(7))
    assert torch.equal(same_points, points)
    assert same_prior.eq(0).all()


def _opencv_chamfer_by_hand(mask):
    """OpenCV's distanceTransform_5x5 (DIST_L2) written as its two sequential raster loops."""
    a, b, c = 1.0, 1.4, 2.1969
    height, width = mask.shape
    inf = float("inf")
    d = [[inf] * (width + 4) for _ in range(height + 4)]  # 2-pixel border of "far"
    forward = ((-2, -1, c), (-2, 1, c), (-1, -2, c), (-1, -1, b), (-1, 0, a), (-1, 1, b),
               (-1, 2, c), (0, -1, a))  # fmt: skip
    for i in range(height):
        for j in range(width):
            if not mask[i, j]:
                d[i + 2][j + 2] = 0.0
            else:
                d[i + 2][j + 2] = min(d[i + 2 + di][j + 2 + dj] + w for di, dj, w in forward)
    for i in reversed(range(height)):
        for j in reversed(range(width)):
            t0 = d[i + 2][j + 2]
            if t0 > a:
                d[i + 2][j + 2] = min(
                    [t0] + [d[i + 2 - di][j + 2 - dj] + w for di, dj, w in forward]
                )
    return np.array([row[2:-2] for row in d[2:-2]])


def test_chamfer_distance_is_opencvs_5x5_algorithm():
    from napari_clickseg.training.iterative_clicks import chamfer_distance

    rng = np.random.default_rng(8)
    masks = rng.random((3, 9, 11)) > 0.25
    masks[0, 4, 5] = False  # make sure every map has a zero pixel
    got = chamfer_distance(masks)
    for mask, dist in zip(masks, got, strict=True):
        np.testing.assert_allclose(dist, _opencv_chamfer_by_hand(mask), rtol=1e-5)
    np.testing.assert_allclose(chamfer_distance(masks[1]), got[1])


def test_chamfer_approximates_the_euclidean_distance():
    from scipy.ndimage import distance_transform_edt

    from napari_clickseg.training.iterative_clicks import chamfer_distance

    yy, xx = np.mgrid[:60, :60]
    disk = (yy - 30) ** 2 + (xx - 30) ** 2 < 25**2
    chamfer, exact = chamfer_distance(disk), distance_transform_edt(disk)
    inside = disk & (exact > 2)
    assert np.max(np.abs(chamfer[inside] - exact[inside]) / exact[inside]) < 0.03
    line = np.ones((1, 12), dtype=bool)
    line[0, 0] = False
    np.testing.assert_allclose(chamfer_distance(line)[0], np.arange(12))  # straight moves cost 1


def test_exact_distance_option_and_unknown_distance():
    gt = _square()
    rng = np.random.default_rng(9)
    row, col, positive = error_click(gt, np.zeros_like(gt), rng, distance="exact")
    assert positive and gt[row, col] == 1
    with pytest.raises(ValueError, match="distance must be one of"):
        error_click(gt, np.zeros_like(gt), rng, distance="manhattan")


def test_mixed_precision_predictions_are_accepted():
    gt = torch.from_numpy(_square())[None, None]
    points = torch.full((1, 2, 3), -1.0)
    pred = torch.zeros_like(gt, dtype=torch.bfloat16)
    updated = add_error_click(points, pred, gt, np.random.default_rng(10))
    assert updated[0, 0, 2] == 1 and gt[0, 0, int(updated[0, 0, 0]), int(updated[0, 0, 1])] == 1
