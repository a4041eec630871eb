"""The PiClick predictor against the official one: flip matching, target reasoning, ZoomIn.

The fixture (``tools/make_official_piclick_predictor_fixtures.py``, see
``tests/fixtures/official/PICLICK.md``) ran the official ``BasePredictor`` with flip, Hungarian
pairing of the plain and flipped candidates and ZoomIn on a tiny model whose candidates clearly
differ, click after click on a 300 x 400 image, in two modes:

- ``maxscore``: target reasoning (``max_score=True``), the pick fed back as the next prior;
- ``oracle``: the official evaluation's choice of the candidate of highest IoU with the ground
  truth, fed back as the next prior and ZoomIn mask.

The same clicks are replayed here through :class:`Predictor` with its defaults. A last case
runs the official ``flipped_mask_match`` alone on made-up candidates whose matching is a 3-cycle
(the model runs only give swaps), where pairing flipped candidate i with plain ``perm[i]``
differs from pairing it with its match.
"""

import numpy as np
import pytest
import torch

from conftest import FIXTURES
from napari_clickseg.engine import predictor as predictor_module
from napari_clickseg.engine.candidate_matching import match_flipped_candidates
from napari_clickseg.engine.evaluation import _oracle_pick
from napari_clickseg.engine.predictor import DEFAULT_THRESHOLD, Predictor, _average_flipped
from napari_clickseg.models.checkpoints import load_model
from napari_clickseg.models.interface import ModelOutput

pytestmark = pytest.mark.slow

OFFICIAL = FIXTURES / "official"
ATOL = 1e-4
MODES = ("maxscore", "oracle")


@pytest.fixture(scope="module")
def data():
    return dict(np.load(OFFICIAL / "piclick_tiny_predictor.npz"))


@pytest.fixture(scope="module")
def model():
    return load_model(OFFICIAL / "piclick_tiny_distinct.pth")


@pytest.fixture(scope="module")
def replays(data, model):
    """Each mode's clicks replayed once: per click, the prediction and the pairing used."""
    return {mode: _replay(model, data, mode) for mode in MODES}


def _replay(model, data, mode):
    perms = []
    original = predictor_module.match_flipped_candidates

    def recording(*args):
        # the official cost has a class term: both passes' class probabilities must arrive
        assert len(args) == 4 and args[2] is not None and args[3] is not None
        perm = original(*args)
        perms.append(perm)
        return perm

    predictor = Predictor(model, "cpu")
    predictor.set_image(data["image"])
    clicks = [(int(r), int(c), bool(p)) for r, c, p in data[f"{mode}_clicks"]]
    steps = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(predictor_module, "match_flipped_candidates", recording)
        for count in range(1, len(clicks) + 1):
            prediction = predictor.predict(clicks[:count])
            if mode == "oracle":
                prediction = _oracle_pick(predictor, prediction, data["gt"], DEFAULT_THRESHOLD)
            steps.append((prediction, perms[-1]))
    assert len(perms) == len(clicks)  # one flip pairing per click
    return steps


def test_default_settings_are_the_official_evaluation_ones(model):
    # get_predictor(with_flip=True) with ZoomIn(skip_clicks=-1, target_size=(448, 448)) and the
    # ZoomIn defaults; evaluate_sample's pred_thr=0.49
    predictor = Predictor(model, "cpu")
    settings = predictor.zoom_in
    assert settings.target_size == (448, 448)
    assert (settings.expansion_ratio, settings.min_crop_size) == (1.4, 200)
    assert (settings.recompute_thresh_iou, settings.prob_thresh) == (0.5, 0.5)
    assert predictor.with_flip
    assert predictor.threshold == DEFAULT_THRESHOLD == 0.49


@pytest.mark.parametrize("mode", MODES)
def test_rois_pairings_scores_and_picks_match_official(data, replays, mode):
    for index, (prediction, perm) in enumerate(replays[mode]):
        assert prediction.roi == tuple(int(v) for v in data[f"{mode}_rois"][index])
        np.testing.assert_array_equal(perm, data[f"{mode}_perms"][index])
        np.testing.assert_allclose(
            prediction.scores, data[f"{mode}_scores"][index], rtol=0, atol=ATOL
        )
        assert prediction.selected == int(data[f"{mode}_selected"][index])


def test_target_reasoning_probabilities_match_official(data, replays):
    for index, (prediction, _) in enumerate(replays["maxscore"]):
        expected = data["maxscore_probs_sub2"][index]
        np.testing.assert_allclose(prediction.probs[::2, ::2], expected, rtol=0, atol=ATOL)


def test_oracle_candidates_and_pick_match_official(data, replays):
    for index, (prediction, _) in enumerate(replays["oracle"]):
        candidates = data["oracle_candidates_sub4"][index]
        np.testing.assert_allclose(
            prediction.candidates[:, ::4, ::4], candidates, rtol=0, atol=ATOL
        )
        expected = data["oracle_probs_sub2"][index]
        np.testing.assert_allclose(prediction.probs[::2, ::2], expected, rtol=0, atol=ATOL)


def test_fixture_exercises_matching_zoom_in_and_both_selections(data):
    identity = np.arange(data["maxscore_perms"].shape[1])
    perms = np.concatenate([data[f"{mode}_perms"] for mode in MODES])
    assert any(not np.array_equal(perm, identity) for perm in perms)
    height, width = data["image"].shape[:2]
    rois = [tuple(r) for mode in MODES for r in data[f"{mode}_rois"]]
    assert (0, height - 1, 0, width - 1) in rois
    assert any(roi != (0, height - 1, 0, width - 1) for roi in rois)
    for mode in MODES:
        # decisions far from float noise: the best pairing beats the second best by this much
        # cost, the IoU scores a pass sorts its candidates by are this far apart
        assert data[f"{mode}_cost_gap"].min() > 1e-2
        assert data[f"{mode}_rank_gap"].min() > 1e-5
    # and the picks: summed score (target reasoning), IoU with the ground truth (oracle)
    assert data["maxscore_pick_margin"].min() > 1e-2
    assert data["oracle_iou_margin"].min() > 1e-2
    assert not np.array_equal(data["maxscore_selected"], data["oracle_selected"])


def test_pairing_reproduces_official_quirk_when_the_matching_is_a_cycle(data):
    # flipped_mask_match alone on made-up candidates: flipped candidate j mirrors plain
    # candidate [1, 2, 0, 3, 4, 5, 6][j], so the assignment is a 3-cycle (not its own inverse)
    logits = torch.from_numpy(data["cycle_logits"])
    classes = torch.from_numpy(data["cycle_class"])
    scores = 6 * torch.from_numpy(data["cycle_rank"]) + torch.from_numpy(data["cycle_onehot"])
    output = ModelOutput(logits=logits, scores=scores, match_features=classes)
    perm = match_flipped_candidates(
        logits[0], torch.flip(logits[1], dims=[2]), classes[0], classes[1]
    )
    np.testing.assert_array_equal(perm, data["cycle_perm"])
    assert not np.array_equal(perm[perm], np.arange(len(perm)))
    merged, merged_scores = _average_flipped(output)
    np.testing.assert_allclose(merged[0].numpy(), data["cycle_merged_logits"], rtol=0, atol=1e-6)
    assert int(torch.argmax(merged_scores[0])) == int(data["cycle_pick"])
