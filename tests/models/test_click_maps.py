import numpy as np
import torch

from napari_clickseg.models.click_maps import click_disks, points_tensor


def test_points_tensor_layout_matches_official():
    points = points_tensor([[(10, 20, True), (30.5, 40, False), (50, 60, True)]])
    assert points.shape == (1, 4, 3)
    # positives first (with their click index), then negatives, padded with -1
    assert points[0].tolist() == [
        [10, 20, 0],
        [50, 60, 2],
        [30.5, 40, 1],
        [-1, -1, -1],
    ]


def test_points_tensor_pads_batch_to_common_size():
    points = points_tensor([[(1, 1, True)], [(2, 2, False), (3, 3, False), (4, 4, True)]])
    assert points.shape == (2, 4, 3)
    assert points[0, 1].tolist() == [-1, -1, -1]
    assert points[0, 2].tolist() == [-1, -1, -1]


def test_points_tensor_without_clicks_has_one_padding_row_per_sign():
    assert points_tensor([[]]).tolist() == [[[-1, -1, -1], [-1, -1, -1]]]


def test_click_disks_are_radius_5_disks_at_float_centres():
    points = points_tensor([[(10.4, 20.0, True), (30, 31.6, False)]])
    disks = click_disks(points, 48, 64, radius=5)
    rows, cols = np.mgrid[0:48, 0:64]
    expected_pos = (rows - 10.4) ** 2 + (cols - 20.0) ** 2 <= 25
    expected_neg = (rows - 30) ** 2 + (cols - 31.6) ** 2 <= 25
    assert disks.shape == (1, 2, 48, 64)
    np.testing.assert_array_equal(disks[0, 0].numpy(), expected_pos)
    np.testing.assert_array_equal(disks[0, 1].numpy(), expected_neg)


def test_click_disks_union_of_several_clicks_and_padding_ignored():
    points = points_tensor([[(5, 5, True), (20, 20, True), (40, 40, False)]])
    disks = click_disks(points, 48, 48)
    assert disks[0, 0, 5, 5] == 1 and disks[0, 0, 20, 20] == 1
    assert disks[0, 0, 40, 40] == 0
    assert disks[0, 1, 40, 40] == 1
    # the padding row (-1, -1) of the negative half draws nothing near the corner
    assert disks[0, 1, 0, 0] == 0


def test_click_disks_exact_boundary_is_inside():
    disks = click_disks(torch.tensor([[[10.0, 10.0, 0], [-1, -1, -1]]]), 32, 32)
    assert disks[0, 0, 15, 10] == 1  # distance exactly 5
    assert disks[0, 0, 16, 10] == 0
