"""The image-encoding cache changes nothing but the work done."""

from pathlib import Path

import numpy as np
import pytest

from napari_clickseg.engine.predictor import Predictor
from napari_clickseg.models.checkpoints import load_model

OFFICIAL = Path(__file__).parents[1] / "fixtures" / "official"
MODELS = ["p16_d8.pth", "icm_p16_d8.pth", "icm_swin_tiny.pth", "piclick_tiny.pth"]
CLICKS = [(100, 120, True), (110, 130, True), (30, 20, False)]


def _image(height=224, width=224):
    rng = np.random.default_rng(3)
    image = (rng.random((height, width, 3)) * 80).astype(np.uint8)
    image[60:150, 80:170] += 120
    return image


def _counting(model):
    encodes = []
    original = model.encode_image

    def counting(image):
        encodes.append(image.shape)
        return original(image)

    model.encode_image = counting
    return encodes


def _run(model, cache, image, zoom_in=None):
    predictor = Predictor(model, "cpu", cache_image_encoding=cache, zoom_in=zoom_in)
    predictor.set_image(image)
    results = []
    for count in range(1, len(CLICKS) + 1):
        prediction = predictor.predict(CLICKS[:count])
        results.append((prediction.candidates, prediction.roi))
    return results


@pytest.mark.parametrize("name", MODELS)
def test_cached_encoding_gives_identical_predictions(name):
    model = load_model(OFFICIAL / name)
    encodes = _counting(model)
    cached = _run(model, True, _image())
    assert len(encodes) == 1  # one image, no ZoomIn: encoded once for all clicks
    plain = _run(model, False, _image())
    for (probs_c, _), (probs_p, _) in zip(cached, plain, strict=True):
        np.testing.assert_array_equal(probs_c, probs_p)


def test_cache_follows_the_zoom_in_crop():
    from napari_clickseg.engine.zoom_in import ZoomInSettings

    model = load_model(OFFICIAL / "p16_d8.pth")
    encodes = _counting(model)
    zoom = ZoomInSettings(target_size=(224, 224))
    cached = _run(model, True, _image(300, 400), zoom)
    assert len(encodes) == len({roi for _, roi in cached})
    plain = _run(model, False, _image(300, 400), zoom)
    for (probs_c, roi_c), (probs_p, roi_p) in zip(cached, plain, strict=True):
        assert roi_c == roi_p
        np.testing.assert_array_equal(probs_c, probs_p)


def test_new_image_invalidates_the_cache():
    model = load_model(OFFICIAL / "p16_d8.pth")
    predictor = Predictor(model, "cpu", zoom_in=None, with_flip=False)
    predictor.set_image(np.zeros((224, 224, 3), np.uint8))
    first = predictor.predict([(100, 100, True)]).probs
    predictor.set_image(np.full((224, 224, 3), 200, np.uint8))
    second = predictor.predict([(100, 100, True)]).probs
    fresh = Predictor(model, "cpu", zoom_in=None, with_flip=False, cache_image_encoding=False)
    fresh.set_image(np.full((224, 224, 3), 200, np.uint8))
    np.testing.assert_array_equal(second, fresh.predict([(100, 100, True)]).probs)
    assert not np.array_equal(first, second)
