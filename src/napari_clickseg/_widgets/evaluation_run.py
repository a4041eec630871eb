"""One evaluation run as the dock starts it in a worker thread: load the model, run the protocol.

No Qt here. :func:`run_evaluation` never raises: it returns the engine's
:class:`~napari_clickseg.engine.evaluation.EvaluationResult`, or an :class:`EvaluationFailed`
whose message says what went wrong (the model did not load, the protocol failed), or an
:class:`EvaluationCancelled` when the user stopped it (checked before each object).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from napari_clickseg.data.instances import EvalObject
from napari_clickseg.engine.evaluation import (
    EvaluationResult,
    EvaluationSettings,
    ProgressCallback,
    evaluate_dataset,
)

__all__ = ["EvaluationCancelled", "EvaluationFailed", "run_evaluation"]


@dataclass(frozen=True)
class EvaluationFailed:
    """A run that stopped on an error; ``message`` is for the user."""

    message: str


@dataclass(frozen=True)
class EvaluationCancelled:
    """A run the user cancelled after ``done`` objects."""

    done: int


class _CancelledError(Exception):
    """Raised between objects when the user cancels."""


@dataclass
class _Watched:
    """The objects, checking for cancel before each and remembering each one's ``meta``."""

    objects: Iterable[EvalObject]
    cancel: threading.Event
    metas: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __iter__(self) -> Iterator[EvalObject]:
        for obj in self.objects:
            if self.cancel.is_set():
                raise _CancelledError
            self.metas[obj.name] = dict(obj.meta)
            yield obj


def run_evaluation(
    build_predictor: Callable[[], Any],
    objects: Iterable[EvalObject],
    total: int,
    settings: EvaluationSettings,
    cancel: threading.Event,
    progress: ProgressCallback | None = None,
) -> tuple[EvaluationResult | EvaluationFailed | EvaluationCancelled, dict[str, dict[str, Any]]]:
    """Load the model and run :func:`~napari_clickseg.engine.evaluation.evaluate_dataset`.

    Parameters
    ----------
    build_predictor : callable
        ``build_predictor()`` returns the predictor (may raise; the message is kept).
    objects : iterable of EvalObject
        The data set.
    total : int
        Number of objects, for progress.
    settings : EvaluationSettings
        Protocol parameters.
    cancel : threading.Event
        Set by the GUI to stop before the next object.
    progress : callable, optional
        ``progress(done, total, name)`` after each object.

    Returns
    -------
    outcome : EvaluationResult, EvaluationFailed or EvaluationCancelled
        What happened.
    metas : dict
        Object name -> its ``meta`` (slice, label, ...), for the objects evaluated.
    """
    watched = _Watched(objects, cancel)
    try:
        predictor = build_predictor()
    except Exception as error:  # any failure to load is reported, never raised into Qt
        return EvaluationFailed(f"The model failed to load: {error}"), {}
    if cancel.is_set():
        return EvaluationCancelled(0), {}
    try:
        result = evaluate_dataset(predictor, watched, settings, progress=progress, total=total)
    except _CancelledError:
        return EvaluationCancelled(len(watched.metas)), watched.metas
    except Exception as error:
        return EvaluationFailed(f"The evaluation failed: {error}"), watched.metas
    return result, watched.metas
