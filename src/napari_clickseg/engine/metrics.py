"""Metrics of the NoC protocol, computed exactly as the official evaluation scripts.

- IoU ignores pixels labelled -1 in the ground truth (``utils.get_iou``); NaN for an empty
  union.
- The official loop returns each object's IoU curve as a float32 array, and the metrics
  compare it with the threshold as float32 (``float32(iou) >= float32(t)``: an IoU of exactly
  0.9 reaches 90 %). We do the same.
- NoC@t of an object: the first click (1-based) whose IoU reaches t, or ``max_clicks`` when it
  never does (``compute_noc_metric``); NoC@t of a data set is the mean over objects.
- NoF@t ("number of failures", the official ``>=20@t`` column): objects whose NoC@t equals
  ``max_clicks``. Official quirk, kept: an object that first reaches t exactly at the last
  click counts as a failure too.
- The official thresholds come from ``np.arange(0.8, 0.95 + 0.001, 0.05)`` (0.8,
  0.8500000000000001, ...); in float32 they equal 0.8, 0.85, 0.9, 0.95.
- mIoU@k: the float32 mean over objects of the IoU after k clicks, over curves truncated to the
  shortest one (run with full curves, i.e. no early stop, for this to be meaningful).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: NoC thresholds exactly as the official scripts compute them.
OFFICIAL_THRESHOLDS: tuple[float, ...] = tuple(np.arange(0.8, 0.95 + 0.001, 0.05).tolist())


def official_threshold(percent: int) -> float:
    """The official threshold value for 80, 85, 90 or 95 (see the module docstring)."""
    names = {80: 0, 85: 1, 90: 2, 95: 3}
    if percent not in names:
        raise ValueError(f"NoC thresholds are 80, 85, 90 or 95, got {percent}")
    return OFFICIAL_THRESHOLDS[names[percent]]


def iou(gt: np.ndarray, pred: np.ndarray, ignore_label: int = -1) -> float:
    """IoU of a boolean prediction with the object (gt == 1), ignoring ``ignore_label`` pixels.

    Returns NaN when both are empty, as the official division gives.
    """
    valid = gt != ignore_label
    obj = gt == 1
    intersection = np.logical_and(np.logical_and(pred, obj), valid).sum()
    union = np.logical_and(np.logical_or(pred, obj), valid).sum()
    return float(intersection / union) if union else float("nan")


def noc(curve: Sequence[float], threshold: float, max_clicks: int = 20) -> int:
    """Clicks needed to reach ``threshold`` (``max_clicks`` if never reached), in float32."""
    reached = np.asarray(curve, dtype=np.float32) >= np.float32(threshold)
    return int(np.argmax(reached)) + 1 if reached.any() else max_clicks


@dataclass(frozen=True)
class NocSummary:
    """Data-set metrics.

    Attributes
    ----------
    thresholds : tuple of float
        The thresholds (official values).
    noc : tuple of float
        Mean NoC per threshold.
    nof : tuple of int
        Failures per threshold (official ``>=max_clicks`` count).
    miou : tuple of float
        mIoU after 1, 2, ... clicks, up to the shortest curve.
    objects : int
        Number of objects.
    max_clicks : int
        Click budget.
    """

    thresholds: tuple[float, ...]
    noc: tuple[float, ...]
    nof: tuple[int, ...]
    miou: tuple[float, ...]
    objects: int
    max_clicks: int

    def noc_at(self, percent: int) -> float:
        """Mean NoC at 80, 85, 90 or 95."""
        return self.noc[self.thresholds.index(official_threshold(percent))]

    def nof_at(self, percent: int) -> int:
        """Failures at 80, 85, 90 or 95."""
        return self.nof[self.thresholds.index(official_threshold(percent))]

    def miou_at(self, clicks: int) -> float:
        """mIoU after ``clicks`` clicks (NaN if the curves are shorter)."""
        return self.miou[clicks - 1] if 0 < clicks <= len(self.miou) else float("nan")


def summarise(
    curves: Sequence[Sequence[float]],
    thresholds: Sequence[float] = OFFICIAL_THRESHOLDS,
    max_clicks: int = 20,
) -> NocSummary:
    """NoC, NoF and mIoU@k over the IoU curves of a data set.

    Parameters
    ----------
    curves : sequence of sequences of float
        Per object, the IoU after each click.
    thresholds : sequence of float
        NoC thresholds (default: the official 80/85/90/95 values).
    max_clicks : int
        Click budget used for objects that never reach a threshold.

    Returns
    -------
    NocSummary
    """
    if not curves:
        raise ValueError("no IoU curves: the data set produced no objects")
    nocs = np.array([[noc(c, t, max_clicks) for t in thresholds] for c in curves])
    shortest = min(len(c) for c in curves)
    miou = np.array([list(c[:shortest]) for c in curves], dtype=np.float32).mean(axis=0)
    return NocSummary(
        thresholds=tuple(float(t) for t in thresholds),
        noc=tuple(float(v) for v in nocs.mean(axis=0)),
        nof=tuple(int(v) for v in (nocs == max_clicks).sum(axis=0)),
        miou=tuple(float(v) for v in miou),
        objects=len(curves),
        max_clicks=max_clicks,
    )
