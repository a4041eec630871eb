"""One object being annotated: its clicks, undo / redo, and the current mask."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_clickseg.engine.clicks import Click
from napari_clickseg.engine.predictor import Prediction, Predictor, PredictorState


@dataclass
class _Step:
    """The session after one edit: its clicks, the predictor state and the prediction."""

    clicks: tuple[Click, ...]
    state: PredictorState
    prediction: Prediction | None


class Session:
    """Interactive segmentation of one object on one image.

    Every edit (add or remove a click, reset, a prior mask) is a step that :meth:`undo`
    and :meth:`redo` move through; a new edit after an undo drops the undone steps.

    Parameters
    ----------
    predictor : Predictor
        The predictor to run; it must already hold the image (``set_image``).
    """

    def __init__(self, predictor: Predictor) -> None:
        self.predictor = predictor
        predictor.reset()
        self._steps: list[_Step] = [_Step((), predictor.get_state(), None)]
        self._position = 0

    # -- state ------------------------------------------------------------------------------
    @property
    def clicks(self) -> tuple[Click, ...]:
        """The clicks of the current step, oldest first."""
        return self._steps[self._position].clicks

    @property
    def prediction(self) -> Prediction | None:
        """The latest prediction, None before the first click or after a reset."""
        return self._steps[self._position].prediction

    @property
    def probs(self) -> np.ndarray:
        """(H, W) probability map of the current object (zeros before the first click)."""
        return self._steps[self._position].state.prev_probs

    @property
    def mask(self) -> np.ndarray:
        """(H, W) boolean mask of the current object at the predictor's threshold."""
        return self._steps[self._position].state.mask(self.predictor.threshold)

    @property
    def can_undo(self) -> bool:
        """Whether there is a step to go back to."""
        return self._position > 0

    @property
    def can_redo(self) -> bool:
        """Whether an undone step can be redone."""
        return self._position < len(self._steps) - 1

    # -- edits ------------------------------------------------------------------------------
    def add_click(self, row: float, col: float, is_positive: bool = True) -> Prediction:
        """Add a click and predict.

        Parameters
        ----------
        row, col : float
            Position in image pixels.
        is_positive : bool
            True on the object, False on the background.

        Returns
        -------
        Prediction
        """
        clicks = (*self.clicks, Click(float(row), float(col), bool(is_positive)))
        prediction = self.predictor.predict(clicks)
        self._push(_Step(clicks, self.predictor.get_state(), prediction))
        return prediction

    def remove_click(self, index: int) -> Prediction | None:
        """Remove one click and recompute from the step before it.

        The state before the removed click is restored and the later clicks are replayed
        in order, so the result equals annotating without that click.

        Parameters
        ----------
        index : int
            Position of the click in :attr:`clicks` (negative counts from the end).

        Returns
        -------
        Prediction or None
            None when no click is left.
        """
        clicks = list(self.clicks)
        if not -len(clicks) <= index < len(clicks):
            raise IndexError(f"no click {index}: the object has {len(clicks)} click(s)")
        index %= len(clicks)
        kept = clicks[:index] + clicks[index + 1 :]
        base = self._longest_stored_prefix(tuple(clicks[:index]))
        self.predictor.set_state(base.state)
        prediction = base.prediction
        for count in range(len(base.clicks) + 1, len(kept) + 1):
            prediction = self.predictor.predict(kept[:count])
        self._push(_Step(tuple(kept), self.predictor.get_state(), prediction))
        return prediction

    def select_candidate(self, index: int) -> Prediction:
        """Use another candidate mask of the latest prediction (undoable).

        For multi-candidate models (PiClick) the chosen candidate becomes the current mask,
        the previous mask of the next click and the mask ZoomIn crops around, as the
        official evaluation does when it picks a candidate. Single-mask models have one
        candidate, index 0.

        Parameters
        ----------
        index : int
            Candidate index, ``0 <= index < len(prediction.candidates)``.

        Returns
        -------
        Prediction
            The prediction with ``selected`` and ``probs`` changed.
        """
        if self.prediction is None:
            raise RuntimeError("there is no prediction to choose a candidate from: click first")
        prediction = self.predictor.select_candidate(self.prediction, index)
        self._push(_Step(self.clicks, self.predictor.get_state(), prediction))
        return prediction

    def set_prior(self, mask: np.ndarray) -> None:
        """Start from a given mask (e.g. a propagated or drawn one) with no clicks.

        Parameters
        ----------
        mask : numpy.ndarray
            (H, W) boolean mask or probabilities in [0, 1].
        """
        self.predictor.set_prev_mask(mask)
        self._push(_Step((), self.predictor.get_state(), None))

    def reset(self) -> None:
        """Clear clicks and mask (undoable)."""
        self.predictor.reset()
        self._push(_Step((), self.predictor.get_state(), None))

    def undo(self) -> bool:
        """Go back one step; returns False when there is nothing to undo."""
        if not self.can_undo:
            return False
        self._position -= 1
        self.predictor.set_state(self._steps[self._position].state)
        return True

    def redo(self) -> bool:
        """Redo an undone step; returns False when there is nothing to redo."""
        if not self.can_redo:
            return False
        self._position += 1
        self.predictor.set_state(self._steps[self._position].state)
        return True

    # -- helpers ----------------------------------------------------------------------------
    def _push(self, step: _Step) -> None:
        del self._steps[self._position + 1 :]
        self._steps.append(step)
        self._position += 1

    def _longest_stored_prefix(self, clicks: tuple[Click, ...]) -> _Step:
        """The stored step of the current annotation with the longest prefix of ``clicks``.

        The search stays after the latest step without clicks (the start, a reset or a
        prior), so a restored state always belongs to the current annotation.
        """
        start = max(i for i in range(self._position + 1) if not self._steps[i].clicks)
        best = self._steps[start]
        for step in self._steps[start : self._position + 1]:
            size = len(step.clicks)
            # <= so that the latest of equal steps wins: it keeps a candidate choice
            if len(best.clicks) <= size <= len(clicks) and step.clicks == clicks[:size]:
                best = step
        return best
