"""Should a ground-truth label image be split into connected components before evaluation?

The NoC protocol's object is one label value in one slice. Some label images give every object
the same value: ISBI-style binary labels (cells 255, membranes 0), a thresholded mask, any
single-value label image whose objects are told apart only by not touching. Evaluated as they
are, each whole slice becomes one object; the ssTEM / ISBI protocol instead takes each
4-connected piece as an object (``split_components`` of the evaluation data sets).

:func:`advise_component_split` detects such an image: over the chosen slices (a few of them,
spread evenly, are looked at) the labels hold one nonzero value only, and that value makes
several 4-connected pieces on at least one slice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from napari_clickseg.engine.planes import Plane

__all__ = ["SplitAdvice", "advise_component_split"]

#: Slices looked at, spread evenly over the selection (enough to see a second value).
MAX_SLICES_LOOKED_AT = 8


@dataclass(frozen=True)
class SplitAdvice:
    """The outcome of :func:`advise_component_split`.

    Attributes
    ----------
    split : bool
        True when the labels look like one value for all objects: split them.
    value : int or None
        The one nonzero value, when there is exactly one.
    slice : int or None
        The slice with the most pieces of that value.
    pieces : int
        Number of 4-connected pieces of ``value`` on ``slice`` (0 when not looked at).
    message : str
        One sentence for the user (empty when there is nothing to say).
    """

    split: bool
    value: int | None = None
    slice: int | None = None
    pieces: int = 0
    message: str = ""


def _spread(slices: Sequence[int], count: int) -> list[int]:
    if len(slices) <= count:
        return list(slices)
    picks = np.linspace(0, len(slices) - 1, count).round().astype(int)
    return [slices[i] for i in dict.fromkeys(picks.tolist())]


def advise_component_split(
    labels: np.ndarray, plane: Plane, slices: Sequence[int] | None = None
) -> SplitAdvice:
    """Whether ``labels`` gives all objects one value, so that they need splitting into pieces.

    Parameters
    ----------
    labels : numpy.ndarray
        Integer (or bool) label image, 2D or 3D, 0 background.
    plane : Plane
        How slices are cut from ``labels`` (:meth:`Plane.canonical`).
    slices : sequence of int, optional
        The slices that will be evaluated (default: all).

    Returns
    -------
    SplitAdvice
        ``split`` True when the looked-at slices hold a single nonzero value and it makes at
        least two 4-connected pieces on one of them.
    """
    count = plane.slice_count(labels.shape)
    chosen = list(range(count)) if slices is None else [s for s in slices if 0 <= s < count]
    values: set[int] = set()
    best: tuple[int, int] | None = None  # (pieces, slice)
    for index in _spread(chosen, MAX_SLICES_LOOKED_AT):
        slab = np.asarray(plane.take(labels, index))
        present = np.unique(slab)
        values.update(int(v) for v in present if v != 0)
        if len(values) > 1:
            return SplitAdvice(split=False)
        if len(values) == 1:
            pieces = int(ndi.label(slab != 0)[1])  # 4-connected: scipy's default in 2D
            if best is None or pieces > best[0]:
                best = (pieces, index)
    if best is None or best[0] < 2:
        return SplitAdvice(split=False, value=next(iter(values), None))
    (value,) = values
    pieces, index = best
    where = "the image" if plane.axis is None else f"slice {index}"
    message = (
        f"The ground truth has one label value ({value}) for all objects, and {where} holds "
        f"{pieces} separate pieces of it (ISBI-style labels): each connected piece is evaluated "
        "as its own object. Uncheck 'split into connected components' to evaluate each slice's "
        "whole label as one object."
    )
    return SplitAdvice(split=True, value=value, slice=index, pieces=pieces, message=message)
