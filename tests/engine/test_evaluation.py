import csv
from types import SimpleNamespace

import numpy as np
import pytest
from fake_models import DiskOracle

from napari_clickseg.engine.evaluation import (
    EvaluationSettings,
    evaluate_dataset,
    evaluate_object,
)
from napari_clickseg.engine.evaluation_report import plot_miou, results_table, write_csv
from napari_clickseg.engine.predictor import Predictor


def _square_object(size=60, side=20):
    image = np.zeros((size, size), np.uint8)
    gt = np.zeros((size, size), np.int8)
    gt[20 : 20 + side, 20 : 20 + side] = 1
    image[gt == 1] = 200
    return image, gt


class PerfectOnSecondClick:
    """Predicts nothing on the first click and the ground truth from the second on."""

    def __init__(self, gt):
        from napari_clickseg.engine.predictor import Prediction

        self.gt = gt
        self.calls = 0
        self._prediction = Prediction

    def set_image(self, image):
        self.calls = 0

    def predict(self, clicks):
        self.calls += 1
        probs = (self.gt == 1).astype(np.float32) if self.calls >= 2 else np.zeros(self.gt.shape)
        probs = probs.astype(np.float32)
        return self._prediction(probs, probs[None], None, 0, None, 1)


def test_stops_at_target_unless_full_curve():
    image, gt = _square_object()
    result = evaluate_object(PerfectOnSecondClick(gt), image, gt, name="square")
    assert result.ious == [0.0, 1.0]
    assert result.clicks[0].is_positive and (result.clicks[0].row, result.clicks[0].col) == (29, 29)
    full = evaluate_object(
        PerfectOnSecondClick(gt), image, gt, EvaluationSettings(max_clicks=4, full_curve=True)
    )
    assert len(full.ious) == 4


def test_dataset_metrics_and_reports(tmp_path):
    image, gt = _square_object()
    objects = [SimpleNamespace(name=f"o{i}", image=image, gt=gt) for i in range(3)]
    seen = []
    result = evaluate_dataset(
        PerfectOnSecondClick(gt),
        objects,
        EvaluationSettings(max_clicks=5, full_curve=True),
        progress=lambda done, total, name: seen.append((done, total, name)),
    )
    assert seen[-1] == (3, 3, "o2")
    assert result.summary.noc_at(90) == 2.0 and result.summary.nof_at(90) == 0
    assert result.summary.miou[:2] == (0.0, 1.0)
    table = results_table(result)
    assert "NoC@90" in table and "2.00" in table
    with open(write_csv(result, tmp_path / "r.csv")) as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["object"] == "o0" and rows[0]["noc@90"] == "2" and rows[0]["iou@2"] == "1.000000"
    assert plot_miou({"perfect": result}, tmp_path / "m.png").stat().st_size > 1000


def test_real_predictor_runs_the_protocol():
    image, gt = _square_object(size=80)
    predictor = Predictor(DiskOracle(), "cpu")
    result = evaluate_object(predictor, image, gt, EvaluationSettings(max_clicks=3))
    assert 1 <= len(result.ious) <= 3 and all(0 <= v <= 1 for v in result.ious)


def test_empty_ground_truth_and_empty_dataset_are_errors():
    image, gt = _square_object()
    with pytest.raises(ValueError, match="no object pixel"):
        evaluate_object(PerfectOnSecondClick(gt), image, np.zeros_like(gt), name="empty")
    with pytest.raises(ValueError, match="no objects"):
        evaluate_dataset(PerfectOnSecondClick(gt), [])


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="max_clicks"):
        EvaluationSettings(max_clicks=0)
    with pytest.raises(ValueError, match="selection"):
        EvaluationSettings(selection="best")
