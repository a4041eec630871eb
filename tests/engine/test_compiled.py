"""torch.compile'd network calls: the same predictions, few traces, copied CUDA-graph outputs.

The compiler backend is swapped for 'aot_eager' (graph capture without code generation), which
checks everything this project adds around torch.compile in seconds; the inductor speed-up is
measured by ``benchmarks/bench_predictor.py --compile``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from napari_clickseg.engine import compiled as compiled_module
from napari_clickseg.engine.compiled import CLICK_BUCKET, network_calls
from napari_clickseg.engine.predictor import Predictor
from napari_clickseg.models.checkpoints import load_model
from napari_clickseg.models.click_maps import points_tensor

OFFICIAL = Path(__file__).parents[1] / "fixtures" / "official"
MODELS = ["p16_d8.pth", "icm_p16_d8.pth", "piclick_tiny.pth"]
CLICKS = [(100, 120, True), (110, 130, True), (30, 20, False), (150, 60, False)]


def _image():
    rng = np.random.default_rng(3)
    image = (rng.random((224, 224, 3)) * 80).astype(np.uint8)
    image[60:150, 80:170] += 120
    return image


@pytest.mark.parametrize("name", MODELS)
def test_padding_the_clicks_changes_no_output(name):
    model = load_model(OFFICIAL / name)
    image, prev = torch.rand(2, 3, 224, 224), torch.zeros(2, 1, 224, 224)
    clicks = [[(100.0, 120.0, True), (30.0, 20.0, False)], [(50.0, 60.0, True)]]
    official = points_tensor(clicks)
    padded = points_tensor(clicks, multiple_of=CLICK_BUCKET)
    assert official.shape == (2, 2, 3) and padded.shape == (2, 2 * CLICK_BUCKET, 3)
    with torch.inference_mode():
        a, b = model(image, prev, official), model(image, prev, padded)
    torch.testing.assert_close(a.logits, b.logits, rtol=0, atol=1e-5)
    if a.scores is not None:
        torch.testing.assert_close(a.scores, b.scores, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ["p16_d8.pth", "piclick_tiny.pth"])
def test_a_compiled_predictor_predicts_as_the_eager_one(monkeypatch, name):
    monkeypatch.setattr(compiled_module, "COMPILE_BACKEND", "aot_eager")
    torch._dynamo.reset()
    model = load_model(OFFICIAL / name)
    eager = Predictor(model, "cpu", zoom_in=None)
    fast = Predictor(model, "cpu", zoom_in=None, compile_mode="default")
    assert fast.compile_mode == "default"
    for predictor in (eager, fast):
        predictor.set_image(_image())
    for count in range(1, len(CLICKS) + 1):
        a, b = eager.predict(CLICKS[:count]), fast.predict(CLICKS[:count])
        np.testing.assert_allclose(a.candidates, b.candidates, rtol=0, atol=1e-5)
        assert a.selected == b.selected


def test_cuda_graph_outputs_are_copied_and_unknown_modes_refused(monkeypatch):
    monkeypatch.setattr(compiled_module, "COMPILE_BACKEND", "aot_eager")
    model = load_model(OFFICIAL / "p16_d8.pth")
    assert network_calls(model, "reduce-overhead").copy_outputs
    assert not network_calls(model, "default").copy_outputs
    assert network_calls(model, None).clicks_per_sign == 1  # eager: the official layout
    with pytest.raises(ValueError, match="compile mode must be None or one of default"):
        network_calls(model, "fastest")
