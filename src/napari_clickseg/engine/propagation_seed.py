"""A seed slice for propagation made by the simulated user of the evaluation protocol.

For benchmarks and ``clickseg propagate --seed-from-gt``: on the slice where the ground-truth
object is largest, the official next-click rule clicks until the IoU reaches a target or the
click budget is spent (:func:`napari_clickseg.engine.evaluation.evaluate_object`, the same
code as the NoC evaluation); the predictor's mask after the last click is the seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from napari_clickseg.engine.clicks import Click
from napari_clickseg.engine.evaluation import EvaluationSettings, evaluate_object

__all__ = ["SimulatedSeed", "largest_slice", "simulate_seed"]


@dataclass(frozen=True)
class SimulatedSeed:
    """A seed made by simulated clicks.

    Attributes
    ----------
    mask : numpy.ndarray
        bool volume of the ground truth's shape, the predicted mask on ``slice`` only.
    slice : int
        The seed slice along ``axis``.
    axis : int
        The slicing axis.
    clicks : tuple of Click
        The simulated clicks.
    ious : tuple of float
        IoU with the ground truth after each click.
    """

    mask: np.ndarray
    slice: int
    axis: int
    clicks: tuple[Click, ...]
    ious: tuple[float, ...]


def largest_slice(gt: np.ndarray, axis: int = 0) -> int:
    """The slice along ``axis`` with the most object voxels (the first of equal ones).

    Raises
    ------
    ValueError
        If the ground truth is empty.
    """
    gt = np.asarray(gt) != 0
    areas = np.count_nonzero(gt, axis=tuple(d for d in range(gt.ndim) if d != axis))
    if not areas.any():
        raise ValueError("the ground truth is empty: no object to make a seed from")
    return int(np.argmax(areas))


def simulate_seed(
    predictor,
    image: np.ndarray,
    gt: np.ndarray,
    *,
    axis: int = 0,
    slice_index: int | None = None,
    max_clicks: int = 20,
    target_iou: float = 0.9,
    channels: Sequence[int] | None = None,
    intensity_range: tuple[float, float] | None = None,
) -> SimulatedSeed:
    """Annotate one slice with the official simulated clicks and return it as a seed volume.

    Parameters
    ----------
    predictor : Predictor or RandomWalkerPredictor
        Anything with ``set_image``, ``predict`` and ``get_state``.
    image : numpy.ndarray
        (Z, Y, X) or channels-last (Z, Y, X, C) volume.
    gt : numpy.ndarray
        (Z, Y, X), nonzero on the object.
    axis : int, optional
        Slicing axis.
    slice_index : int, optional
        The slice to annotate; default :func:`largest_slice`.
    max_clicks, target_iou : optional
        Click until the IoU reaches ``target_iou`` or ``max_clicks`` clicks are made.
    channels, intensity_range : optional
        As for :meth:`Predictor.set_image`.

    Returns
    -------
    SimulatedSeed
    """
    gt = np.asarray(gt) != 0
    image = np.asarray(image)
    if gt.ndim != 3 or image.shape[:3] != gt.shape:
        raise ValueError(
            f"image {image.shape} and ground truth {gt.shape} must be volumes of one shape"
        )
    index = largest_slice(gt, axis) if slice_index is None else int(slice_index)
    if not 0 <= index < gt.shape[axis]:
        raise ValueError(f"slice {index} is out of range: axis {axis} has {gt.shape[axis]} slices")
    truth = np.take(gt, index, axis=axis)
    if not truth.any():
        raise ValueError(f"the ground truth on slice {index} is empty; nothing to click on")
    picture = np.take(image, index, axis=axis)
    settings = EvaluationSettings(max_clicks=max_clicks, target_iou=target_iou)
    record = evaluate_object(
        _WithImageOptions(predictor, channels, intensity_range),
        picture,
        truth.astype(np.int8),
        settings,
    )
    mask = np.zeros(gt.shape, bool)
    place = tuple(index if d == axis else slice(None) for d in range(3))
    mask[place] = predictor.get_state().mask(settings.threshold)
    return SimulatedSeed(mask, index, axis, tuple(record.clicks), tuple(record.ious))


class _WithImageOptions:
    """Passes channel and intensity options to ``set_image`` (the protocol passes the image)."""

    def __init__(self, predictor, channels, intensity_range) -> None:
        self._predictor = predictor
        self._options = (channels, intensity_range)

    def set_image(self, image: np.ndarray) -> None:
        self._predictor.set_image(image, *self._options)

    def __getattr__(self, name: str):
        return getattr(self._predictor, name)
