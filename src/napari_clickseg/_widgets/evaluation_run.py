"""One evaluation run as the dock starts it in a worker thread: load the model, run the protocol.

No Qt here. :func:`run_evaluation` never raises: it returns the engine's
:class:`~napari_clickseg.engine.evaluation.EvaluationResult`, or an :class:`EvaluationFailed`
whose message says what went wrong (the model did not load, the protocol failed), or an
:class:`EvaluationCancelled` when the user stopped it (checked before each object).
"""

from __future__ import annotations

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
    should_stop: Callable[[], bool]
    metas: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __iter__(self) -> Iterator[EvalObject]:
        for obj in self.objects:
            if self.should_stop():
                raise _CancelledError
            self.metas[obj.name] = dict(obj.meta)
            yield obj


def run_evaluation(
    build_predictor: Callable[[], Any],
    objects: Iterable[EvalObject],
    total: int,
    settings: EvaluationSettings,
    should_stop: Callable[[], bool],
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
    should_stop : callable
        ``should_stop()`` is True once the user cancelled or napari is closing; asked after
        loading the model and before each object.
    progress : callable, optional
        ``progress(done, total, name)`` after each object.

    Returns
    -------
    outcome : EvaluationResult, EvaluationFailed or EvaluationCancelled
        What happened.
    metas : dict
        Object name -> its ``meta`` (slice, label, ...), for the objects evaluated.
    """
    watched = _Watched(objects, should_stop)
    try:
        predictor = build_predictor()
    except Exception as error:  # any failure to load is reported, never raised into Qt
        return EvaluationFailed(f"The model failed to load: {error}"), {}
    if should_stop():
        return EvaluationCancelled(0), {}
    try:
        result = evaluate_dataset(predictor, watched, settings, progress=progress, total=total)
    except _CancelledError:
        return EvaluationCancelled(len(watched.metas)), watched.metas
    except Exception as error:
        return EvaluationFailed(f"The evaluation failed: {error}"), watched.metas
    return result, watched.metas
