"""Evaluation objects cut from napari layer data: an image volume and a ground-truth labels volume.

No Qt here: the evaluation dock reads its layers' arrays and settings and hands them to
:class:`LayerObjects`, an evaluation :class:`~napari_clickseg.data.instances.Dataset` like the
file adapters, so the dock runs exactly the engine's :func:`evaluate_dataset` on it.

Conventions, as napari shows the data:

- A 3D volume is cut into 2D slices along one array ``axis``; a slice keeps the other two axes
  in their array order (rows = the earlier axis), which is what napari displays when that
  axis is the slider. A 2D image is one slice (index 0).
- An object is one ground-truth label value in one slice (named ``slice<i>/label<v>``), or,
  with ``split_components``, each 4-connected piece of it (``slice<i>/label<v>/part<k>``, the
  ssTEM / ISBI rule). Pieces or labels with fewer than ``min_pixels`` pixels are skipped.
- The model sees uint8: uint8 layers as they are; other types windowed to 0..255 with
  :func:`~napari_clickseg.data.windowing.window_to_uint8` using one window for the whole
  volume (the layer's contrast limits, or volume percentiles as the BraTS / OAI-ZIB adapters).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from napari_clickseg.data._pixels import components_4
from napari_clickseg.data.instances import Dataset, DatasetError, EvalObject, SkippedObject
from napari_clickseg.data.windowing import window_bounds, window_to_uint8

__all__ = [
    "WINDOWS",
    "LayerObjects",
    "check_layer_shapes",
    "image_window",
    "parse_labels",
    "slice_stack",
]

#: How a non-uint8 image becomes uint8: label -> (percentiles, voxels) or None for contrast limits.
WINDOWS: dict[str, tuple[tuple[float, float], str | None] | None] = {
    "contrast limits": None,
    "percentiles 0.5-99.5": ((0.5, 99.5), None),
    "nonzero percentiles": ((0.5, 99.5), "nonzero"),
}


def parse_labels(text: str) -> tuple[int, ...] | None:
    """Parse a label selection: ``"all"`` (or empty) or ids and ranges like ``"1, 3, 5-7"``.

    Returns
    -------
    tuple of int or None
        The sorted ids, or None for all labels.

    Raises
    ------
    ValueError
        For anything else, naming the part that is wrong.
    """
    text = text.strip().lower()
    if text in ("", "all"):
        return None
    ids: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        match = re.fullmatch(r"(\d+)\s*(?:-\s*(\d+))?", part)
        if not match:
            raise ValueError(
                f"object ids: cannot read {part!r}; write 'all' or ids and ranges like '1, 3, 5-7'"
            )
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        if last < first or first == 0:
            raise ValueError(
                f"object ids: {part!r} is not a valid id or range (ids start at 1, ranges go up)"
            )
        ids.update(range(first, last + 1))
    return tuple(sorted(ids))


def check_layer_shapes(
    image_shape: Sequence[int], rgb: bool, labels_shape: Sequence[int], names: tuple[str, str]
) -> tuple[int, ...]:
    """Check that an image and a labels layer cover the same pixels; return the spatial shape.

    Parameters
    ----------
    image_shape : sequence of int
        The image data's shape (with a trailing colour axis when ``rgb``).
    rgb : bool
        Whether the image is RGB(A).
    labels_shape : sequence of int
        The labels data's shape.
    names : tuple of str
        (image name, labels name), for messages.

    Raises
    ------
    ValueError
        If the image is not 2D or 3D, or the shapes differ.
    """
    spatial = tuple(image_shape[:-1] if rgb else image_shape)
    if len(spatial) not in (2, 3):
        raise ValueError(
            f"image {names[0]!r} has {len(spatial)} spatial dimensions {spatial}; the evaluation "
            "takes a 2D image or a 3D volume"
        )
    if tuple(labels_shape) != spatial:
        raise ValueError(
            f"image {names[0]!r} has shape {spatial} but ground truth {names[1]!r} has shape "
            f"{tuple(labels_shape)}; they must match pixel for pixel"
        )
    return spatial


def slice_stack(volume: np.ndarray, axis: int | None) -> np.ndarray:
    """The volume as (slices, rows, cols[, colour]) along ``axis``; a 2D image is one slice."""
    return volume[None] if axis is None else np.moveaxis(volume, axis, 0)


def image_window(
    image: np.ndarray, how: str, contrast_limits: Sequence[float] | None = None
) -> tuple[float, float] | None:
    """The (low, high) window mapping a non-uint8 image to uint8, or None for uint8 images.

    Parameters
    ----------
    image : numpy.ndarray
        The whole image or volume.
    how : str
        A key of :data:`WINDOWS`.
    contrast_limits : sequence of float, optional
        The layer's contrast limits (needed for ``"contrast limits"``).
    """
    if np.asarray(image).dtype == np.uint8:
        return None
    if how not in WINDOWS:
        raise ValueError(f"window must be one of {list(WINDOWS)}, got {how!r}")
    rule = WINDOWS[how]
    if rule is None:
        if contrast_limits is None:  # "contrast limits": the layer's display window
            raise ValueError("the layer's contrast limits are needed for this window")
        low, high = (float(v) for v in contrast_limits)
        return low, high
    percentiles, voxels = rule
    return window_bounds(np.asarray(image), percentiles, mask=voxels)


class LayerObjects(Dataset):
    """Evaluation objects from an image and a ground-truth labels array (see the module notes).

    Parameters
    ----------
    image : numpy.ndarray
        (Y, X), (Y, X, 3), (Z, Y, X) or (Z, Y, X, 3) (``rgb``), any numeric type.
    labels : numpy.ndarray
        Integer labels of the image's spatial shape, 0 background.
    axis : int
        Array axis of a volume the slices are taken along (ignored for 2D).
    slices : sequence of int, optional
        Slice indices to use (default: all), in ascending order.
    labels_wanted : sequence of int, optional
        Label values that are objects (default: every nonzero value).
    split_components : bool
        One object per 4-connected piece of a label in a slice.
    min_pixels : int
        Objects with fewer pixels are skipped.
    window : tuple of float, optional
        (low, high) for non-uint8 images (see :func:`image_window`); required for them.
    rgb : bool
        Whether the image has a trailing colour axis.
    name : str
        Data set name.
    """

    def __init__(
        self,
        image: np.ndarray,
        labels: np.ndarray,
        axis: int = 0,
        slices: Sequence[int] | None = None,
        labels_wanted: Sequence[int] | None = None,
        split_components: bool = False,
        min_pixels: int = 1,
        window: tuple[float, float] | None = None,
        rgb: bool = False,
        name: str = "layers",
    ) -> None:
        super().__init__(name)
        spatial = check_layer_shapes(image.shape, rgb, labels.shape, ("image", "ground truth"))
        if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool):
            raise ValueError(f"ground truth must hold integer labels, got type {labels.dtype}")
        self.axis = None if len(spatial) == 2 else int(axis)
        if self.axis is not None and self.axis not in (0, 1, 2):
            raise ValueError(f"axis must be 0, 1 or 2 for a 3D volume, got {axis!r}")
        self._image = slice_stack(image, self.axis)
        self._labels = slice_stack(labels, self.axis)
        count = self._labels.shape[0]
        self.slices = tuple(range(count)) if slices is None else tuple(int(s) for s in slices)
        bad = [s for s in self.slices if not 0 <= s < count]
        if bad or not self.slices:
            raise ValueError(
                f"slice range must lie in 0..{count - 1} (the volume's axis {self.axis}), got "
                f"{self.slices[:1] + self.slices[-1:] if self.slices else 'nothing'}"
            )
        self.labels_wanted = None if labels_wanted is None else tuple(int(v) for v in labels_wanted)
        self.split_components = bool(split_components)
        self.min_pixels = int(min_pixels)
        if image.dtype != np.uint8 and window is None:
            raise ValueError(f"a {image.dtype} image needs a window (low, high) to become uint8")
        self.window = window

    # -- Dataset ---------------------------------------------------------------------------
    def _sources(self) -> Sequence[int]:
        return self.slices

    def _pieces(self, index: int) -> Iterator[tuple[str, np.ndarray, dict] | SkippedObject]:
        plane = np.asarray(self._labels[index])
        values = [int(v) for v in np.unique(plane) if v != 0]
        if self.labels_wanted is not None:
            values = [v for v in values if v in self.labels_wanted]
        for value in values:
            mask = plane == value
            if self.split_components:
                parts, count = components_4(mask)
                pieces = [(f"/part{k}", parts == k, k) for k in range(1, count + 1)]
            else:
                pieces = [("", mask, None)]
            for suffix, piece, part in pieces:
                name = f"slice{index}/label{value}{suffix}"
                area = int(np.count_nonzero(piece))
                if area < self.min_pixels:
                    reason = f"{area} pixels (fewer than {self.min_pixels})"
                    yield SkippedObject(name, self.name, reason)
                    continue
                meta = {"axis": self.axis, "slice": index, "label": value, "part": part}
                yield name, piece, meta

    def _scan(self, index: int) -> tuple[int, tuple[SkippedObject, ...]]:
        items = list(self._pieces(index))
        skipped = tuple(i for i in items if isinstance(i, SkippedObject))
        return len(items) - len(skipped), skipped

    def _load(self, index: int) -> Iterator[EvalObject | SkippedObject]:
        image: np.ndarray | None = None
        for item in self._pieces(index):
            if isinstance(item, SkippedObject):
                yield item
                continue
            if image is None:
                image = self._slice_image(index)
            name, piece, meta = item
            yield EvalObject(
                name=name, image=image, gt=piece.astype(np.int8), source=self.name, meta=meta
            )

    def _slice_image(self, index: int) -> np.ndarray:
        plane = np.asarray(self._image[index])
        if self.window is not None:
            plane = window_to_uint8(plane, *self.window)
        image = np.ascontiguousarray(plane)
        image.flags.writeable = False
        return image

    def _no_objects(self, skipped: Sequence[SkippedObject]) -> DatasetError:
        if self.axis is None:
            where = "the image"
        else:
            where = f"slices {self.slices[0]}..{self.slices[-1]} along axis {self.axis}"
        if self.labels_wanted is None:
            which = "no nonzero label"
        else:
            which = f"none of the labels {list(self.labels_wanted)}"
        detail = (
            f" ({len(skipped)} smaller than {self.min_pixels} pixels left out)" if skipped else ""
        )
        return DatasetError(
            f"no objects to evaluate: the ground truth has {which} in {where}{detail}"
        )

    def describe(self) -> dict[str, Any]:
        """The selection as plain values (for reports)."""
        return {
            "axis": self.axis,
            "slices": (self.slices[0], self.slices[-1]),
            "labels": self.labels_wanted,
            "split_components": self.split_components,
            "min_pixels": self.min_pixels,
            "window": self.window,
        }
