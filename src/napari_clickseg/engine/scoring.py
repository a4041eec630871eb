"""Scoring an existing segmentation against ground truth: IoU and Dice per object and per slice.

The NoC protocol (:mod:`~napari_clickseg.engine.evaluation`) measures how many clicks a model
needs; this module measures a segmentation that already exists: an annotation made in napari,
a propagated 3D object, the output of another tool.

Rules:

- An object is one nonzero label of the ground truth. Its prediction is the predicted label
  with the same value (``match="id"``), or the predicted label that overlaps it most over the
  scored slices (``match="overlap"``; ties go to the smaller label; one predicted label may be
  matched to several ground-truth objects). An object whose prediction is empty scores 0.
- IoU = |A and B| / |A or B| and Dice = 2 |A and B| / (|A| + |B|), counted over voxels. Both
  are NaN when prediction and truth are both empty (the convention of
  :func:`napari_clickseg.engine.metrics.iou`); IoU here equals that function's value on the same
  masks.
- Per object, the volume score counts all voxels of the scored slices (a 3D IoU / Dice);
  per slice, a row is given for every slice where the object or its prediction is present, so
  a slice the prediction misses scores 0 and a slice it adds (false positive) scores 0 too.
- Data-set summaries are plain means over objects (``mean_iou``, ``mean_dice``).

A 3D propagation result is scored the same way: :func:`score_propagation` compares the
propagated mask with an :class:`~napari_clickseg.data.objects3d.Object3D`'s ground truth.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from napari_clickseg.data.objects3d import Object3D
    from napari_clickseg.engine.propagation import PropagationResult

__all__ = [
    "MATCHES",
    "ObjectScore",
    "Overlap",
    "ScoringResult",
    "SliceScore",
    "object_rows",
    "score_labels",
    "score_masks",
    "score_propagation",
    "slice_rows",
    "write_rows_csv",
]

#: How predicted labels are paired with ground-truth objects.
MATCHES = ("id", "overlap")


@dataclass(frozen=True)
class Overlap:
    """Voxel counts of a predicted mask A against a ground-truth mask B.

    Attributes
    ----------
    intersection : int
        |A and B|.
    predicted : int
        |A|.
    truth : int
        |B|.
    """

    intersection: int
    predicted: int
    truth: int

    @property
    def union(self) -> int:
        """|A or B|."""
        return self.predicted + self.truth - self.intersection

    @property
    def iou(self) -> float:
        """Intersection over union; NaN when both masks are empty."""
        return self.intersection / self.union if self.union else float("nan")

    @property
    def dice(self) -> float:
        """2 |A and B| / (|A| + |B|); NaN when both masks are empty."""
        total = self.predicted + self.truth
        return 2.0 * self.intersection / total if total else float("nan")


@dataclass(frozen=True)
class SliceScore:
    """One object's score on one slice.

    Attributes
    ----------
    index : int
        Slice index along the scored axis.
    overlap : Overlap
        Pixel counts on that slice.
    """

    index: int
    overlap: Overlap


@dataclass(frozen=True)
class ObjectScore:
    """One ground-truth object's score.

    Attributes
    ----------
    name : str
        Object name.
    truth_label : int
        Its label in the ground truth.
    predicted_label : int or None
        The predicted label it was compared with; None when no predicted label overlaps it
        (``match="overlap"``).
    overlap : Overlap
        Voxel counts over all scored slices (a 3D score for a volume).
    slices : tuple of SliceScore
        Per slice where the object or its prediction is present, ascending.
    """

    name: str
    truth_label: int
    predicted_label: int | None
    overlap: Overlap
    slices: tuple[SliceScore, ...]

    @property
    def iou(self) -> float:
        """IoU over all scored slices."""
        return self.overlap.iou

    @property
    def dice(self) -> float:
        """Dice over all scored slices."""
        return self.overlap.dice

    @property
    def mean_slice_dice(self) -> float:
        """Mean Dice over :attr:`slices` (NaN when there is none)."""
        values = [s.overlap.dice for s in self.slices]
        return float(np.mean(values)) if values else float("nan")

    @property
    def mean_slice_iou(self) -> float:
        """Mean IoU over :attr:`slices` (NaN when there is none)."""
        values = [s.overlap.iou for s in self.slices]
        return float(np.mean(values)) if values else float("nan")


@dataclass(frozen=True)
class ScoringResult:
    """The scores of every object.

    Attributes
    ----------
    objects : tuple of ObjectScore
        In ascending order of ground-truth label.
    axis : int or None
        The axis slices are taken along; None for a 2D image.
    slices : tuple of int
        The scored slice indices (``(0,)`` for a 2D image).
    match : str
        ``"id"`` or ``"overlap"``.
    unmatched : tuple of int
        Predicted labels present in the scored slices that no object was compared with
        (false-positive objects).
    """

    objects: tuple[ObjectScore, ...]
    axis: int | None
    slices: tuple[int, ...]
    match: str
    unmatched: tuple[int, ...] = ()

    @property
    def mean_iou(self) -> float:
        """Mean over objects of their IoU."""
        return float(np.mean([o.iou for o in self.objects]))

    @property
    def mean_dice(self) -> float:
        """Mean over objects of their Dice."""
        return float(np.mean([o.dice for o in self.objects]))


def _check_axis(axis: int, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer) or not 0 <= axis < ndim:
        raise ValueError(
            f"axis must be an axis of the {ndim}D volume (0..{ndim - 1}), got {axis!r}"
        )
    return int(axis)


def _as_stack(volume: np.ndarray, axis: int | None) -> np.ndarray:
    """(slices, rows, cols): a 2D image becomes one slice, a volume is moved to ``axis`` first."""
    return volume[None] if axis is None else np.moveaxis(volume, axis, 0)


def _check_slices(slices: Iterable[int] | None, count: int) -> tuple[int, ...]:
    if slices is None:
        return tuple(range(count))
    chosen = tuple(int(s) for s in slices)
    if not chosen:
        raise ValueError("no slice to score: the slice selection is empty")
    bad = [s for s in chosen if not 0 <= s < count]
    if bad:
        raise ValueError(
            f"slice index {bad[0]} is outside the volume: the scored axis has {count} slices "
            f"(0..{count - 1})"
        )
    return tuple(sorted(set(chosen)))


def _counts(truth: np.ndarray, predicted: np.ndarray, indices: Sequence[int], name: str, t, p):
    """An ObjectScore from boolean stacks (slices first) restricted to ``indices``."""
    per_inter = np.count_nonzero(truth & predicted, axis=(1, 2))
    per_pred = np.count_nonzero(predicted, axis=(1, 2))
    per_truth = np.count_nonzero(truth, axis=(1, 2))
    rows = tuple(
        SliceScore(int(index), Overlap(int(i), int(a), int(b)))
        for index, i, a, b in zip(indices, per_inter, per_pred, per_truth, strict=True)
        if a or b
    )
    total = Overlap(int(per_inter.sum()), int(per_pred.sum()), int(per_truth.sum()))
    return ObjectScore(name, t, p, total, rows)


def score_masks(
    truth: np.ndarray,
    predicted: np.ndarray,
    axis: int = 0,
    slices: Iterable[int] | None = None,
    name: str = "object",
) -> ObjectScore:
    """Score one predicted mask against one ground-truth mask, overall and per slice.

    Parameters
    ----------
    truth, predicted : numpy.ndarray
        Same shape, 2D (H, W) or 3D; nonzero is the object.
    axis : int
        Axis of a 3D volume the slices are taken along (ignored for 2D).
    slices : iterable of int, optional
        Slice indices to score (all by default); voxels of other slices are not counted.
    name : str
        Recorded in the result.

    Returns
    -------
    ObjectScore
        With ``truth_label`` and ``predicted_label`` 1.
    """
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    _check_same_shape(truth, predicted)
    stack_axis = None if truth.ndim == 2 else _check_axis(axis, truth.ndim)
    truth_stack = _as_stack(truth, stack_axis)
    pred_stack = _as_stack(predicted, stack_axis)
    indices = _check_slices(slices, truth_stack.shape[0])
    chosen = list(indices)
    return _counts(truth_stack[chosen] != 0, pred_stack[chosen] != 0, indices, name, 1, 1)


def score_propagation(
    obj: Object3D,
    propagated: np.ndarray | PropagationResult,
    exclude_seeds: bool = False,
) -> ObjectScore:
    """Score a propagated 3D mask against a 3D object's ground truth (slices along Z).

    Parameters
    ----------
    obj : Object3D
        The object (``gt`` is (Z, Y, X) boolean).
    propagated : numpy.ndarray or PropagationResult
        (Z, Y, X), nonzero where the propagation put the object, or the result of
        :func:`~napari_clickseg.engine.propagation.propagate` along axis 0.
    exclude_seeds : bool
        Leave the result's seed slices out (they were annotated, not propagated), so that the
        score measures propagation alone. Needs a ``PropagationResult``.

    Returns
    -------
    ObjectScore
        3D IoU / Dice and per-slice scores, named after the object. Slices of the object that
        propagation did not reach score 0.
    """
    seeds: tuple[int, ...] = ()
    if isinstance(propagated, np.ndarray):
        mask = propagated
        if exclude_seeds:
            raise ValueError("exclude_seeds needs the PropagationResult (it knows the seeds)")
    else:
        if propagated.axis != 0:
            raise ValueError(
                f"the propagation ran along axis {propagated.axis}, but an Object3D's slices "
                "are along axis 0 (Z); propagate along axis 0 to score against it"
            )
        mask, seeds = propagated.mask, tuple(propagated.seeds)
    slices = None
    if exclude_seeds:
        slices = [z for z in range(obj.gt.shape[0]) if z not in seeds]
    return score_masks(obj.gt, mask, axis=0, slices=slices, name=obj.name)


def _check_same_shape(truth: np.ndarray, predicted: np.ndarray) -> None:
    if truth.shape != predicted.shape:
        raise ValueError(
            f"prediction shape {predicted.shape} differs from ground-truth shape {truth.shape}; "
            "they must match voxel for voxel"
        )
    if truth.ndim not in (2, 3):
        raise ValueError(f"expected a 2D image or a 3D volume, got {truth.ndim} dimensions")
    for what, array in (("ground truth", truth), ("prediction", predicted)):
        if not (np.issubdtype(array.dtype, np.integer) or array.dtype == bool):
            raise ValueError(f"the {what} must hold integer labels, got type {array.dtype}")


#: Label values below this are counted with ``bincount`` (linear time); others are sorted.
_BINCOUNT_LIMIT = 1 << 20


def _histogram(values: np.ndarray) -> tuple[list[int], list[int]]:
    """The distinct values of an int64 array and how often each occurs."""
    if values.size and values.min() >= 0 and values.max() < _BINCOUNT_LIMIT:
        counts = np.bincount(values)
        labels = np.flatnonzero(counts)
        return labels.tolist(), counts[labels].tolist()
    labels, counts = np.unique(values, return_counts=True)
    return labels.tolist(), counts.tolist()


def _pair_histogram(a: np.ndarray, b: np.ndarray) -> tuple[list[tuple[int, int]], list[int]]:
    """The distinct (a, b) pairs of two int64 arrays and how often each occurs."""
    low, high = int(min(a.min(), b.min())), int(max(a.max(), b.max()))
    if low >= 0 and high < 1 << 31:  # one int64 key per pair, no overflow
        base = int(b.max()) + 1
        keys, counts = _histogram(a * base + b)
        return [divmod(k, base) for k in keys], counts
    combos, counts = np.unique(np.stack([a, b]), axis=1, return_counts=True)
    return [tuple(c) for c in combos.T.tolist()], counts.tolist()


@dataclass
class _Tally:
    """Per-slice pixel counts of every truth label, predicted label and (truth, predicted) pair.

    Counted slice by slice in one pass, so that scoring a volume with hundreds of objects
    costs about as much as scoring one.
    """

    slices: int
    truth: dict[int, np.ndarray] = field(default_factory=dict)
    predicted: dict[int, np.ndarray] = field(default_factory=dict)
    pairs: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    def add(self, table: dict, key: Any, index: int, count: int) -> None:
        if key not in table:
            table[key] = np.zeros(self.slices, np.int64)
        table[key][index] += count

    def zeros(self) -> np.ndarray:
        return np.zeros(self.slices, np.int64)

    @classmethod
    def count(cls, truth_stack: np.ndarray, pred_stack: np.ndarray) -> _Tally:
        tally = cls(len(truth_stack))
        for index in range(tally.slices):
            truth = np.asarray(truth_stack[index]).astype(np.int64, copy=False)
            predicted = np.asarray(pred_stack[index]).astype(np.int64, copy=False)
            for table, values in (
                (tally.truth, truth[truth != 0]),
                (tally.predicted, predicted[predicted != 0]),
            ):
                for label, count in zip(*_histogram(values), strict=True):
                    tally.add(table, label, index, count)
            both = (truth != 0) & (predicted != 0)
            if both.any():
                for pair, count in zip(*_pair_histogram(truth[both], predicted[both]), strict=True):
                    tally.add(tally.pairs, pair, index, count)
        return tally

    def best_overlap(self, labels: Sequence[int]) -> dict[int, int | None]:
        """For each truth label, the predicted label with the largest total overlap, or None."""
        best: dict[int, tuple[int, int]] = {}
        for (t, p), counts in self.pairs.items():
            total = int(counts.sum())
            if t not in best or (total, -p) > (best[t][1], -best[t][0]):
                best[t] = (p, total)
        return {t: best[t][0] if t in best else None for t in labels}

    def score(self, t: int, p: int | None, indices: Sequence[int]) -> ObjectScore:
        """The score of truth label ``t`` against predicted label ``p`` (None: nothing)."""
        truth = self.truth.get(t, self.zeros())
        predicted = self.predicted.get(p, self.zeros()) if p is not None else self.zeros()
        inter = self.pairs.get((t, p), self.zeros()) if p is not None else self.zeros()
        rows = tuple(
            SliceScore(int(index), Overlap(int(i), int(a), int(b)))
            for index, i, a, b in zip(indices, inter, predicted, truth, strict=True)
            if a or b
        )
        total = Overlap(int(inter.sum()), int(predicted.sum()), int(truth.sum()))
        return ObjectScore(f"label{t}", t, p, total, rows)


def score_labels(
    predicted: np.ndarray,
    truth: np.ndarray,
    axis: int = 0,
    slices: Iterable[int] | None = None,
    labels: Iterable[int] | None = None,
    match: str = "id",
) -> ScoringResult:
    """Score a labels image or volume against ground-truth labels, per object and per slice.

    Parameters
    ----------
    predicted : numpy.ndarray
        Integer labels (2D or 3D), 0 background.
    truth : numpy.ndarray
        Ground-truth integer labels of the same shape, 0 background.
    axis : int
        Axis of a 3D volume the slices are taken along (ignored for 2D).
    slices : iterable of int, optional
        Slice indices to score (default: all); other slices are left out entirely.
    labels : iterable of int, optional
        Ground-truth labels to score (default: every nonzero label in the scored slices).
    match : {"id", "overlap"}
        Pair each object with the predicted label of the same value, or with the predicted
        label overlapping it most (see the module docstring).

    Returns
    -------
    ScoringResult

    Raises
    ------
    ValueError
        On a shape mismatch, a bad axis or slice, an unknown ``match``, a requested label that
        is absent from the scored slices, or when there is no object to score.
    """
    if match not in MATCHES:
        raise ValueError(f"match must be one of {MATCHES}, got {match!r}")
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    _check_same_shape(truth, predicted)
    stack_axis = None if truth.ndim == 2 else _check_axis(axis, truth.ndim)
    truth_stack = _as_stack(truth, stack_axis)
    pred_stack = _as_stack(predicted, stack_axis)
    indices = _check_slices(slices, truth_stack.shape[0])
    tally = _Tally.count(truth_stack[list(indices)], pred_stack[list(indices)])
    present = sorted(t for t, counts in tally.truth.items() if counts.any())
    where = _describe(stack_axis, indices)
    if labels is None:
        wanted = present
    else:
        wanted = sorted({int(v) for v in labels})
        missing = [v for v in wanted if v not in present]
        if missing:
            raise ValueError(
                f"ground-truth label(s) {missing} do not occur in {where}; labels there: "
                f"{present[:20]}{' ...' if len(present) > 20 else ''}"
            )
    if not wanted:
        raise ValueError(f"no ground-truth object to score: the labels are all 0 in {where}")
    if match == "id":
        pairing: dict[int, int | None] = {t: t for t in wanted}
    else:
        pairing = tally.best_overlap(wanted)
    scores = [tally.score(t, pairing[t], indices) for t in wanted]
    used = {p for p in pairing.values() if p is not None}
    unmatched = tuple(sorted(p for p in tally.predicted if p not in used))
    return ScoringResult(tuple(scores), stack_axis, indices, match, unmatched)


def _describe(axis: int | None, indices: Sequence[int]) -> str:
    if axis is None:
        return "the image"
    if len(indices) == 1:
        return f"slice {indices[0]} (axis {axis})"
    return f"slices {indices[0]}..{indices[-1]} (axis {axis})"


def _fmt(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.6f}"


def object_rows(result: ScoringResult) -> list[dict[str, Any]]:
    """One row per object: labels, IoU, Dice, mean per-slice Dice, voxel counts, slices."""
    rows = []
    for obj in result.objects:
        rows.append(
            {
                "object": obj.name,
                "truth_label": obj.truth_label,
                "predicted_label": "" if obj.predicted_label is None else obj.predicted_label,
                "iou": _fmt(obj.iou),
                "dice": _fmt(obj.dice),
                "mean_slice_dice": _fmt(obj.mean_slice_dice),
                "truth_voxels": obj.overlap.truth,
                "predicted_voxels": obj.overlap.predicted,
                "intersection": obj.overlap.intersection,
                "slices": len(obj.slices),
            }
        )
    return rows


def slice_rows(result: ScoringResult) -> list[dict[str, Any]]:
    """One row per object and slice where either the object or its prediction is present."""
    rows = []
    for obj in result.objects:
        for item in obj.slices:
            rows.append(
                {
                    "object": obj.name,
                    "slice": item.index,
                    "iou": _fmt(item.overlap.iou),
                    "dice": _fmt(item.overlap.dice),
                    "truth_pixels": item.overlap.truth,
                    "predicted_pixels": item.overlap.predicted,
                    "intersection": item.overlap.intersection,
                }
            )
    return rows


def write_rows_csv(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Write rows (dicts with the same keys) as CSV, atomically; return the path.

    Raises
    ------
    ValueError
        If there is no row (a CSV without columns would be meaningless).
    """
    if not rows:
        raise ValueError("nothing to write: there is no row")
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    partial.replace(path)
    return path
