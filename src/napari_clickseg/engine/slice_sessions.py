"""One object annotated on several slices: a :class:`Session` per slice, one predictor.

The annotation dock keeps the clicks in napari Points layers, where a person may add, delete
or move them at will. :meth:`SliceSessions.sync` brings the session of a slice to exactly the
clicks it is given, with the fewest predictions: an added click is one prediction, removing the
last click is an undo (no prediction), anything else is replayed from the longest common start.
Only one slice's image is in the predictor at a time; the others keep their history and are
restored on return.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

from napari_clickseg.engine.clicks import Click
from napari_clickseg.engine.predictor import Prediction
from napari_clickseg.engine.session import Session


class SliceSessions:
    """Per-slice sessions of the current object, sharing one predictor.

    Parameters
    ----------
    predictor : Predictor or RandomWalkerPredictor
        The predictor; its image is replaced whenever another slice is worked on.
    image_for_slice : callable
        ``image_for_slice(index)`` returning the (H, W) or (H, W, C) image of a slice, as
        :meth:`Predictor.set_image` takes it. Slices are named by any hashable key, e.g.
        ``(axis, index)``.
    prior_for_slice : callable, optional
        ``prior_for_slice(key)`` returning a mask the slice already has (propagated or
        painted) or None; a new session of the slice starts from it (``Session.set_prior``).
    """

    def __init__(
        self,
        predictor: Any,
        image_for_slice: Callable[[Hashable], np.ndarray],
        prior_for_slice: Callable[[Hashable], np.ndarray | None] | None = None,
    ) -> None:
        self.predictor = predictor
        self._image_for_slice = image_for_slice
        self._prior_for_slice = prior_for_slice
        self._sessions: dict[int, Session] = {}
        self._active: int | None = None

    @property
    def slices(self) -> list[int]:
        """Slices that have a session, sorted."""
        return sorted(self._sessions)

    def session(self, index: int) -> Session:
        """The session of a slice, its image loaded into the predictor."""
        if self._active != index:
            self.predictor.set_image(self._image_for_slice(index))
            self._active = index
            if index in self._sessions:
                _restore_predictor_state(self._sessions[index])
            else:
                session = Session(self.predictor)
                prior = None if self._prior_for_slice is None else self._prior_for_slice(index)
                if prior is not None and np.any(prior):
                    session.set_prior(np.asarray(prior, np.float32))
                self._sessions[index] = session
        return self._sessions[index]

    def invalidate(self) -> None:
        """Say that someone else used the predictor (propagation): reload before the next use."""
        self._active = None

    def clicks(self, index: int) -> tuple[Click, ...]:
        """The clicks of a slice's session (empty when it has none)."""
        session = self._sessions.get(index)
        return () if session is None else session.clicks

    def prediction(self, index: int) -> Prediction | None:
        """The latest prediction of a slice, None without clicks."""
        session = self._sessions.get(index)
        return None if session is None else session.prediction

    def mask(self, index: Hashable) -> np.ndarray | None:
        """The slice's current mask (its prior before any click), None without a session."""
        session = self._sessions.get(index)
        return None if session is None else session.mask

    def sync(self, index: int, clicks: Sequence[Click]) -> Prediction | None:
        """Bring a slice's session to exactly ``clicks`` (oldest first).

        Parameters
        ----------
        index : int
            The slice.
        clicks : sequence of Click
            The clicks the slice should have, in the order they were made.

        Returns
        -------
        Prediction or None
            The slice's prediction after the change; None when no click is left.
        """
        wanted = tuple(clicks)
        if not wanted and index not in self._sessions:
            return None
        session = self.session(index)
        have = session.clicks
        if wanted == have:
            return session.prediction
        if not wanted:
            # Back to the start of the slice's annotation (zeros, or its prior mask).
            self._replay(session, wanted)
            return None
        if len(wanted) == len(have) + 1 and wanted[:-1] == have:
            if session.redo() and session.clicks != wanted:
                session.undo()
            if session.clicks != wanted:
                session.add_click(wanted[-1].row, wanted[-1].col, wanted[-1].is_positive)
            return session.prediction
        if len(wanted) == len(have) - 1:
            removed = _removed_position(have, wanted)
            if removed is not None:
                if removed == len(have) - 1 and session.undo() and session.clicks != wanted:
                    session.redo()
                if session.clicks != wanted:
                    session.remove_click(removed)
                return session.prediction
        return self._replay(session, wanted)

    def select_candidate(self, index: int, candidate: int) -> Prediction:
        """Show and feed back another candidate of a slice's latest prediction (PiClick).

        Parameters
        ----------
        index : int
            The slice.
        candidate : int
            Candidate to use; it becomes the previous mask of the slice's next click.

        Returns
        -------
        Prediction
            The prediction with the chosen candidate selected.
        """
        session = self.session(index)
        if session.prediction is None:
            raise ValueError(f"slice {index} has no prediction to choose a candidate from")
        choose = getattr(session, "select_candidate", None)
        if choose is not None:
            return choose(candidate)
        # Until Session.select_candidate exists: the predictor feeds the candidate back; the
        # session's history keeps the scored choice.
        return self.predictor.select_candidate(session.prediction, candidate)

    def discard(self, index: int) -> None:
        """Forget a slice's session."""
        self._sessions.pop(index, None)
        if self._active == index:
            self._active = None

    def clear(self) -> None:
        """Forget every session (next object)."""
        self._sessions.clear()
        self._active = None

    def _replay(self, session: Session, wanted: tuple[Click, ...]) -> Prediction | None:
        have = session.clicks
        common = 0
        while common < min(len(have), len(wanted)) and have[common] == wanted[common]:
            common += 1
        # Remove from the end down to the common start (each an undo or a recompute), then add.
        while len(session.clicks) > common:
            before = session.clicks
            if not (session.undo() and session.clicks == before[:-1]):
                if session.clicks != before:
                    session.redo()
                session.remove_click(len(before) - 1)
        for click in wanted[common:]:
            session.add_click(click.row, click.col, click.is_positive)
        return session.prediction


def _removed_position(have: tuple[Click, ...], wanted: tuple[Click, ...]) -> int | None:
    """Index of the one click of ``have`` missing from ``wanted``, None if not so related."""
    for position in range(len(have)):
        if have[:position] + have[position + 1 :] == wanted:
            return position
    return None


def _restore_predictor_state(session: Session) -> None:
    """Put the session's current state back into its predictor (after a new image).

    Session has no public "restore" call; undo followed by redo (or the reverse at the start
    of the history) sets the predictor to the current step's state.
    """
    if session.undo():
        session.redo()
    elif session.redo():
        session.undo()
