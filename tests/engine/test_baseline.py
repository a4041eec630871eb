import numpy as np
import pytest

from napari_clickseg.data.synthetic import make_2d_sample
from napari_clickseg.engine.baseline import RandomWalkerPredictor
from napari_clickseg.engine.session import Session


def _iou(a, b):
    return np.logical_and(a, b).sum() / np.logical_or(a, b).sum()


def test_one_click_segments_a_synthetic_cell():
    image, truth, click = make_2d_sample(seed=0)
    predictor = RandomWalkerPredictor()
    predictor.set_image(image)
    prediction = predictor.predict([(*click, True)])
    assert prediction.probs.shape == truth.shape
    assert _iou(prediction.mask, truth) > 0.8


def test_negative_click_removes_a_region():
    image = np.zeros((40, 80), np.uint8)
    image[5:35, 5:35] = 200
    image[5:35, 45:75] = 200
    predictor = RandomWalkerPredictor()
    predictor.set_image(image)
    both = predictor.predict([(20, 20, True), (20, 60, True)])
    assert both.mask[20, 20] and both.mask[20, 60]
    one = predictor.predict([(20, 20, True), (20, 60, True), (20, 60, False)])
    assert one.mask[20, 20] and not one.mask[20, 60]


def test_works_inside_a_session_with_undo():
    image, _, click = make_2d_sample(seed=1)
    predictor = RandomWalkerPredictor()
    predictor.set_image(image)
    session = Session(predictor)
    session.add_click(*click, True)
    first = session.probs.copy()
    session.add_click(5, 5, False)
    session.undo()
    np.testing.assert_array_equal(session.probs, first)


def test_refuses_empty_and_outside_clicks():
    predictor = RandomWalkerPredictor()
    predictor.set_image(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="at least one click"):
        predictor.predict([])
    with pytest.raises(ValueError, match="outside the image"):
        predictor.predict([(10, 3, True)])
