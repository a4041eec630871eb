import numpy as np
import pytest
import torch
from scipy import ndimage

from napari_clickseg.models.click_maps import click_disks
from napari_clickseg.training.click_sampler import MultiPointSampler, geometric_probs


def _scene():
    """A 64x64 label image: the target (1), another object (2), background 0."""
    labels = np.zeros((64, 64), dtype=np.int32)
    labels[10:30, 12:36] = 1
    labels[40:56, 40:60] = 2
    return labels


def _split(points, half):
    pos, neg = points[:half], points[half:]
    return pos[pos[:, 2] >= 0], neg[neg[:, 2] >= 0]


def test_layout_and_padding():
    sampler = MultiPointSampler(max_num_points=6)
    labels = _scene()
    rng = np.random.default_rng(0)
    for _ in range(50):
        points = sampler.sample(labels == 1, rng, other_objects=labels == 2)
        assert points.shape == (12, 3) and points.dtype == np.float32
        for half in (points[:6], points[6:]):
            valid = half[:, 2] >= 0
            # Valid rows first, then (-1, -1, -1) padding.
            assert not np.any(np.diff(valid.astype(int)) > 0)
            assert np.all(half[~valid] == -1)
        pos, neg = _split(points, 6)
        assert len(pos) >= 1
        orders = np.concatenate([pos[:, 2], neg[:, 2]])
        assert sorted(orders) == list(range(2, 2 + len(orders)))


def test_positive_clicks_lie_in_the_eroded_object_and_negatives_outside():
    labels = _scene()
    gt = labels == 1
    eroded = ndimage.binary_erosion(gt, np.ones((3, 3)), iterations=3)
    sampler = MultiPointSampler(max_num_points=24, positive_erode_prob=1.0)
    rng = np.random.default_rng(1)
    for _ in range(100):
        pos, neg = _split(sampler.sample(gt, rng, other_objects=labels == 2), 24)
        rows, cols = pos[:, 0].astype(int), pos[:, 1].astype(int)
        assert eroded[rows, cols].all()
        assert not gt[neg[:, 0].astype(int), neg[:, 1].astype(int)].any()


def test_negative_strategies_follow_their_probabilities():
    labels = _scene()
    gt = labels == 1
    band = ndimage.binary_dilation(gt, np.ones((3, 3)), iterations=3) & ~gt  # ceil(0.1*sqrt(480))
    other = labels == 2
    sampler = MultiPointSampler(
        max_num_points=24, negative_bg_prob=0.0, negative_other_prob=0.5, negative_border_prob=0.5
    )
    rng = np.random.default_rng(2)
    in_band = in_other = total = 0
    for _ in range(200):
        _, neg = _split(sampler.sample(gt, rng, other_objects=other), 24)
        rows, cols = neg[:, 0].astype(int), neg[:, 1].astype(int)
        in_band += band[rows, cols].sum()
        in_other += other[rows, cols].sum()
        total += len(neg)
    assert in_band + in_other == total
    assert 0.4 < in_band / total < 0.6


def test_other_strategy_falls_back_to_background_without_other_objects():
    gt = _scene() == 1
    sampler = MultiPointSampler(
        max_num_points=24, negative_bg_prob=0.0, negative_other_prob=1.0, negative_border_prob=0.0
    )
    rng = np.random.default_rng(3)
    counts = [len(_split(sampler.sample(gt, rng), 24)[1]) for _ in range(100)]
    assert sum(counts) > 0


def test_click_counts_are_geometric():
    gt = _scene() == 1
    gamma = 0.7
    sampler = MultiPointSampler(
        max_num_points=24,
        prob_gamma=gamma,
        negative_border_prob=0.9,
        negative_bg_prob=0.1,
        negative_other_prob=0.0,
    )
    rng = np.random.default_rng(4)
    draws = 1000
    pos_counts = np.zeros(25)
    neg_counts = np.zeros(26)
    for _ in range(draws):
        pos, neg = _split(sampler.sample(gt, rng), 24)
        pos_counts[len(pos)] += 1
        neg_counts[len(neg)] += 1
    expected_pos = gamma ** np.arange(24) / np.sum(gamma ** np.arange(24))
    expected_neg = gamma ** np.arange(25) / np.sum(gamma ** np.arange(25))
    assert pos_counts[0] == 0
    np.testing.assert_allclose(pos_counts[1:5] / draws, expected_pos[:4], atol=0.04)
    np.testing.assert_allclose(neg_counts[:4] / draws, expected_neg[:4], atol=0.04)
    np.testing.assert_allclose(geometric_probs(3, 0.5), [4 / 7, 2 / 7, 1 / 7])


def test_sampling_is_deterministic_given_the_generator():
    labels = _scene()
    sampler = MultiPointSampler(merge_objects_prob=0.5)
    first = [sampler.sample(labels == 1, np.random.default_rng(7), other_objects=labels == 2)]
    second = [sampler.sample(labels == 1, np.random.default_rng(7), other_objects=labels == 2)]
    np.testing.assert_array_equal(first[0], second[0])
    a = sampler.select_object(labels, np.random.default_rng(5))
    b = sampler.select_object(labels, np.random.default_rng(5))
    np.testing.assert_array_equal(a.gt_mask, b.gt_mask)


def test_merged_objects_each_get_a_positive_click():
    labels = _scene()
    sampler = MultiPointSampler(max_num_points=8, merge_objects_prob=1.0, positive_erode_prob=0.0)
    rng = np.random.default_rng(6)
    for _ in range(30):
        selected = sampler.select_object(labels, rng)
        assert len(selected.parts) == 2
        np.testing.assert_array_equal(selected.gt_mask, labels > 0)
        assert not selected.other_objects.any()
        pos, _ = _split(sampler.sample(selected.gt_mask, rng, parts=selected.parts), 8)
        hit = labels[pos[:, 0].astype(int), pos[:, 1].astype(int)]
        assert {1, 2} <= set(hit.tolist())
        assert len(pos) <= 8


def test_select_single_object_reports_the_others():
    labels = _scene()
    sampler = MultiPointSampler(merge_objects_prob=0.0)
    seen = set()
    for seed in range(20):
        selected = sampler.select_object(labels, np.random.default_rng(seed))
        (value,) = set(np.unique(labels[selected.gt_mask]).tolist())
        seen.add(value)
        np.testing.assert_array_equal(selected.other_objects, (labels > 0) & (labels != value))
    assert seen == {1, 2}


def test_points_feed_the_click_maps():
    gt = _scene() == 1
    points = MultiPointSampler(max_num_points=4).sample(gt, np.random.default_rng(8))
    disks = click_disks(torch.from_numpy(points)[None], 64, 64)
    assert disks.shape == (1, 2, 64, 64)
    row, col = points[0, :2].astype(int)
    assert disks[0, 0, row, col] == 1


def test_bad_inputs_are_reported():
    with pytest.raises(ValueError, match="sum to 1"):
        MultiPointSampler(negative_bg_prob=0.5)
    with pytest.raises(ValueError, match="2D"):
        MultiPointSampler().sample(np.zeros((2, 4, 4)), np.random.default_rng(0))
    with pytest.raises(ValueError, match="no object"):
        MultiPointSampler().select_object(np.zeros((4, 4), int), np.random.default_rng(0))


def test_consistent_masks_keep_objects_that_agree_with_every_click():
    from napari_clickseg.training.click_sampler import masks_consistent_with_clicks

    labels = np.zeros((20, 20), dtype=np.int32)
    labels[2:10, 2:10] = 1  # the target
    labels[4:8, 4:8] = 3  # a part inside the target (another layer in COCO+LVIS)
    masks = [labels > 0, labels == 3, labels == 1]  # whole object, part, ring
    ring_click = [5.0, 2.0]
    part_click = [5.0, 5.0]
    points = np.full((4, 3), -1.0, dtype=np.float32)
    points[0] = (*part_click, 2)
    found = masks_consistent_with_clicks(masks, points, masks[0])
    # The click inside the part fits the whole object and the part, not the ring.
    assert len(found) == 2
    assert np.array_equal(found[0], masks[0]) and np.array_equal(found[1], masks[1])
    points[2] = (*ring_click, 3)  # a negative click on the ring: only the part is left
    found = masks_consistent_with_clicks(masks, points, masks[0])
    # The target is added although a negative click lies on it (official behaviour).
    assert len(found) == 2 and np.array_equal(found[0], masks[1])
    assert np.array_equal(found[1], masks[0])
    with pytest.raises(ValueError, match=r"\(2M, 3\)"):
        masks_consistent_with_clicks(masks, points[:3], masks[0])


def test_point_reduction_favours_few_clicks_and_keeps_one_positive():
    gt = _scene() == 1
    full = MultiPointSampler(max_num_points=24, prob_gamma=0.95)
    reduced = MultiPointSampler(max_num_points=24, prob_gamma=0.95, point_reduce_prob=0.7)
    full_pos, reduced_pos, reduced_neg = [], [], []
    for seed in range(150):
        pos, _ = _split(full.sample(gt, np.random.default_rng(seed)), 24)
        full_pos.append(len(pos))
        pos, neg = _split(reduced.sample(gt, np.random.default_rng(seed)), 24)
        reduced_pos.append(len(pos))
        reduced_neg.append(len(neg))
        assert gt[pos[:, 0].astype(int), pos[:, 1].astype(int)].all()
    assert min(reduced_pos) == 1
    assert np.mean(reduced_pos) < 0.6 * np.mean(full_pos)
    assert reduced_neg.count(0) > 0.2 * len(reduced_neg)
    with pytest.raises(ValueError, match="point_reduce_prob"):
        MultiPointSampler(point_reduce_prob=0.0)


def test_erosion_keeps_the_image_border_and_small_objects():
    sampler = MultiPointSampler(max_num_points=24, positive_erode_prob=1.0)
    gt = np.zeros((30, 30), dtype=bool)
    gt[:, :8] = True  # a band on the left edge: erodes only from its inner side
    eroded_cols = set()
    rng = np.random.default_rng(10)
    for _ in range(100):
        pos, _ = _split(sampler.sample(gt, rng), 24)
        eroded_cols.update(pos[:, 1].astype(int).tolist())
    assert min(eroded_cols) == 0 and max(eroded_cols) <= 4
    tiny = np.zeros((30, 30), dtype=bool)
    tiny[10:14, 10:14] = True  # erosion would leave <= 10 pixels: the mask is kept whole
    pos, _ = _split(sampler.sample(tiny, np.random.default_rng(11)), 24)
    assert tiny[pos[:, 0].astype(int), pos[:, 1].astype(int)].all()


def test_background_only_sample_gets_negative_clicks_only():
    sampler = MultiPointSampler(max_num_points=8, prob_gamma=0.9)
    empty = np.zeros((16, 16), dtype=bool)
    counts = []
    for seed in range(30):
        pos, neg = _split(sampler.sample(empty, np.random.default_rng(seed)), 8)
        assert len(pos) == 0
        counts.append(len(neg))
    assert sum(counts) > 0
