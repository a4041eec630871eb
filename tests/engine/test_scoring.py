"""Scoring an existing segmentation: IoU / Dice per object and per slice on hand-made arrays."""

import csv
import math

import numpy as np
import pytest

from napari_clickseg.data.objects3d import Object3D
from napari_clickseg.engine.baseline import RandomWalkerPredictor
from napari_clickseg.engine.metrics import iou as protocol_iou
from napari_clickseg.engine.propagation import propagate
from napari_clickseg.engine.scoring import (
    Overlap,
    object_rows,
    score_labels,
    score_masks,
    score_propagation,
    slice_rows,
    write_rows_csv,
)


def test_overlap_hand_computed():
    # A = 6 px, B = 4 px, A & B = 3 px: IoU 3/7, Dice 6/10.
    item = Overlap(intersection=3, predicted=6, truth=4)
    assert item.union == 7
    assert item.iou == pytest.approx(3 / 7)
    assert item.dice == pytest.approx(0.6)
    assert math.isnan(Overlap(0, 0, 0).iou) and math.isnan(Overlap(0, 0, 0).dice)
    assert Overlap(0, 5, 0).iou == 0 and Overlap(0, 0, 5).dice == 0


def test_2d_masks_agree_with_protocol_iou():
    truth = np.zeros((6, 6), np.uint8)
    truth[1:4, 1:4] = 1  # 9 px
    pred = np.zeros((6, 6), np.uint8)
    pred[2:5, 2:5] = 1  # 9 px, overlap 2x2 = 4
    score = score_masks(truth, pred)
    assert score.iou == pytest.approx(4 / 14)
    assert score.dice == pytest.approx(8 / 18)
    assert score.iou == pytest.approx(protocol_iou(truth.astype(np.int8), pred.astype(bool)))
    assert [s.index for s in score.slices] == [0]


def _volume():
    """Three slices along axis 0 of a 4x4 plane; label 1 in slices 0-1, label 2 in slice 2."""
    truth = np.zeros((3, 4, 4), np.int32)
    truth[0, 0:2, 0:2] = 1  # 4 px
    truth[1, 0:2, 0:2] = 1  # 4 px
    truth[2, 2:4, 2:4] = 2  # 4 px
    pred = np.zeros_like(truth)
    pred[0, 0:2, 0:1] = 1  # 2 px inside: IoU 0.5, Dice 2/3
    # slice 1: label 1 missed entirely
    pred[2, 0:1, 0:1] = 1  # false positive of label 1 in slice 2
    pred[2, 2:4, 2:4] = 2  # perfect
    return truth, pred


def test_per_object_and_per_slice_by_id():
    truth, pred = _volume()
    result = score_labels(pred, truth, axis=0)
    one, two = result.objects
    assert (one.truth_label, one.predicted_label) == (1, 1)
    # label 1 over the volume: truth 8, predicted 3, intersection 2
    assert (one.overlap.truth, one.overlap.predicted, one.overlap.intersection) == (8, 3, 2)
    assert one.iou == pytest.approx(2 / 9)
    assert one.dice == pytest.approx(4 / 11)
    per_slice = {s.index: (s.overlap.iou, s.overlap.dice) for s in one.slices}
    assert per_slice[0] == pytest.approx((0.5, 2 / 3))
    assert per_slice[1] == (0.0, 0.0)  # missed slice
    assert per_slice[2] == (0.0, 0.0)  # false-positive slice
    assert one.mean_slice_dice == pytest.approx((2 / 3) / 3)
    assert two.iou == 1.0 and [s.index for s in two.slices] == [2]
    assert result.mean_dice == pytest.approx((4 / 11 + 1) / 2)
    assert result.unmatched == ()


def test_slice_range_axis_and_chosen_labels():
    truth, pred = _volume()
    result = score_labels(pred, truth, axis=0, slices=[0, 1])
    assert [o.truth_label for o in result.objects] == [1]  # label 2 lives in slice 2 only
    assert result.objects[0].overlap.predicted == 2
    # the same volume sliced along axis 1 (rows): label 2 occupies rows 2-3
    across = score_labels(pred, truth, axis=1, labels=[2])
    assert [s.index for s in across.objects[0].slices] == [2, 3]
    with pytest.raises(ValueError, match=r"label\(s\) \[2\] do not occur in slices 0..1"):
        score_labels(pred, truth, slices=range(2), labels=[2])
    with pytest.raises(ValueError, match="outside the volume"):
        score_labels(pred, truth, slices=[3])
    with pytest.raises(ValueError, match="axis must be"):
        score_labels(pred, truth, axis=3)


def test_match_by_overlap_and_unmatched_labels():
    truth, pred = _volume()
    relabelled = np.where(pred == 1, 7, np.where(pred == 2, 9, 0))
    relabelled[1, 3, 3] = 5  # a stray predicted object
    by_id = score_labels(relabelled, truth)
    assert [o.iou for o in by_id.objects] == [0.0, 0.0]  # ids differ: nothing matches
    by_overlap = score_labels(relabelled, truth, match="overlap")
    assert [o.predicted_label for o in by_overlap.objects] == [7, 9]
    assert by_overlap.objects[0].iou == pytest.approx(2 / 9)
    assert by_overlap.objects[1].iou == 1.0
    assert by_overlap.unmatched == (5,)


def test_overlap_ties_go_to_smaller_label_and_missing_prediction_scores_zero():
    truth = np.zeros((4, 4), np.int32)
    truth[0, 0:4] = 3
    pred = np.zeros_like(truth)
    pred[0, 0:2] = 8
    pred[0, 2:4] = 4
    result = score_labels(pred, truth, match="overlap")
    assert result.objects[0].predicted_label == 4
    empty = score_labels(np.zeros_like(truth), truth, match="overlap")
    assert empty.objects[0].predicted_label is None
    assert empty.objects[0].iou == 0 and empty.objects[0].dice == 0


def test_empty_inputs_and_mismatches_are_refused():
    truth = np.zeros((2, 4, 4), np.int32)
    with pytest.raises(ValueError, match="no ground-truth object to score"):
        score_labels(truth, truth)
    with pytest.raises(ValueError, match="differs from ground-truth shape"):
        score_labels(np.zeros((2, 4, 5), np.int32), truth)
    with pytest.raises(ValueError, match="match must be one of"):
        score_labels(truth, truth, match="best")
    with pytest.raises(ValueError, match="integer labels"):
        score_labels(truth.astype(np.float32), truth)


def test_propagation_scored_in_3d():
    gt = np.zeros((4, 8, 8), bool)
    gt[1:3, 2:6, 2:6] = True  # 32 voxels
    image = np.zeros(gt.shape, np.uint8)
    obj = Object3D.from_volumes("cell", image, gt)
    propagated = np.zeros(gt.shape, np.uint8)
    propagated[1:4, 2:6, 2:6] = 1  # one slice too many: 48 voxels, 32 shared
    score = score_propagation(obj, propagated)
    assert score.name == "cell"
    assert score.iou == pytest.approx(32 / 48)
    assert score.dice == pytest.approx(64 / 80)
    assert [(s.index, s.overlap.dice) for s in score.slices] == [(1, 1.0), (2, 1.0), (3, 0.0)]


def test_rows_and_atomic_csv(tmp_path):
    truth, pred = _volume()
    result = score_labels(pred, truth)
    objects, slices = object_rows(result), slice_rows(result)
    assert [r["object"] for r in objects] == ["label1", "label2"]
    assert objects[0]["dice"] == f"{4 / 11:.6f}" and objects[0]["slices"] == 3
    assert [(r["object"], r["slice"]) for r in slices] == [
        ("label1", 0),
        ("label1", 1),
        ("label1", 2),
        ("label2", 2),
    ]
    path = write_rows_csv(slices, tmp_path / "slices.csv")
    with open(path, newline="") as handle:
        read = list(csv.DictReader(handle))
    assert [r["iou"] for r in read] == [r["iou"] for r in slices]
    assert not list(tmp_path.glob("*.partial"))
    with pytest.raises(ValueError, match="no row"):
        write_rows_csv([], tmp_path / "empty.csv")


def test_propagation_result_scored_with_and_without_seeds():
    # a cylinder-like object through 6 slices; the random walker propagates it from slice 2
    rows, cols = np.ogrid[:32, :32]
    disc = (rows - 16) ** 2 + (cols - 15) ** 2 <= 49
    gt = np.zeros((6, 32, 32), bool)
    gt[:] = disc
    image = np.where(gt, 200, 40).astype(np.uint8)
    obj = Object3D.from_volumes("disc", image, gt)
    seed = np.zeros_like(gt)
    seed[2] = gt[2]
    result = propagate(RandomWalkerPredictor(), image, seed, axis=0)
    assert result.seeds == (2,)
    score = score_propagation(obj, result)
    assert score == score_masks(gt, result.mask, name="disc")
    assert score.overlap.truth == gt.sum()
    without = score_propagation(obj, result, exclude_seeds=True)
    assert [s.index for s in without.slices] == [0, 1, 3, 4, 5]
    assert without.overlap.truth == gt.sum() - gt[2].sum()
    expected = score_masks(np.delete(gt, 2, axis=0), np.delete(result.mask, 2, axis=0))
    assert without.iou == expected.iou and without.dice == expected.dice
    with pytest.raises(ValueError, match="needs the PropagationResult"):
        score_propagation(obj, result.mask, exclude_seeds=True)


def _brute_force(pred, truth, t, p):
    """Per-slice (index, intersection, predicted, truth) of label t against p, the plain way."""
    rows = []
    for z in range(truth.shape[0]):
        a = pred[z] == p if p is not None else np.zeros(truth[z].shape, bool)
        b = truth[z] == t
        if a.any() or b.any():
            rows.append((z, int((a & b).sum()), int(a.sum()), int(b.sum())))
    return rows


@pytest.mark.parametrize("match", ["id", "overlap"])
@pytest.mark.parametrize("offset", [0, 2**40], ids=["small labels", "huge labels"])
def test_many_labels_agree_with_a_plain_count(match, offset):
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 6, size=(5, 12, 12)).astype(np.int64)
    pred = np.where(rng.random(truth.shape) < 0.7, truth, rng.integers(0, 9, size=truth.shape))
    truth = np.where(truth > 0, truth + offset, 0)
    pred = np.where(pred > 0, pred + offset, 0)
    result = score_labels(pred, truth, match=match)
    assert [o.truth_label for o in result.objects] == [offset + v for v in range(1, 6)]
    for obj in result.objects:
        t = obj.truth_label
        if match == "id":
            assert obj.predicted_label == t
        else:  # the predicted label with the largest overlap, the smaller one on ties
            labels = [offset + v for v in range(1, 9)]
            overlaps = {p: int(((truth == t) & (pred == p)).sum()) for p in labels}
            top = max(overlaps.values())
            assert obj.predicted_label == min(p for p, n in overlaps.items() if n == top)
        expected = _brute_force(pred, truth, t, obj.predicted_label)
        got = [(s.index, *vars(s.overlap).values()) for s in obj.slices]
        assert got == expected
        assert obj.overlap.intersection == sum(r[1] for r in expected)
    used = {o.predicted_label for o in result.objects}
    labels = [offset + v for v in range(1, 9)]
    assert result.unmatched == tuple(v for v in labels if v not in used and (pred == v).any())


def test_boolean_masks_are_label_1():
    truth = np.zeros((3, 3), bool)
    truth[0, :2] = True
    pred = np.zeros((3, 3), bool)
    pred[0, 1:] = True
    result = score_labels(pred, truth)
    assert result.objects[0].name == "label1" and result.objects[0].iou == pytest.approx(1 / 3)
    assert result.unmatched == ()
