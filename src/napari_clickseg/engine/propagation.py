"""Slice-by-slice propagation of an annotated mask through a volume.

From each annotated (seed) slice, propagation walks away one slice at a time. Each new slice
is predicted by the ordinary predictor interface (``set_image``, ``set_prev_mask``,
``predict(clicks)``) from the last mask written by that walk (a *front*), according to the
mode:

=============== ====================================================================
``center``      one positive click at the previous mask's interior maximum
``points``      several interior clicks (:func:`~.propagation_clicks.interior_points`)
``mask``        the previous mask as the prior, no click (only for predictors that set
                ``predicts_without_clicks = True``: the networks' ``Predictor`` does, the
                random walker, which needs seeds, does not)
``mask+center`` the previous mask as the prior, plus the ``center`` click
``mask+points`` the previous mask as the prior, plus the ``points`` clicks
=============== ====================================================================

"Prior" is :meth:`Predictor.set_prev_mask`: the networks' previous-mask input and the region
ZoomIn crops around. A front stops when

- the new mask's IoU with the front's previous mask falls below ``iou_threshold`` (that slice
  is not written);
- ``max_empty`` predictions in a row are empty (an empty slice is not written and does not
  replace the previous mask, so the object may reappear on the next slice);
- it reaches the end of the volume or of ``slice_range``;
- it reaches a slice claimed by the front coming from the other side of a gap;
- the caller cancels (``should_stop()`` returns True).

Gaps between two seed slices are filled from both ends: the two fronts take turns, so each
slice is predicted once, from the nearer seed (the one more like it). If one front stops early,
the other goes on through the rest of the gap. Combining two predictions of every slice would
double the cost and need a fusion rule that the models were not trained for.

Seed slices are never predicted or written: the result's mask holds them as given.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np

from napari_clickseg.engine.clicks import Click
from napari_clickseg.engine.image_input import intensity_window
from napari_clickseg.engine.predictor import Prediction
from napari_clickseg.engine.propagation_clicks import (
    interior_maximum,
    interior_points,
    ring_margin,
    ring_points,
)
from napari_clickseg.engine.zoom_in import OFFICIAL_MIN_CROP_SIZE

__all__ = [
    "DEFAULT_MODE",
    "MODES",
    "FrontReport",
    "PropagationResult",
    "PropagationSettings",
    "StopReason",
    "mask_iou",
    "propagate",
]

#: Propagation modes (see the module docstring).
MODES = ("center", "points", "mask", "mask+center", "mask+points")
#: The default mode: the best 3D Dice with the shipped model on the validation BraTS case
#: ``Brats18_2013_2_1`` (FLAIR, whole tumour: ``points`` 0.811, ``center`` 0.762,
#: ``mask+points`` 0.721, ``mask+center`` 0.641, ``mask`` 0.635), confirmed on the held-out
#: case; the numbers and the command are in ``docs/propagation.md``.
DEFAULT_MODE = "points"

#: ``progress(done, total)``: slices settled so far out of the slices that may be predicted.
ProgressCallback = Callable[[int, int], None]
#: An image getter: slice index along the propagation axis -> (H, W) or (H, W, C) image.
SliceGetter = Callable[[int], np.ndarray]


class PropagatingPredictor(Protocol):
    """What propagation needs of a predictor (``Predictor`` and the baseline both fit)."""

    def set_image(self, image: np.ndarray, channels=None, intensity_range=None) -> None: ...

    def set_prev_mask(self, mask: np.ndarray) -> None: ...

    def predict(self, clicks: Sequence[Click]) -> Prediction: ...


class StopReason(StrEnum):
    """Why a front stopped."""

    VOLUME_END = "volume_end"
    RANGE_END = "range_end"
    MET_OTHER_FRONT = "met_other_front"
    IOU_DROP = "iou_drop"
    EMPTY_SLICES = "empty_slices"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class PropagationSettings:
    """How to propagate.

    Attributes
    ----------
    mode : str
        One of :data:`MODES`; :data:`DEFAULT_MODE` (``points``) by default.
    iou_threshold : float
        Stop a front when a new mask's IoU with the previous one is below this (in [0, 1];
        0 never stops for this reason).
    max_empty : int
        Stop a front after this many empty predictions in a row.
    slice_range : tuple of int or None
        (first, last) slice indices, both included, that propagation may write; None: the
        whole axis. Every seed slice must lie inside it.
    max_points : int
        Clicks per slice in the ``points`` modes.
    min_depth_ratio : float
        ``points`` modes: a further click must be at least this fraction as deep as the first.
    min_area : int
        A prediction with fewer pixels than this counts as empty.
    negatives : int
        Click modes only: also this many negative clicks on a ring around the previous mask
        (:func:`~.propagation_clicks.ring_points`), after the positive ones; 0 (default): none.
    negative_margin : float
        Distance of that ring from the previous mask, as a fraction of the mask's equivalent
        radius sqrt(area / pi) (at least 2 pixels).
    zoom_min_crop : int or None
        ZoomIn's minimum crop side while propagating: the official code's 200 px by default,
        whatever the model's input (a neighbouring slice's mask is a looser guide to the
        object than the same slice's; the 100 px floor of 224 px models cut the held-out
        BraTS case's 3D Dice in ``mask+center`` from 0.767 to 0.685). None: the predictor's
        own setting. Predictors without ZoomIn ignore it.
    """

    mode: str = DEFAULT_MODE
    iou_threshold: float = 0.5
    max_empty: int = 2
    slice_range: tuple[int, int] | None = None
    max_points: int = 5
    min_depth_ratio: float = 0.5
    min_area: int = 1
    negatives: int = 0
    negative_margin: float = 0.5
    zoom_min_crop: int | None = OFFICIAL_MIN_CROP_SIZE

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(
                f"propagation mode must be one of {', '.join(MODES)}, got {self.mode!r}"
            )
        if not 0.0 <= self.iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold must lie in [0, 1], got {self.iou_threshold}")
        if self.max_empty < 1:
            raise ValueError(f"max_empty must be at least 1, got {self.max_empty}")
        if self.max_points < 1:
            raise ValueError(f"max_points must be at least 1, got {self.max_points}")
        if not 0.0 <= self.min_depth_ratio <= 1.0:
            raise ValueError(f"min_depth_ratio must lie in [0, 1], got {self.min_depth_ratio}")
        if self.negatives < 0:
            raise ValueError(f"negatives must be >= 0, got {self.negatives}")
        if self.negative_margin <= 0:
            raise ValueError(f"negative_margin must be positive, got {self.negative_margin}")
        if self.min_area < 1:
            raise ValueError(f"min_area must be at least 1, got {self.min_area}")
        if self.zoom_min_crop is not None and self.zoom_min_crop < 1:
            raise ValueError(f"zoom_min_crop must be at least 1 pixel, got {self.zoom_min_crop}")
        if self.slice_range is not None and (
            len(self.slice_range) != 2 or self.slice_range[0] > self.slice_range[1]
        ):
            raise ValueError(
                f"slice_range must be (first, last) with first <= last, got {self.slice_range}"
            )

    @property
    def uses_prior(self) -> bool:
        """Whether the previous mask is given to the predictor as its prior."""
        return self.mode.startswith("mask")

    def clicks_for(self, previous: np.ndarray) -> list[Click]:
        """The clicks this mode derives from the previous slice's (non-empty) mask."""
        if self.mode.endswith("center"):
            positives = [interior_maximum(previous)]
        elif self.mode.endswith("points"):
            positives = interior_points(previous, self.max_points, self.min_depth_ratio)
        else:
            return []
        if not self.negatives:
            return positives
        margin = ring_margin(previous, self.negative_margin)
        return positives + ring_points(previous, self.negatives, margin)


@dataclass(frozen=True)
class FrontReport:
    """What one front did.

    Attributes
    ----------
    seed : int
        The seed slice it started from.
    direction : int
        +1 towards higher slice indices, -1 towards lower ones.
    reason : StopReason
        Why it stopped.
    last_written : int
        The last slice it wrote (``seed`` if none).
    predicted : int
        Predictions it made (written, empty or rejected).
    """

    seed: int
    direction: int
    reason: StopReason
    last_written: int
    predicted: int


@dataclass
class PropagationResult:
    """The outcome of :func:`propagate`.

    Attributes
    ----------
    mask : numpy.ndarray or array-like
        bool, the seed mask's shape: the seed slices as given plus every written slice (the
        ``out`` array when one was given to :func:`propagate`).
    axis : int
        The axis propagated along.
    seeds : tuple of int
        The seed slices, ascending.
    written : tuple of int
        Slices propagation wrote (never a seed), ascending.
    iou_with_previous : dict of int to float
        For every predicted slice, the IoU of its prediction with the front's previous mask
        (0 for an empty prediction), including rejected slices.
    fronts : tuple of FrontReport
        One per front: where it started and why it stopped.
    cancelled : bool
        True if ``should_stop`` ended the run; the result then holds what was done so far.
    """

    mask: np.ndarray
    axis: int
    seeds: tuple[int, ...]
    written: tuple[int, ...]
    iou_with_previous: dict[int, float]
    fronts: tuple[FrontReport, ...]
    cancelled: bool = False


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two boolean masks; 1.0 when both are empty."""
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 1.0


@dataclass
class _Front:
    seed: int
    step: int
    limit: int  # the last slice this front may reach (volume or range end)
    limit_reason: StopReason
    prior: np.ndarray
    last: int = -1  # the last slice it claimed (predicted and not released)
    last_written: int = -1
    empty_run: int = 0
    predicted: int = 0
    reason: StopReason | None = None
    partner: _Front | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.last = self.last_written = self.seed

    @property
    def active(self) -> bool:
        return self.reason is None

    def next_slice(self) -> int | None:
        """The slice to predict next, or None (after setting the reason) when there is none."""
        target = self.last + self.step
        if self.partner is not None and target == self.partner.last:
            self.reason = StopReason.MET_OTHER_FRONT
            return None
        if (target - self.limit) * self.step > 0:
            self.reason = self.limit_reason
            return None
        return target

    def stop(self, reason: StopReason) -> None:
        """Stop and release the slices predicted since the last write to the other front."""
        self.reason = reason
        self.last = self.last_written


def _remaining(group: list[_Front]) -> int:
    """Slices a group of fronts may still predict (a gap's slices are counted once)."""
    if not any(f.active for f in group):
        return 0
    if len(group) == 2:
        return max(0, abs(group[1].last - group[0].last) - 1)
    front = group[0]
    return max(0, (front.limit - front.last) * front.step)


def is_lazy_array(value: object) -> bool:
    """Whether ``value`` is an array-like read on demand (zarr, dask), not a NumPy array."""
    return (
        not isinstance(value, np.ndarray)
        and all(hasattr(value, name) for name in ("shape", "dtype", "ndim", "__getitem__"))
    )


class _Volume:
    """Validated access to the image slices and the seed mask along one axis.

    NumPy volumes and lazy ones (zarr, dask: anything with ``shape``, ``dtype`` and basic
    indexing) are read one slice at a time; a lazy volume is never loaded whole.
    """

    def __init__(
        self,
        image: np.ndarray | SliceGetter,
        seed_mask: np.ndarray,
        axis: int,
        channels: Sequence[int] | None,
        intensity_range: tuple[float, float] | None,
    ) -> None:
        seed_mask = seed_mask if is_lazy_array(seed_mask) else np.asarray(seed_mask)
        if seed_mask.ndim != 3:
            raise ValueError(
                f"the seed mask must be a 3D volume, got shape {seed_mask.shape}; put a 2D "
                "mask on its slice of a zero volume of the image's shape"
            )
        if isinstance(axis, bool) or axis not in (-3, -2, -1, 0, 1, 2):
            raise ValueError(f"axis must be 0, 1 or 2 (an axis of the volume), got {axis!r}")
        self.axis = int(axis) % 3
        self.shape = tuple(int(n) for n in seed_mask.shape)
        self._seed_mask = seed_mask
        self.channels = channels
        self.intensity_range = intensity_range
        if callable(image) and not is_lazy_array(image):
            self._get = image
        else:
            array = image if is_lazy_array(image) else np.asarray(image)
            if array.ndim not in (3, 4) or tuple(array.shape[:3]) != self.shape:
                raise ValueError(
                    f"the image must be (Z, Y, X) or channels-last (Z, Y, X, C) with the seed "
                    f"mask's shape {self.shape}, got {tuple(array.shape)}"
                )
            if self.intensity_range is None:
                # One intensity mapping for the whole volume, not a window per slice: the rule
                # of every entry point (image_input.intensity_window; None for uint8).
                self.intensity_range = intensity_window(array)
            self._get = lambda index: array[self.index(index)]

    @property
    def count(self) -> int:
        return self.shape[self.axis]

    @property
    def slice_shape(self) -> tuple[int, int]:
        return tuple(s for d, s in enumerate(self.shape) if d != self.axis)  # type: ignore[return-value]

    def index(self, z: int) -> tuple:
        return tuple(z if d == self.axis else slice(None) for d in range(3))

    def mask_slice(self, z: int) -> np.ndarray:
        """The seed mask of slice ``z`` as a 2D bool array."""
        return np.asarray(self._seed_mask[self.index(z)]) != 0

    def mask_areas(self) -> np.ndarray:
        """Seed-mask pixels on every slice (a lazy mask is read slice by slice)."""
        if isinstance(self._seed_mask, np.ndarray):
            other = tuple(d for d in range(3) if d != self.axis)
            return np.count_nonzero(self._seed_mask, axis=other)
        return np.array([np.count_nonzero(self.mask_slice(z)) for z in range(self.count)])

    def image(self, z: int) -> np.ndarray:
        picture = np.asarray(self._get(z))
        if picture.shape[:2] != self.slice_shape or picture.ndim not in (2, 3):
            raise ValueError(
                f"slice {z} of the image has shape {picture.shape}; expected {self.slice_shape} "
                "(or with a trailing channel axis) to match the seed mask"
            )
        return picture


def _seed_slices(volume: _Volume, seed_slices: Sequence[int] | None) -> tuple[int, ...]:
    if seed_slices is None:
        areas = volume.mask_areas()
        found = tuple(int(z) for z in np.flatnonzero(areas))
        if not found:
            raise ValueError(
                f"the seed mask is empty: no slice along axis {volume.axis} has a mask; "
                "nothing to propagate"
            )
        return found
    seeds = sorted({int(z) for z in seed_slices})
    if not seeds:
        raise ValueError("seed_slices is empty: name at least one annotated slice")
    for z in seeds:
        if not 0 <= z < volume.count:
            raise ValueError(
                f"seed slice {z} is out of range: axis {volume.axis} has slices 0 to "
                f"{volume.count - 1}"
            )
        if not volume.mask_slice(z).any():
            raise ValueError(f"the mask on slice {z} is empty; nothing to propagate")
    return tuple(seeds)


def _make_fronts(
    volume: _Volume, seeds: tuple[int, ...], first: int, last: int
) -> list[list[_Front]]:
    """Groups of fronts: the one below the first seed, each gap's pair, the one above."""

    def front(seed: int, step: int, limit: int) -> _Front:
        at_volume_end = limit in (0, volume.count - 1)
        reason = StopReason.VOLUME_END if at_volume_end else StopReason.RANGE_END
        prior = volume.mask_slice(seed)
        return _Front(seed, step, limit, reason, prior)

    groups = [[front(seeds[0], -1, first)]]
    for lower, upper in itertools.pairwise(seeds):
        up, down = front(lower, +1, upper - 1), front(upper, -1, lower + 1)
        up.partner, down.partner = down, up
        groups.append([up, down])
    groups.append([front(seeds[-1], +1, last)])
    return groups


def propagate(
    predictor: PropagatingPredictor,
    image: np.ndarray | SliceGetter,
    seed_mask: np.ndarray,
    *,
    axis: int = 0,
    seed_slices: Sequence[int] | None = None,
    settings: PropagationSettings = PropagationSettings(),
    channels: Sequence[int] | None = None,
    intensity_range: tuple[float, float] | None = None,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    out=None,
) -> PropagationResult:
    """Propagate the mask of the seed slice(s) through a volume, slice by slice.

    Parameters
    ----------
    predictor : Predictor or RandomWalkerPredictor
        Anything with ``set_image``, ``set_prev_mask`` and ``predict``; it is left holding
        the last predicted slice.
    image : numpy.ndarray, lazy array or callable
        (Z, Y, X) or channels-last (Z, Y, X, C) volume of the seed mask's shape (NumPy, or a
        zarr / dask array, read one slice at a time: see
        :func:`napari_clickseg.io.zarr_volumes.open_lazy_volume`), or a
        function ``index -> image`` returning the 2D slice at ``index`` along ``axis``
        ((H, W) or (H, W, C), the in-plane axes in the volume's order).
    seed_mask : numpy.ndarray or lazy array
        (Z, Y, X) volume, nonzero on the object on the annotated slices. It is not modified;
        a lazy one is read slice by slice.
    axis : int, optional
        The axis to propagate along; slices keep the other two axes in their order.
    seed_slices : sequence of int, optional
        The annotated slices to start from (each must hold a mask); default: every slice with
        a nonzero mask.
    settings : PropagationSettings, optional
        Mode and stop rules.
    channels : sequence of int, optional
        Three channels of a multi-channel image to feed as R, G, B (``set_image``'s).
    intensity_range : tuple of float, optional
        (low, high) intensity window of non-uint8 images; default for array volumes: the
        volume's 0.5-99.5 percentile window
        (:func:`napari_clickseg.engine.image_input.intensity_window`, the rule of every entry
        point), so that all slices share one mapping.
    progress : callable, optional
        ``progress(done, total)`` after each predicted slice; ``total`` is the number of
        non-seed slices in the range, ``done`` counts those settled (predicted, or left out
        because their front stopped). A run that is not cancelled ends with
        ``progress(total, total)``.
    should_stop : callable, optional
        Checked before each prediction; when it returns True the run stops and returns what
        it has done (``cancelled=True``). A ``threading.Event``'s ``is_set`` fits.
    out : array-like, optional
        Zero-filled (Z, Y, X) array (NumPy, or a zarr array for volumes larger than memory)
        that receives the mask slice by slice and becomes ``result.mask``; default: a new
        bool array.

    Returns
    -------
    PropagationResult

    Raises
    ------
    ValueError
        For an empty seed mask or seed slice, shapes that do not match, seeds outside the
        volume or the slice range, or mode ``mask`` with a predictor that needs clicks.
    """
    volume = _Volume(image, seed_mask, axis, channels, intensity_range)
    seeds = _seed_slices(volume, seed_slices)
    first, last = settings.slice_range or (0, volume.count - 1)
    if not 0 <= first <= last < volume.count:
        raise ValueError(
            f"slice_range {settings.slice_range} lies outside axis {volume.axis}'s slices 0 to "
            f"{volume.count - 1}"
        )
    outside = [z for z in seeds if not first <= z <= last]
    if outside:
        raise ValueError(
            f"seed slice(s) {outside} lie outside the slice range {first} to {last}; widen the "
            "range or leave those slices out of seed_slices"
        )
    if settings.mode == "mask" and not getattr(predictor, "predicts_without_clicks", False):
        raise ValueError(
            f"mode 'mask' predicts from the prior mask alone, but {type(predictor).__name__}"
            ".predict needs at least one click; use mode 'mask+center' or 'mask+points'"
        )

    if out is None:
        result_mask = np.zeros(volume.shape, bool)
    elif tuple(out.shape) != volume.shape:
        raise ValueError(f"out has shape {tuple(out.shape)}; expected {volume.shape}")
    else:
        result_mask = out
    for z in seeds:  # only the seeds: other nonzero slices of seed_mask are not the user's seeds
        result_mask[volume.index(z)] = volume.mask_slice(z)
    groups = _make_fronts(volume, seeds, first, last)
    total = (last - first + 1) - len(seeds)
    done = 0
    ious: dict[int, float] = {}
    written: list[int] = []
    cancelled = False

    def report() -> None:
        nonlocal done
        remaining = sum(_remaining(group) for group in groups)
        done = max(done, total - remaining)
        if progress is not None:
            progress(done, total)

    with _zoom_floor(predictor, settings.zoom_min_crop):
        for group in groups:
            turn = 0
            while not cancelled and any(f.active for f in group):
                front = group[turn % len(group)]
                turn += 1
                if not front.active:
                    continue
                target = front.next_slice()
                if target is None:
                    continue
                if should_stop is not None and should_stop():
                    cancelled = True
                    break
                mask = _predict_slice(predictor, volume, target, front.prior, settings)
                ious[target] = _accept(front, target, mask, settings)
                if front.last_written == target:
                    result_mask[volume.index(target)] = mask
                    written.append(target)
                report()
            if cancelled:
                break
    for front in (f for group in groups for f in group if f.active):
        front.stop(StopReason.CANCELLED)
    if not cancelled and progress is not None and done < total:
        progress(total, total)
    return PropagationResult(
        mask=result_mask,
        axis=volume.axis,
        seeds=seeds,
        written=tuple(sorted(written)),
        iou_with_previous=dict(sorted(ious.items())),
        fronts=tuple(
            FrontReport(f.seed, f.step, f.reason, f.last_written, f.predicted)
            for group in groups
            for f in group
        ),
        cancelled=cancelled,
    )


@contextlib.contextmanager
def _zoom_floor(predictor: PropagatingPredictor, min_crop: int | None) -> Iterator[None]:
    """Run with the predictor's ZoomIn minimum crop side set to ``min_crop``, then restore it."""
    zoom_in = getattr(predictor, "zoom_in", None)
    if min_crop is None or zoom_in is None:
        yield
        return
    predictor.zoom_in = dataclasses.replace(zoom_in, min_crop_size=min_crop)
    try:
        yield
    finally:
        predictor.zoom_in = zoom_in


def _accept(front: _Front, target: int, mask: np.ndarray, settings: PropagationSettings) -> float:
    """Apply the stop rules to a front's new prediction; returns its IoU with the previous mask.

    A mask that passes becomes the front's prior and ``front.last_written``.
    """
    front.last = target
    front.predicted += 1
    if np.count_nonzero(mask) < settings.min_area:
        front.empty_run += 1
        if front.empty_run >= settings.max_empty:
            front.stop(StopReason.EMPTY_SLICES)
        return 0.0
    score = mask_iou(mask, front.prior)
    if score < settings.iou_threshold:
        front.stop(StopReason.IOU_DROP)
    else:
        front.prior, front.last_written, front.empty_run = mask, target, 0
    return score


def _predict_slice(
    predictor: PropagatingPredictor,
    volume: _Volume,
    z: int,
    previous: np.ndarray,
    settings: PropagationSettings,
) -> np.ndarray:
    predictor.set_image(volume.image(z), volume.channels, volume.intensity_range)
    if settings.uses_prior:
        predictor.set_prev_mask(previous)  # bool: predictors convert what they keep
    prediction = predictor.predict(settings.clicks_for(previous))
    return np.asarray(prediction.mask, dtype=bool)
