import numpy as np
import pytest
import torch
from fake_models import DiskOracle, PriorDrift
from scipy import ndimage

from napari_clickseg.engine.predictor import CFRSettings, Predictor
from napari_clickseg.engine.zoom_in import ZoomInSettings, expand_bbox


def _image(height=150, width=230):
    return (np.random.default_rng(0).random((height, width, 3)) * 255).astype(np.uint8)


def test_first_click_segments_around_the_click_on_an_anisotropic_resize():
    predictor = Predictor(DiskOracle(), "cpu")
    predictor.set_image(_image())
    prediction = predictor.predict([(40, 170, True)])
    assert prediction.roi == (0, 149, 0, 229)
    _, count = ndimage.label(prediction.mask)
    # one blob at the click; a wrong flip of the click column would add a mirrored blob
    assert count == 1
    assert prediction.mask[40, 170]
    centre = ndimage.center_of_mass(prediction.mask)
    assert abs(centre[0] - 40) < 1 and abs(centre[1] - 170) < 1.5
    # the 5-px disk in the 448 input is an ellipse in the image: radii 5*150/448, 5*230/448
    rows, cols = np.nonzero(prediction.mask)
    assert rows.max() - rows.min() < cols.max() - cols.min()


def test_flip_batch_holds_mirrored_clicks():
    model = DiskOracle()
    predictor = Predictor(model, "cpu")
    predictor.set_image(_image())
    predictor.predict([(40, 170, True), (100, 20, False)])
    points = model.calls[-1]
    assert points.shape[0] == 2
    col = 448 * 170 / 230
    assert points[0, 0, 1].item() == pytest.approx(col)
    assert points[1, 0, 1].item() == pytest.approx(448 - col - 1)
    assert points[0, 0, 0].item() == points[1, 0, 0].item() == pytest.approx(448 * 40 / 150)


def test_without_flip_the_batch_has_one_item():
    model = DiskOracle()
    predictor = Predictor(model, "cpu", with_flip=False)
    predictor.set_image(_image())
    predictor.predict([(40, 170, True)])
    assert model.calls[-1].shape[0] == 1


def test_second_click_zooms_in_and_pastes_into_zero_canvas():
    predictor = Predictor(DiskOracle(), "cpu")
    predictor.set_image(_image(600, 700))
    first = predictor.predict([(300, 350, True)])
    second = predictor.predict([(300, 350, True), (310, 352, True)])
    # the box of the previous mask (> 0.5) and the positive clicks, expanded
    box_mask = first.probs > 0.5
    box_mask[310, 352] = True
    rows, cols = np.nonzero(box_mask)
    bbox = (int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max()))
    assert second.roi == expand_bbox(bbox, 1.4, 200)
    rmin, rmax, cmin, cmax = second.roi
    outside = np.ones_like(second.probs, bool)
    outside[rmin : rmax + 1, cmin : cmax + 1] = False
    assert np.all(second.probs[outside] == 0)
    assert second.mask[300, 350] and second.mask[310, 352]


def test_cfr_runs_n_plus_one_passes_on_first_click_only():
    predictor = Predictor(PriorDrift(), "cpu", cfr=CFRSettings(steps=3))
    predictor.set_image(_image())
    assert predictor.predict([(10, 10, True)]).passes == 4
    assert predictor.predict([(10, 10, True), (20, 20, False)]).passes == 1


def test_cfr_every_click_when_asked():
    predictor = Predictor(PriorDrift(), "cpu", cfr=CFRSettings(steps=2, max_clicks=None))
    predictor.set_image(_image())
    predictor.predict([(10, 10, True)])
    assert predictor.predict([(10, 10, True), (20, 20, False)]).passes == 3


def test_cfr_passes_feed_the_previous_output_back():
    plain = Predictor(PriorDrift(), "cpu")
    plain.set_image(_image())
    for _ in range(3):  # three plain passes with the same click chain their outputs
        expected = plain.predict([(10, 10, True)]).probs
    cfr = Predictor(PriorDrift(), "cpu", cfr=CFRSettings(steps=2))
    cfr.set_image(_image())
    np.testing.assert_allclose(cfr.predict([(10, 10, True)]).probs, expected, atol=1e-6)


def test_adaptive_cfr_stops_when_at_most_20_pixels_change():
    # PriorDrift from 0 goes 0.45 -> 0.675 -> ...: the first pass is below 0.49 everywhere,
    # the second above, the third equal at the threshold: adaptive stops after pass 3.
    predictor = Predictor(PriorDrift(), "cpu", cfr=CFRSettings(steps=6, adaptive=True))
    predictor.set_image(_image())
    assert predictor.predict([(10, 10, True)]).passes == 3


def test_cfr_with_min_view_shrink_refines_only_first_views_shrunk_that_much():
    cfr = CFRSettings(steps=2, min_view_shrink=3.0)
    predictor = Predictor(DiskOracle(), "cpu", cfr=cfr)
    predictor.set_image(_image(600, 700))  # the whole view shrinks 700 / 448 = 1.6x
    assert predictor.predict([(300, 350, True)]).passes == 1
    predictor.set_image(_image(1400, 1200))  # 1400 / 448 = 3.1x
    refined = predictor.predict([(700, 600, True)])
    assert refined.passes == 3
    # the later passes crop around the first pass's mask: a coarse-to-fine first click
    rmin, rmax, cmin, cmax = refined.roi
    assert rmax - rmin + 1 < 1400 and cmax - cmin + 1 < 1200
    assert refined.mask[700, 600]


def test_cfr_min_view_shrink_must_not_be_negative():
    with pytest.raises(ValueError, match="min_view_shrink"):
        CFRSettings(steps=1, min_view_shrink=-1.0)


def test_without_cfr_settings_the_predictor_runs_what_the_model_recommends():
    model = DiskOracle()
    assert Predictor(model, "cpu").cfr == CFRSettings()  # official checkpoints: off
    model.inference_defaults = {"cfr": {"steps": 4, "adaptive": True, "min_view_shrink": 3.0}}
    assert Predictor(model, "cpu").cfr == CFRSettings(steps=4, adaptive=True, min_view_shrink=3)
    assert Predictor(model, "cpu", cfr=CFRSettings()).cfr == CFRSettings()  # asked: off
    model.inference_defaults = {"cfr": {"steps": 4, "colour": "red"}}
    with pytest.raises(ValueError, match="recommended CFR settings"):
        Predictor(model, "cpu")


def test_state_round_trip_reproduces_the_continuation():
    predictor = Predictor(DiskOracle(), "cpu")
    predictor.set_image(_image(500, 500))
    predictor.predict([(250, 250, True)])
    state = predictor.get_state()
    clicks = [(250, 250, True), (260, 240, True)]
    first = predictor.predict(clicks)
    predictor.predict([*clicks, (100, 100, True)])
    predictor.set_state(state)
    again = predictor.predict(clicks)
    np.testing.assert_array_equal(first.probs, again.probs)
    assert first.roi == again.roi


def test_prior_mask_feeds_the_network_and_the_crop():
    predictor = Predictor(PriorDrift(target=1.0), "cpu", with_flip=False)
    predictor.set_image(_image(400, 400))
    prior = np.zeros((400, 400), np.float32)
    prior[100:140, 100:140] = 1
    predictor.set_prev_mask(prior)
    prediction = predictor.predict([(120, 120, True)])
    assert prediction.roi == expand_bbox((100, 139, 100, 139), 1.4, 200)
    assert prediction.probs[120, 120] > 0.99


def test_real_tiny_model_gives_probabilities(tiny_model):
    predictor = Predictor(tiny_model, "cpu")
    predictor.set_image(_image())
    prediction = predictor.predict([(75, 115, True)])
    assert prediction.probs.shape == (150, 230)
    assert prediction.candidates.shape == (1, 150, 230)
    assert prediction.probs.min() >= 0 and prediction.probs.max() <= 1
    assert prediction.selected == 0 and prediction.scores is None


@pytest.mark.parametrize(
    ("clicks", "error", "message"),
    [
        ([], ValueError, "at least one click"),
        ([(150, 10, True)], ValueError, "outside the image"),
        ([(-1, 10, True)], ValueError, "outside the image"),
        ([(1, 2)], ValueError, "row, col, is_positive"),
    ],
)
def test_bad_clicks_are_refused(clicks, error, message):
    predictor = Predictor(DiskOracle(), "cpu")
    predictor.set_image(_image())
    with pytest.raises(error, match=message):
        predictor.predict(clicks)


def test_predict_before_set_image_says_what_to_do():
    with pytest.raises(RuntimeError, match="set_image"):
        Predictor(DiskOracle(), "cpu").predict([(1, 1, True)])


def test_prior_of_wrong_shape_or_range_is_refused():
    predictor = Predictor(DiskOracle(), "cpu")
    predictor.set_image(_image())
    with pytest.raises(ValueError, match="does not match the image"):
        predictor.set_prev_mask(np.zeros((10, 10)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        predictor.set_prev_mask(np.full((150, 230), 2.0))


def test_float16_needs_a_gpu():
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        Predictor(DiskOracle(), "cpu", precision="float16")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present")
def test_asking_for_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        Predictor(DiskOracle(), "cuda")


def test_native_size_without_zoom_in():
    predictor = Predictor(DiskOracle(), "cpu", zoom_in=None)
    predictor.set_image(_image(448, 448))
    prediction = predictor.predict([(200, 300, True)])
    assert prediction.roi is None
    assert prediction.mask[200, 300]


def test_zoom_settings_target_size_is_honoured():
    model = DiskOracle()
    predictor = Predictor(model, "cpu", zoom_in=ZoomInSettings(target_size=(672, 672)))
    predictor.set_image(_image())
    predictor.predict([(10, 10, True)])
    assert model.calls[-1][0, 0, 0].item() == pytest.approx(672 * 10 / 150)


def test_candidates_scores_and_switching_feed_the_prior():
    from fake_models import TwoCandidates

    predictor = Predictor(TwoCandidates(), "cpu", with_flip=False)
    predictor.set_image(_image(300, 300))
    prediction = predictor.predict([(150, 150, True)])
    assert prediction.candidates.shape == (2, 300, 300)
    assert prediction.selected == 1 and prediction.mask.all()  # the model's pick: best score
    np.testing.assert_allclose(prediction.scores, [0.2, 0.8])
    switched = predictor.select_candidate(prediction, 0)
    assert switched.selected == 0 and switched.mask[150, 150] and not switched.mask[0, 0]
    np.testing.assert_array_equal(predictor.get_state().prev_probs, switched.probs)
    with pytest.raises(IndexError, match="has 2"):
        predictor.select_candidate(prediction, 2)


def test_oracle_selection_picks_the_candidate_closest_to_ground_truth():
    from fake_models import TwoCandidates

    from napari_clickseg.engine.evaluation import EvaluationSettings, evaluate_object

    gt = np.zeros((300, 300), np.int8)
    gt[140:161, 140:161] = 1
    predictor = Predictor(TwoCandidates(), "cpu", with_flip=False)
    own = evaluate_object(predictor, _image(300, 300), gt, EvaluationSettings(max_clicks=1))
    oracle = evaluate_object(
        predictor, _image(300, 300), gt, EvaluationSettings(max_clicks=1, selection="oracle")
    )
    assert oracle.ious[0] > own.ious[0]


def test_flip_pairs_candidates_by_matching_before_averaging():
    from fake_models import HalvesByPosition

    predictor = Predictor(HalvesByPosition(), "cpu", zoom_in=None)
    predictor.set_image(_image(64, 64))
    prediction = predictor.predict([(30, 10, True)])
    # averaging by index would mix the two halves into p = 0.5 everywhere
    left = np.zeros((64, 64), bool)
    left[:, :32] = True
    masks = prediction.candidates > 0.49
    assert {masks[0].tobytes(), masks[1].tobytes()} == {left.tobytes(), (~left).tobytes()}
    assert prediction.candidates.max() > 0.98 and prediction.candidates.min() < 0.02
    # scores of matched candidates are summed; the pick holds the click
    np.testing.assert_allclose(sorted(prediction.scores), [0.0, 2.0])
    np.testing.assert_array_equal(prediction.mask, left)


def test_zoom_in_follows_the_averaged_logits_for_logit_zoom_models():
    from fake_models import HalvesByPosition

    # logit 0.3: probability 0.57 passes the 0.49 threshold, but ZoomIn thresholds the
    # logits at 0.5 as the official PiClick predictor does, so it sees no object
    predictor = Predictor(HalvesByPosition(logit=0.3), "cpu", zoom_in=ZoomInSettings())
    predictor.set_image(_image(300, 300))
    first = predictor.predict([(150, 40, True)])
    assert first.mask[150, 40]
    zoom = predictor.get_state().zoom_probs
    np.testing.assert_allclose(zoom[150, 40], 0.3, atol=1e-5)
    np.testing.assert_allclose(zoom[150, 260], -0.3, atol=1e-5)
    switched = predictor.select_candidate(first, 1 - first.selected)
    np.testing.assert_allclose(predictor.get_state().zoom_probs[150, 260], 0.3, atol=1e-5)
    assert switched.mask[150, 260] and not switched.mask[150, 40]


def test_zoom_in_crops_to_the_model_input_size_by_default():
    model = DiskOracle()
    model.input_size = (224, 224)
    predictor = Predictor(model, "cpu")
    assert predictor.zoom_in.target_size == (224, 224)
    predictor.set_image(_image())
    predictor.predict([(10, 10, True)])
    assert model.calls[-1][0, 0, 0].item() == pytest.approx(224 * 10 / 150)


def test_prediction_from_a_prior_mask_alone():
    predictor = Predictor(PriorDrift(target=1.0), "cpu", with_flip=False)
    predictor.set_image(_image(100, 100))
    with pytest.raises(ValueError, match="non-empty prior mask"):
        predictor.predict([])
    prior = np.zeros((100, 100), np.float32)
    prior[30:60, 30:60] = 1.0
    predictor.set_prev_mask(prior)
    prediction = predictor.predict([])
    # PriorDrift moves the prior halfway to 1: the mask is the prior's box and beyond
    assert prediction.mask[30:60, 30:60].all()
    assert predictor.predicts_without_clicks


def test_the_zoom_floor_follows_the_model_input_size():
    small = DiskOracle()
    small.input_size = (224, 224)
    assert Predictor(small, "cpu").zoom_in.min_crop_size == 100
    assert Predictor(DiskOracle(), "cpu").zoom_in.min_crop_size == 200  # 448: the official
    explicit = ZoomInSettings(min_crop_size=160)
    assert Predictor(small, "cpu", zoom_in=explicit).zoom_in.min_crop_size == 160
