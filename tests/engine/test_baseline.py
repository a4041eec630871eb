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


def _scene(shape=(120, 140)):
    """Two bright discs on a dark background with a little noise."""
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    first = (rows - 50) ** 2 + (cols - 50) ** 2 <= 20**2
    second = (rows - 60) ** 2 + (cols - 105) ** 2 <= 12**2
    noise = np.random.default_rng(0).normal(0, 6, shape)
    image = (40 + 150 * (first | second) + noise).clip(0, 255).astype(np.uint8)
    return image, first, second


def test_the_watershed_baseline_is_the_default_and_validates_its_settings():
    from napari_clickseg.engine.baseline import BaselineSettings, ClickBaseline

    assert ClickBaseline().settings.method == "watershed"
    assert RandomWalkerPredictor().settings.method == "random_walker"
    with pytest.raises(ValueError, match="method must be one of"):
        BaselineSettings(method="grabcut")
    with pytest.raises(ValueError, match="min_crop must be at least 8"):
        BaselineSettings(min_crop=2)


def test_a_click_costs_the_same_on_a_large_image():
    """The crop follows the clicks: the same object in a 1024 px image gives the same mask."""
    from napari_clickseg.engine.baseline import ClickBaseline

    image, first, _ = _scene()
    large = np.full((1024, 1024), 40, np.uint8)
    large[400:520, 300:440] = image
    small_mask = _predict(ClickBaseline(), image, [(50, 50, True)])
    large_mask = _predict(ClickBaseline(), large, [(450, 350, True)])
    assert _iou(small_mask, first) > 0.9
    np.testing.assert_array_equal(large_mask[400:520, 300:440], small_mask)
    assert large_mask.sum() == small_mask.sum()


def test_an_object_larger_than_the_first_view_is_segmented_whole():
    from napari_clickseg.engine.baseline import BaselineSettings, ClickBaseline

    image, first, _ = _scene()
    mask = _predict(ClickBaseline(BaselineSettings(min_crop=16)), image, [(50, 50, True)])
    assert _iou(mask, first) > 0.9  # a 41 px disc from a 16 px first view


def test_a_click_changes_the_previous_mask_only_near_it_and_only_its_way():
    from napari_clickseg.engine.baseline import ClickBaseline

    image, first, second = _scene()
    predictor = ClickBaseline()
    predictor.set_image(image)
    both = predictor.predict([(50, 50, True), (60, 105, True)]).mask
    assert _iou(both, first | second) > 0.9
    # a negative click on the second disc removes it and leaves the first disc's pixels alone
    after = predictor.predict([(50, 50, True), (60, 105, True), (60, 105, False)]).mask
    assert not after[second].any()
    np.testing.assert_array_equal(after[:, :80], both[:, :80])
    assert not (after & ~both).any()  # a negative click never adds


def test_a_prior_from_outside_only_places_the_crop():
    """Propagation gives the neighbouring slice's mask: the image decides, not the prior."""
    from napari_clickseg.engine.baseline import ClickBaseline

    image, first, _ = _scene()
    prior = np.zeros(first.shape, bool)
    prior[20:90, 15:95] = True  # a box around the disc, much larger than it
    predictor = ClickBaseline()
    predictor.set_image(image)
    predictor.set_prev_mask(prior)
    mask = predictor.predict([(50, 50, True)]).mask
    assert _iou(mask, first) > 0.9


def _predict(predictor, image, clicks):
    predictor.set_image(image)
    return predictor.predict(clicks).mask


def test_the_random_walker_answers_when_its_seeds_leave_nothing_to_solve():
    from napari_clickseg.engine.baseline import BaselineSettings, ClickBaseline

    predictor = ClickBaseline(BaselineSettings(method="random_walker"))
    markers = np.ones((4, 5), np.int32)
    markers[:, 3:] = 2
    np.testing.assert_array_equal(
        predictor._segment(np.zeros((4, 5)), markers), (markers == 1).astype(np.float32)
    )
    assert predictor._segment(np.zeros((4, 5)), np.ones((4, 5), np.int32)).all()


def test_clicked_pixels_keep_their_sign_whatever_later_clicks_seed():
    """Negative clicks whose seed disks cover an earlier positive click's whole disk leave that
    click's pixel object: a tiny object is never wiped out by clicks around it."""
    from napari_clickseg.engine.baseline import ClickBaseline

    image = np.full((64, 64), 40, np.uint8)
    image[30:33, 30:33] = 200  # a 3 x 3 object
    predictor = ClickBaseline()
    predictor.set_image(image)
    clicks = [(31, 31, True)]
    predictor.predict(clicks)
    for row, col in [(33, 31), (29, 31), (31, 33), (31, 29)]:
        clicks.append((row, col, False))
        mask = predictor.predict(clicks).mask
        assert mask[31, 31] and not mask[row, col]
