"""A click on a huge slice costs what a click on a small one costs (issue 16, finding 4)."""

import tracemalloc

import numpy as np
import pytest
import torch
from fake_models import ImageEcho

from napari_clickseg.engine import predictor as predictor_module
from napari_clickseg.engine.image_input import ImageSource
from napari_clickseg.engine.predictor import Predictor


def _blob_image(height, width, seed=0):
    rng = np.random.default_rng(seed)
    rows, cols = np.ogrid[:height, :width]
    blob = ((rows - 0.4 * height) ** 2 + (cols - 0.55 * width) ** 2) < (0.15 * height) ** 2
    noise = rng.integers(0, 60, (height, width))
    return np.where(blob, 200, 40).astype(np.uint8) + noise.astype(np.uint8)


def _clicks(height, width):
    return [
        (int(0.4 * height), int(0.55 * width), True),
        (int(0.45 * height), int(0.5 * width), True),
    ]


def test_gathered_resize_of_a_large_crop_equals_the_official_crop_path(monkeypatch):
    image = _blob_image(700, 560)
    results = {}
    for name, ratio in (("official", 10**9), ("gathered", 1)):
        monkeypatch.setattr(predictor_module, "GATHER_AREA_RATIO", ratio)
        model = ImageEcho()
        predictor = Predictor(model, "cpu")
        predictor.set_image(image)
        probs = [predictor.predict(_clicks(700, 560)[: n + 1]).probs for n in range(2)]
        results[name] = (probs, model.inputs)
    for ours, official in zip(results["gathered"][0], results["official"][0], strict=True):
        np.testing.assert_allclose(ours, official, rtol=0, atol=1e-6)
    for (image_a, prev_a), (image_b, prev_b) in zip(*(results[k][1] for k in results), strict=True):
        torch.testing.assert_close(image_a, image_b, rtol=0, atol=1e-6)
        torch.testing.assert_close(prev_a, prev_b, rtol=0, atol=1e-6)


def test_a_large_slice_is_never_converted_to_float_at_full_resolution(monkeypatch):
    height = width = 4000
    image = _blob_image(height, width)
    normalised = []
    original = ImageSource._normalise

    def recording(self, pixels):
        normalised.append(pixels.shape[0] * pixels.shape[1])
        return original(self, pixels)

    monkeypatch.setattr(ImageSource, "_normalise", recording)
    predictor = Predictor(ImageEcho(), "cpu")
    tracemalloc.start()
    try:
        predictor.set_image(image)
        for count in range(1, 3):
            prediction = predictor.predict(_clicks(height, width)[:count])
        mask = prediction.mask
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert mask.shape == (height, width) and mask[int(0.4 * height), int(0.55 * width)]
    # one float32 RGB copy would be 192 MB, one float32 channel 64 MB; the bool mask is 16 MB
    assert peak < 40e6, f"peak traced allocation {peak / 1e6:.0f} MB"
    assert max(normalised) <= 16 * 64 * 64
    assert predictor.get_state().prev.nbytes <= 64 * 64 * 4


def test_undo_history_stays_small_on_a_large_slice():
    from napari_clickseg.engine.session import Session

    predictor = Predictor(ImageEcho(), "cpu")
    predictor.set_image(_blob_image(3000, 3000))
    session = Session(predictor)
    for click in _clicks(3000, 3000):
        session.add_click(*click)
    held = sum(step.state.prev.nbytes + step.state.zoom.nbytes for step in session._steps)
    assert held < 1e6
    assert session.mask.shape == (3000, 3000) and session.mask.any()


@pytest.mark.parametrize("shape", [(3, 5), (1, 1), (2000, 30)])
def test_odd_shapes_keep_working(shape):
    predictor = Predictor(ImageEcho(), "cpu")
    predictor.set_image(_blob_image(*shape))
    prediction = predictor.predict([(0, 0, True)])
    assert prediction.probs.shape == shape and prediction.mask.shape == shape
