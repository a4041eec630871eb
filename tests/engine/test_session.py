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


def test_select_candidate_is_an_undoable_step_that_feeds_the_prior():
    from fake_models import TwoCandidates

    from napari_clickseg.engine.predictor import Predictor

    predictor = Predictor(TwoCandidates(), "cpu", with_flip=False)
    predictor.set_image(np.zeros((300, 300, 3), np.uint8))
    session = Session(predictor)
    with pytest.raises(RuntimeError, match="click first"):
        session.select_candidate(0)
    first = session.add_click(150, 150)
    assert first.selected == 1 and session.mask.all()
    chosen = session.select_candidate(0)
    assert chosen.selected == 0 and session.prediction.selected == 0
    assert session.mask[150, 150] and not session.mask[0, 0]
    np.testing.assert_array_equal(session.probs, chosen.probs)
    assert session.undo()
    assert session.prediction.selected == 1 and session.mask.all()


def test_removing_a_later_click_keeps_an_earlier_candidate_choice():
    from fake_models import TwoCandidates

    from napari_clickseg.engine.predictor import Predictor

    predictor = Predictor(TwoCandidates(), "cpu", with_flip=False)
    predictor.set_image(np.zeros((300, 300, 3), np.uint8))
    session = Session(predictor)
    session.add_click(150, 150)
    session.select_candidate(0)
    kept = session.probs.copy()
    session.add_click(20, 20, is_positive=False)
    session.remove_click(1)
    np.testing.assert_array_equal(session.probs, kept)


def test_random_walker_session_has_one_candidate():
    from napari_clickseg.engine.baseline import RandomWalkerPredictor

    predictor = RandomWalkerPredictor()
    image = np.zeros((40, 40), np.uint8)
    image[10:30, 10:30] = 200
    predictor.set_image(image)
    session = Session(predictor)
    session.add_click(20, 20)
    assert session.select_candidate(0).selected == 0
    with pytest.raises(IndexError, match="has 1"):
        session.select_candidate(1)
