import numpy as np
import pytest
from fake_models import DiskOracle

from napari_clickseg.engine.predictor import Predictor
from napari_clickseg.engine.session import Session


@pytest.fixture
def session():
    predictor = Predictor(DiskOracle(), "cpu")
    image = (np.random.default_rng(0).random((500, 520, 3)) * 255).astype(np.uint8)
    predictor.set_image(image)
    return Session(predictor)


def _replay(session, clicks):
    fresh = Session(session.predictor)
    for click in clicks:
        fresh.add_click(click.row, click.col, click.is_positive)
    return fresh


def test_clicks_accumulate_and_mask_follows(session):
    assert session.prediction is None and not session.mask.any()
    session.add_click(250, 260, True)
    session.add_click(300, 300, True)
    assert len(session.clicks) == 2
    assert session.mask[250, 260] and session.mask[300, 300]


def test_undo_redo_restore_masks_and_predictor_state(session):
    session.add_click(250, 260, True)
    after_one = session.probs.copy()
    session.add_click(300, 300, True)
    after_two = session.probs.copy()
    assert session.undo()
    np.testing.assert_array_equal(session.probs, after_one)
    assert len(session.clicks) == 1 and session.can_redo
    assert session.redo()
    np.testing.assert_array_equal(session.probs, after_two)
    # after an undo, the next click continues from the restored state
    session.undo()
    continued = session.add_click(300, 300, True)
    np.testing.assert_array_equal(continued.probs, after_two)
    assert not session.can_redo


def test_undo_at_start_and_redo_at_end_do_nothing(session):
    assert not session.undo()
    session.add_click(10, 10, True)
    assert not session.redo()


def test_new_click_after_undo_drops_redo_history(session):
    session.add_click(250, 260, True)
    session.add_click(300, 300, True)
    session.undo()
    session.add_click(100, 100, True)
    assert not session.can_redo
    assert [c.row for c in session.clicks] == [250, 100]


@pytest.mark.parametrize("index", [0, 1, 2, -1])
def test_remove_click_equals_annotating_without_it(session, index):
    for click in [(250, 260, True), (400, 100, True), (300, 300, True)]:
        session.add_click(*click)
    kept = [c for i, c in enumerate(session.clicks) if i != index % 3]
    session.remove_click(index)
    assert list(session.clicks) == kept
    expected = _replay(Session(session.predictor), kept)
    np.testing.assert_array_equal(session.probs, expected.probs)


def test_remove_click_twice_then_undo_both(session):
    for click in [(250, 260, True), (400, 100, True), (300, 300, True)]:
        session.add_click(*click)
    full = session.probs.copy()
    session.remove_click(0)
    session.remove_click(-1)
    assert [c.row for c in session.clicks] == [400]
    session.undo()
    session.undo()
    np.testing.assert_array_equal(session.probs, full)


def test_remove_last_click_empties_the_mask(session):
    session.add_click(250, 260, True)
    assert session.remove_click(0) is None
    assert not session.mask.any()


def test_remove_missing_click_is_an_index_error(session):
    with pytest.raises(IndexError, match="has 0 click"):
        session.remove_click(0)


def test_reset_is_undoable(session):
    session.add_click(250, 260, True)
    before = session.probs.copy()
    session.reset()
    assert not session.clicks and not session.mask.any()
    session.undo()
    np.testing.assert_array_equal(session.probs, before)


def test_prior_starts_an_annotation(session):
    prior = np.zeros((500, 520), bool)
    prior[200:220, 200:220] = True
    session.set_prior(prior)
    assert session.mask[210, 210] and not session.clicks
    session.add_click(210, 210, True)
    assert session.prediction.roi != (0, 499, 0, 519)


def test_history_cannot_be_altered_through_probs(session):
    session.add_click(250, 260, True)
    with pytest.raises(ValueError, match="read-only"):
        session.probs[0, 0] = 1.0
