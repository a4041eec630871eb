"""Batched evaluation: many objects advance together, with the answers of one at a time."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from napari_clickseg.engine.baseline import RandomWalkerPredictor
from napari_clickseg.engine.batching import ComputeClock, run_together
from napari_clickseg.engine.evaluation import EvaluationSettings, evaluate_dataset
from napari_clickseg.engine.predictor import CFRSettings, Predictor
from napari_clickseg.engine.zoom_in import ZoomInSettings
from napari_clickseg.models.checkpoints import load_model

OFFICIAL = Path(__file__).parents[1] / "fixtures" / "official"


@dataclass
class Obj:
    name: str
    image: np.ndarray
    gt: np.ndarray


def _objects(count=4):
    rng = np.random.default_rng(5)
    objects = []
    for index in range(count):
        height, width = 120 + 20 * index, 150 + 10 * index  # different image sizes
        image = (rng.random((height, width, 3)) * 60).astype(np.uint8)
        gt = np.zeros((height, width), np.int8)
        top, left = 20 + 5 * index, 30 + 3 * index
        gt[top : top + 40 + 5 * index, left : left + 50] = 1
        image[gt == 1] += 150
        objects.append(Obj(f"object{index}", image, gt))
    return objects


def _predictor(name):
    return Predictor(load_model(OFFICIAL / name), "cpu", zoom_in=ZoomInSettings((224, 224)))


@pytest.mark.parametrize("name", ["p16_d8.pth", "piclick_tiny.pth"])
def test_batched_evaluation_equals_one_at_a_time(name):
    settings = EvaluationSettings(max_clicks=2, full_curve=True)
    objects = _objects(3)
    one = evaluate_dataset(_predictor(name), objects, settings)
    calls = []
    predictor = _predictor(name)
    original = predictor.run_request

    def counting(request):
        calls.append(request.image.shape[0])
        return original(request)

    predictor.run_request = counting
    together = evaluate_dataset(predictor, objects, settings, batch_size=3)
    for a, b in zip(one.objects, together.objects, strict=True):
        assert a.name == b.name and a.clicks == b.clicks
        np.testing.assert_allclose(a.ious, b.ious, atol=1e-4)
        assert len(b.seconds) == len(b.ious) and all(s > 0 for s in b.seconds)
    # 3 objects x 2 clicks, each with its flipped copy, in one call per click
    assert calls == [6, 6]
    assert together.summary.miou_at(2) == pytest.approx(one.summary.miou_at(2), abs=1e-4)


def test_batched_evaluation_with_cfr_on_large_first_views_only_equals_one_at_a_time():
    # first views shrink 0.67x, 0.71x, 0.76x, 0.80x into 224 px: CFR runs on the last two only
    cfr = CFRSettings(steps=2, min_view_shrink=0.73)
    settings = EvaluationSettings(max_clicks=2, full_curve=True)
    objects = _objects(4)

    def predictor(with_cfr):
        model = load_model(OFFICIAL / "p16_d8.pth")
        return Predictor(
            model, "cpu", zoom_in=ZoomInSettings((224, 224)), cfr=cfr if with_cfr else None
        )

    plain = evaluate_dataset(predictor(False), objects, settings)
    one = evaluate_dataset(predictor(True), objects, settings)
    together = evaluate_dataset(predictor(True), objects, settings, batch_size=4)
    for a, b in zip(one.objects, together.objects, strict=True):
        np.testing.assert_allclose(a.ious, b.ious, atol=1e-4)
    pairs = zip(plain.objects, one.objects, strict=True)
    changed = [not np.allclose(a.ious[0], b.ious[0]) for a, b in pairs]
    assert changed[:2] == [False, False] and any(changed[2:])


def test_requests_of_different_sizes_go_in_separate_calls():
    predictor = _predictor("p16_d8.pth")
    predictor.zoom_in = None  # whole images at their own sizes: no common input size
    sizes = [(224, 224), (224, 448), (224, 224)]
    jobs = []
    for height, width in sizes:
        twin = predictor.spawn()
        twin.set_image(np.zeros((height, width, 3), np.uint8))
        jobs.append(twin.predict_steps([(100, 100, True)]))
    calls = []
    original = predictor.run_request
    predictor.run_request = lambda request: calls.append(request.image.shape) or original(request)
    clocks = [ComputeClock(live=False) for _ in jobs]
    results = run_together(predictor, jobs, max_batch=8, clocks=clocks)
    assert sorted(tuple(c) for c in calls) == [(2, 3, 224, 448), (4, 3, 224, 224)]
    for result, (height, width) in zip(results, sizes, strict=True):
        assert result.probs.shape == (height, width)
        alone = predictor.spawn()
        alone.set_image(np.zeros((height, width, 3), np.uint8))
        expected = alone.predict([(100, 100, True)]).probs
        np.testing.assert_allclose(result.probs, expected, atol=1e-5)
    assert all(clock.elapsed > 0 for clock in clocks)


def test_batching_needs_a_network_predictor():
    with pytest.raises(ValueError, match="RandomWalkerPredictor evaluates one object"):
        evaluate_dataset(RandomWalkerPredictor(), _objects(1), batch_size=2)
    with pytest.raises(ValueError, match="at least 1"):
        evaluate_dataset(RandomWalkerPredictor(), _objects(1), batch_size=0)
