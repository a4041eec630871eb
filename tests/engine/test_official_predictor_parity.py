"""The predictor against the official predictor's per-click output (tests/fixtures/official).

The fixture replays the official evaluation loop (ZoomIn, flip averaging, CFR) with a tiny
official model on a 40 x 420 image whose ZoomIn box changes over the clicks.
"""

import numpy as np
import pytest

from conftest import FIXTURES
from napari_clickseg.engine.predictor import CFRSettings, Predictor
from napari_clickseg.models.checkpoints import load_model

OFFICIAL = FIXTURES / "official"
SCENARIOS = {
    "plain": {"with_flip": True, "cfr": CFRSettings()},
    "noflip": {"with_flip": False, "cfr": CFRSettings()},
    "cfr2": {"with_flip": True, "cfr": CFRSettings(steps=2)},
    "acfr4": {"with_flip": True, "cfr": CFRSettings(steps=4, adaptive=True)},
    "cfr2_all": {"with_flip": True, "cfr": CFRSettings(steps=2, max_clicks=20)},
}


@pytest.fixture(scope="module")
def data():
    return np.load(OFFICIAL / "p16_d8_clicks.npz")


@pytest.fixture(scope="module")
def model():
    return load_model(OFFICIAL / "p16_d8.pth")


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_per_click_probabilities_rois_and_passes_match_official(data, model, scenario):
    predictor = Predictor(model, "cpu", **SCENARIOS[scenario])
    predictor.set_image(data["image"])
    clicks = [(int(r), int(c), bool(p)) for r, c, p in data[f"{scenario}_clicks"]]
    expected_probs = data[f"{scenario}_probs"]
    for count in range(1, len(clicks) + 1):
        prediction = predictor.predict(clicks[:count])
        index = count - 1
        assert prediction.roi == tuple(int(v) for v in data[f"{scenario}_rois"][index])
        assert prediction.passes == int(data[f"{scenario}_passes"][index])
        np.testing.assert_allclose(prediction.probs, expected_probs[index], rtol=0, atol=1e-4)
        outside = expected_probs[index] == 0
        assert np.all(prediction.probs[outside] == 0)


def test_fixture_exercises_zoom_in(data):
    rois = [tuple(r) for r in data["plain_rois"]]
    height, width = data["image"].shape[:2]
    assert rois[0] == (0, height - 1, 0, width - 1)
    assert len(set(rois)) >= 3
    assert not all(data["plain_clicks"][:, 2])  # negative clicks too
