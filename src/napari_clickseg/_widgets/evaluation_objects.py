"""Evaluation objects cut from napari layer data: image volume(s) and a ground-truth labels volume.

No Qt here: the evaluation dock reads its layers and hands them to :class:`LayerObjects`, an
evaluation :class:`~napari_clickseg.data.instances.Dataset` like the file adapters, so the dock
runs exactly the engine's :func:`evaluate_dataset` on it.

Conventions, as napari shows the data:

- A 3D volume is cut into 2D slices along one array ``axis``
  (:meth:`~napari_clickseg.engine.planes.Plane.canonical`: the other two axes keep their array
  order, rows = the earlier one), which is what napari displays when that axis is the slider.
  A 2D image is one slice (index 0).
- An object is one ground-truth label value in one slice (named ``slice<i>/label<v>``), or,
  with ``split_components``, each 4-connected piece of it (``slice<i>/label<v>/part<k>``, the
  ssTEM / ISBI rule). Pieces or labels with fewer than ``min_pixels`` pixels are skipped.
- The model sees what the annotation dock gives it for the same layers: the
  :class:`~napari_clickseg.engine.channel_input.ModelInput` of one grayscale source or of three
  sources mapped to R, G, B, each windowed to uint8 once per volume.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from napari_clickseg.data._pixels import components_4
from napari_clickseg.data.instances import Dataset, DatasetError, EvalObject, SkippedObject
from napari_clickseg.engine.channel_input import ChannelSource, ModelInput
from napari_clickseg.engine.planes import Plane

__all__ = ["LayerObjects", "as_model_input", "check_layer_shapes", "parse_labels"]


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
    spatial_shape: Sequence[int], labels_shape: Sequence[int], names: tuple[str, str]
) -> tuple[int, ...]:
    """Check that an image and a labels layer cover the same pixels; return the spatial shape.

    Parameters
    ----------
    spatial_shape : sequence of int
        The image's spatial shape (without a colour axis).
    labels_shape : sequence of int
        The labels data's shape.
    names : tuple of str
        (image name, labels name), for messages.

    Raises
    ------
    ValueError
        If the image is not 2D or 3D, or the shapes differ.
    """
    spatial = tuple(int(n) for n in spatial_shape)
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


def as_model_input(image: np.ndarray | ModelInput, rgb: bool = False) -> ModelInput:
    """A :class:`ModelInput` for an array: grayscale, or its first 3 channels with ``rgb``."""
    if isinstance(image, ModelInput):
        return image
    image = np.asarray(image)
    if rgb:
        return ModelInput([ChannelSource(image, c, f"channel {c}") for c in range(3)])
    return ModelInput([ChannelSource(image, None, "image")])


class LayerObjects(Dataset):
    """Evaluation objects from image data and a ground-truth labels array (see the module notes).

    Parameters
    ----------
    image : ModelInput or numpy.ndarray
        The model input (from the dock's channel choice), or an array: (Y, X) or (Z, Y, X)
        grayscale, or with ``rgb`` a trailing colour axis; any numeric type.
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
    rgb : bool
        For an array ``image``: whether it has a trailing colour axis.
    name : str
        Data set name.
    """

    def __init__(
        self,
        image: np.ndarray | ModelInput,
        labels: np.ndarray,
        axis: int = 0,
        slices: Sequence[int] | None = None,
        labels_wanted: Sequence[int] | None = None,
        split_components: bool = False,
        min_pixels: int = 1,
        rgb: bool = False,
        name: str = "layers",
    ) -> None:
        super().__init__(name)
        self.model_input = as_model_input(image, rgb)
        spatial = check_layer_shapes(
            self.model_input.spatial_shape, labels.shape, ("image", "ground truth")
        )
        if not (np.issubdtype(labels.dtype, np.integer) or labels.dtype == bool):
            raise ValueError(f"ground truth must hold integer labels, got type {labels.dtype}")
        if len(spatial) == 3 and (isinstance(axis, bool) or axis not in (0, 1, 2)):
            raise ValueError(f"axis must be 0, 1 or 2 for a 3D volume, got {axis!r}")
        self.axis = None if len(spatial) == 2 else int(axis)
        self.plane = Plane.canonical(len(spatial), self.axis)
        self._labels = labels
        count = self.plane.slice_count(spatial)
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

    # -- Dataset ---------------------------------------------------------------------------
    def _sources(self) -> Sequence[int]:
        return self.slices

    def _pieces(self, index: int) -> Iterator[tuple[str, np.ndarray, dict] | SkippedObject]:
        plane = np.asarray(self.plane.take(self._labels, index))
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
        image = self.model_input.image(self.plane, index)
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
            "inputs": [source.name for source in self.model_input.sources],
        }
