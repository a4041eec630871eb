"""The NoC evaluation protocol: simulated clicks on ground-truth objects, IoU curves, metrics.

One object (official ``evaluate_sample``): set the image, then up to ``max_clicks`` times make
the official next click for the current mask (:mod:`~napari_clickseg.engine.clicker`),
predict, binarise at 0.49 and record the IoU (ignore pixels excluded); stop once the IoU
reaches the target, unless a full curve is asked for (needed for mIoU@k). A data set is every
object of every image, in order; the metrics are in :mod:`~napari_clickseg.engine.metrics`.

The evaluation dock, ``clickseg evaluate`` and the tests all call :func:`evaluate_dataset`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from napari_clickseg.engine.batching import ComputeClock, run_together
from napari_clickseg.engine.clicker import Clicker
from napari_clickseg.engine.clicks import Click
from napari_clickseg.engine.metrics import OFFICIAL_THRESHOLDS, NocSummary, iou, summarise
from napari_clickseg.engine.predictor import ModelRequest, Prediction, drive_steps
from napari_clickseg.models.interface import ModelOutput

#: ``progress(done, total, message)``; total is 0 while unknown.
ProgressCallback = Callable[[int, int, str], None]

SELECTIONS = ("model", "oracle")


class InteractivePredictor(Protocol):
    """What the protocol needs of a predictor (``Predictor`` and the baseline both fit)."""

    def set_image(self, image: np.ndarray) -> None: ...

    def predict(self, clicks: list[Click]) -> Prediction: ...


class EvalObjectLike(Protocol):
    """One evaluation object: an image and its ground truth (1 object, 0 bg, -1 ignore)."""

    name: str
    image: np.ndarray
    gt: np.ndarray


@dataclass(frozen=True)
class EvaluationSettings:
    """Protocol parameters (defaults: SimpleClick's evaluation).

    Attributes
    ----------
    max_clicks : int
        Click budget per object (20).
    target_iou : float
        Stop an object once its IoU reaches this (0.90; CFR-ICL's scripts use 0.95).
    full_curve : bool
        Never stop early: every object gets ``max_clicks`` clicks (for mIoU@k).
    threshold : float
        Probability threshold of the evaluated mask (0.49).
    min_clicks : int
        Never stop before this many clicks (official default 1).
    selection : {'model', 'oracle'}
        For multi-candidate models (PiClick): the model's own pick, or the official
        evaluation's oracle (the candidate with the best IoU against the ground truth, fed
        back as the prior). Single-mask models are unaffected.
    """

    max_clicks: int = 20
    target_iou: float = 0.90
    full_curve: bool = False
    threshold: float = 0.49
    min_clicks: int = 1
    selection: str = "model"

    def __post_init__(self) -> None:
        if self.max_clicks < 1:
            raise ValueError(f"max_clicks must be at least 1, got {self.max_clicks}")
        if not 0 < self.target_iou <= 1.01:
            raise ValueError(f"target_iou must lie in (0, 1], got {self.target_iou}")
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {SELECTIONS}, got {self.selection!r}")


@dataclass
class ObjectResult:
    """The protocol's record of one object.

    Attributes
    ----------
    name : str
        Object name from the data set.
    ious : list of float
        IoU after each click.
    clicks : list of Click
        The simulated clicks.
    seconds : list of float
        Prediction time of each click.
    clicker_seconds : list of float
        Time the simulated user took to choose each click (not part of the model's time).
    """

    name: str
    ious: list[float] = field(default_factory=list)
    clicks: list[Click] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    clicker_seconds: list[float] = field(default_factory=list)


@dataclass
class EvaluationResult:
    """Per-object records and the data-set metrics.

    Attributes
    ----------
    objects : list of ObjectResult
        In data-set order.
    summary : NocSummary
        NoC, NoF, mIoU@k.
    settings : EvaluationSettings
        The protocol parameters used.
    seconds_per_click : float
        Total prediction time over total clicks (the official SPC).
    clicker_seconds_per_click : float
        The simulated user's time per click (choosing the next click), kept apart from the
        model's; together they are the protocol's wall time per click.
    """

    objects: list[ObjectResult]
    summary: NocSummary
    settings: EvaluationSettings
    seconds_per_click: float
    clicker_seconds_per_click: float = 0.0


def evaluate_object(
    predictor: InteractivePredictor,
    image: np.ndarray,
    gt: np.ndarray,
    settings: EvaluationSettings = EvaluationSettings(),
    name: str = "object",
) -> ObjectResult:
    """Run the click protocol on one object.

    Parameters
    ----------
    predictor : Predictor or RandomWalkerPredictor
        Anything with ``set_image`` and ``predict``.
    image : numpy.ndarray
        The image (any form ``set_image`` accepts).
    gt : numpy.ndarray
        (H, W) ground truth: 1 object, 0 background, -1 ignore.
    settings : EvaluationSettings
        Protocol parameters.
    name : str
        Recorded in the result.

    Returns
    -------
    ObjectResult
    """
    steps = _object_steps(predictor, image, gt, settings, name, ComputeClock())
    return drive_steps(steps, getattr(predictor, "run_request", None))


def _object_steps(
    predictor: InteractivePredictor,
    image: np.ndarray,
    gt: np.ndarray,
    settings: EvaluationSettings,
    name: str,
    clock: ComputeClock,
) -> Generator[ModelRequest, ModelOutput, ObjectResult]:
    """The protocol of one object as a generator of network requests (see engine.batching).

    Predictors without ``predict_steps`` (the random walker) predict directly and the
    generator never yields.
    """
    gt = np.asarray(gt)
    if not (gt == 1).any():
        raise ValueError(f"{name}: the ground truth has no object pixel (no value 1)")
    predictor.set_image(image)
    clicker = Clicker(gt)
    result = ObjectResult(name=name)
    mask = np.zeros(gt.shape, dtype=bool)
    for count in range(1, settings.max_clicks + 1):
        clicker_start = time.perf_counter()
        result.clicks.append(clicker.make_next_click(mask))
        result.clicker_seconds.append(time.perf_counter() - clicker_start)
        start = clock.elapsed
        if hasattr(predictor, "predict_steps"):
            prediction = yield from predictor.predict_steps(clicker.clicks)
        else:
            prediction = predictor.predict(clicker.clicks)
        if settings.selection == "oracle" and prediction.candidates.shape[0] > 1:
            prediction = _oracle_pick(predictor, prediction, gt, settings.threshold)
        result.seconds.append(clock.elapsed - start)
        mask = prediction.probs > settings.threshold
        result.ious.append(iou(gt, mask))
        reached = result.ious[-1] >= settings.target_iou
        if not settings.full_curve and reached and count >= settings.min_clicks:
            break
    return result


def _oracle_pick(predictor, prediction: Prediction, gt: np.ndarray, threshold: float):
    scores = [iou(gt, candidate > threshold) for candidate in prediction.candidates]
    best = int(np.nanargmax(scores)) if not np.all(np.isnan(scores)) else prediction.selected
    return predictor.select_candidate(prediction, best)


def evaluate_dataset(
    predictor: InteractivePredictor,
    objects: Iterable[EvalObjectLike],
    settings: EvaluationSettings = EvaluationSettings(),
    thresholds: tuple[float, ...] = OFFICIAL_THRESHOLDS,
    progress: ProgressCallback | None = None,
    total: int | None = None,
    batch_size: int = 1,
) -> EvaluationResult:
    """Run the protocol over a data set and compute its metrics.

    Parameters
    ----------
    predictor : Predictor or RandomWalkerPredictor
        The model to evaluate.
    objects : iterable of EvalObject
        Each with ``name``, ``image`` and ``gt`` (1 object, 0 background, -1 ignore).
    settings : EvaluationSettings
        Protocol parameters.
    thresholds : tuple of float
        NoC thresholds (default: the official 80/85/90/95 values).
    progress : callable, optional
        Called as ``progress(done, total, name)`` after each object.
    total : int, optional
        Number of objects, for progress reports (``len(objects)`` when available).
    batch_size : int
        Objects that advance click by click together, one batched network call per click
        (:mod:`~napari_clickseg.engine.batching`); needs a network :class:`Predictor`.
        Results equal one-at-a-time evaluation up to float reassociation (~1e-6 in logits).

    Returns
    -------
    EvaluationResult
    """
    if total is None:
        total = len(objects) if hasattr(objects, "__len__") else 0
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if batch_size > 1 and not hasattr(predictor, "spawn"):
        raise ValueError(
            f"batch_size {batch_size} needs a network Predictor; "
            f"{type(predictor).__name__} evaluates one object at a time (use batch_size=1)"
        )
    records = []
    for chunk in _chunks(objects, batch_size):
        if batch_size == 1:
            (obj,) = chunk
            done = [evaluate_object(predictor, obj.image, obj.gt, settings, obj.name)]
        else:
            clocks = [ComputeClock(live=False) for _ in chunk]
            jobs = [
                _object_steps(predictor.spawn(), o.image, o.gt, settings, o.name, clock)
                for o, clock in zip(chunk, clocks, strict=True)
            ]
            done = run_together(predictor, jobs, max_batch=batch_size, clocks=clocks)
        for obj, record in zip(chunk, done, strict=True):
            records.append(record)
            if progress is not None:
                progress(len(records), total, obj.name)
    if not records:
        raise ValueError("the data set yielded no objects to evaluate")
    return summarise_records(records, settings, thresholds)


def summarise_records(
    records: list[ObjectResult],
    settings: EvaluationSettings,
    thresholds: tuple[float, ...] = OFFICIAL_THRESHOLDS,
) -> EvaluationResult:
    """The data-set result of per-object records (in data-set order).

    Parameters
    ----------
    records : list of ObjectResult
        One per object, e.g. gathered from the shards of a distributed run.
    settings : EvaluationSettings
        The protocol parameters they were made with.
    thresholds : tuple of float
        NoC thresholds.

    Returns
    -------
    EvaluationResult
    """
    clicks = sum(len(r.ious) for r in records)
    return EvaluationResult(
        objects=records,
        summary=summarise([r.ious for r in records], thresholds, settings.max_clicks),
        settings=settings,
        seconds_per_click=sum(sum(r.seconds) for r in records) / clicks,
        clicker_seconds_per_click=sum(sum(r.clicker_seconds) for r in records) / clicks,
    )


def _chunks(objects: Iterable[EvalObjectLike], size: int) -> Iterator[list[EvalObjectLike]]:
    chunk: list[EvalObjectLike] = []
    for obj in objects:
        chunk.append(obj)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
