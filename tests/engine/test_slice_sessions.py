"""SliceSessions: per-slice sessions kept in step with click lists, with few predictions."""

import numpy as np
import pytest
import torch
from fake_models import DiskOracle, TwoCandidates

from napari_clickseg.engine.clicks import Click
from napari_clickseg.engine.predictor import Predictor
from napari_clickseg.engine.slice_sessions import SliceSessions


class PriorKeeper(DiskOracle):
    """The click disks plus whatever the previous mask holds."""

    def forward(self, image, prev_mask, points):
        output = super().forward(image, prev_mask, points)
        return type(output)(logits=torch.maximum(output.logits, 8.0 * prev_mask - 4.0))


@pytest.fixture
def volume():
    return np.random.default_rng(0).integers(0, 255, (3, 64, 64), dtype=np.uint8)


def _sessions(volume, model):
    predictor = Predictor(model, "cpu", zoom_in=None, with_flip=False)
    return SliceSessions(predictor, lambda index: volume[index])


def test_added_and_removed_clicks_cost_one_prediction_or_none(volume):
    model = DiskOracle()
    sessions = _sessions(volume, model)
    a, b = Click(10, 10, True), Click(40, 40, True)
    assert sessions.sync(0, [a]).mask[10, 10]
    sessions.sync(0, [a, b])
    assert len(model.calls) == 2
    prediction = sessions.sync(0, [a])  # the last click removed: an undo, no prediction
    assert len(model.calls) == 2 and not prediction.mask[40, 40]
    sessions.sync(0, [b])  # the first removed: recomputed without it
    assert sessions.prediction(0).mask[40, 40] and not sessions.prediction(0).mask[10, 10]
    assert sessions.sync(0, []) is None


def test_each_slice_keeps_its_own_clicks_and_mask(volume):
    sessions = _sessions(volume, DiskOracle())
    sessions.sync(0, [Click(10, 10, True)])
    sessions.sync(2, [Click(50, 50, True)])
    assert sessions.slices == [0, 2]
    assert sessions.clicks(0) == (Click(10, 10, True),)
    # back on slice 0, the next click builds on slice 0's history
    prediction = sessions.sync(0, [Click(10, 10, True), Click(30, 30, True)])
    assert prediction.mask[10, 10] and prediction.mask[30, 30] and not prediction.mask[50, 50]


def test_candidate_choice_feeds_back(volume):
    sessions = _sessions(volume, TwoCandidates())
    prediction = sessions.sync(1, [Click(20, 20, True)])
    assert prediction.candidates.shape[0] == 2 and prediction.selected == 1
    chosen = sessions.select_candidate(1, 0)
    assert chosen.selected == 0 and chosen.mask.sum() < prediction.mask.sum()
    np.testing.assert_array_equal(sessions.predictor.get_state().prev_probs, chosen.probs)


def test_a_slice_with_a_mask_starts_from_it_and_returns_to_it(volume):
    prior = np.zeros((64, 64), bool)
    prior[5:15, 5:15] = True
    predictor = Predictor(PriorKeeper(), "cpu", zoom_in=None, with_flip=False)
    sessions = SliceSessions(predictor, lambda key: volume[key], lambda key: prior)
    prediction = sessions.sync(1, [Click(40, 40, True)])
    assert prediction.mask[10, 10]  # the prior reached the network
    assert sessions.sync(1, []) is None
    np.testing.assert_array_equal(sessions.mask(1), prior)  # back to the prior, not to zeros
