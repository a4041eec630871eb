"""A zarr (or OME-Zarr) image volume and its labels volume as evaluation objects, read lazily.

ssTEM stacks are often larger than memory. ``zarr:<image.zarr>`` with ``labels=<labels.zarr>``
(relative to the image store's folder, or absolute) opens both with
:func:`~napari_clickseg.io.zarr_volumes.open_lazy_volume` and reads one slice (along axis 0) at
a time: scanning counts objects from the label slices alone, and an image slice is read only when
its objects are evaluated. Each nonzero label value of a slice is an object, named
``z<index>/label<value>``; with ``split_components=True`` each 4-connected piece of it
(``.../part<k>``), for ISBI-style labels where one value marks every cell. Non-uint8 image slices
are windowed to 8 bits at their own 0.5-99.5 percentiles (the volume is never read whole).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from napari_clickseg.data._pixels import components_4
from napari_clickseg.data.instances import Dataset, DatasetError, EvalObject, SkippedObject
from napari_clickseg.data.windowing import window_to_uint8
from napari_clickseg.io.zarr_volumes import is_zarr_path, open_lazy_volume

__all__ = ["ZarrStackDataset"]


class ZarrStackDataset(Dataset):
    """Objects of a lazily read zarr image volume and its labels volume.

    Parameters
    ----------
    root : str or pathlib.Path
        The image volume's zarr store (3D, slices along axis 0).
    labels : str
        The labels volume's zarr store: relative to ``root``'s folder, or absolute.
    slices : int or sequence of int, optional
        Slice indices (axis 0) to use; default all.
    split_components : bool
        One object per 4-connected piece of a label value in a slice.
    min_pixels : int
        Objects with fewer pixels are skipped.
    name : str, optional
        Data set name (default: the image store's name).
    """

    def __init__(
        self,
        root: str | Path,
        labels: str | None = None,
        slices: int | Sequence[int] | None = None,
        split_components: bool = False,
        min_pixels: int = 1,
        name: str | None = None,
    ) -> None:
        root = Path(root)
        super().__init__(name or root.stem)
        if labels is None:
            raise DatasetError(
                f"zarr data set {root}: name its labels volume, e.g. --data-option "
                "labels=labels.zarr (relative to the image store's folder, or absolute)"
            )
        labels_path = Path(labels) if Path(labels).is_absolute() else root.parent / labels
        self.image = open_lazy_volume(root).data
        self.labels = open_lazy_volume(labels_path).data
        if self.image.ndim != 3 or tuple(self.labels.shape) != tuple(self.image.shape):
            raise DatasetError(
                f"zarr data set: image {root} has shape {tuple(self.image.shape)} and labels "
                f"{labels_path} {tuple(self.labels.shape)}; expected two 3D volumes of one shape"
            )
        if not np.issubdtype(self.labels.dtype, np.integer):
            raise DatasetError(f"zarr labels {labels_path} hold {self.labels.dtype}, not integers")
        count = self.image.shape[0]
        chosen = range(count) if slices is None else np.atleast_1d(slices).tolist()
        bad = [s for s in chosen if not 0 <= int(s) < count]
        if bad:
            raise DatasetError(f"zarr slices {bad} lie outside 0..{count - 1}")
        self.slices = tuple(int(s) for s in chosen)
        self.split_components = bool(split_components)
        self.min_pixels = int(min_pixels)

    @staticmethod
    def matches(root: str | Path) -> bool:
        """Whether ``root`` is a zarr store (the labels must still be named)."""
        return is_zarr_path(Path(root))

    def _sources(self) -> Sequence[int]:
        return self.slices

    def _pieces(self, index: int) -> Iterator[tuple[str, np.ndarray] | SkippedObject]:
        plane = np.asarray(self.labels[index])
        for value in (int(v) for v in np.unique(plane) if v != 0):
            mask = plane == value
            if self.split_components:
                parts, n = components_4(mask)
                pieces = [(f"/part{k}", parts == k) for k in range(1, n + 1)]
            else:
                pieces = [("", mask)]
            for suffix, piece in pieces:
                name = f"z{index}/label{value}{suffix}"
                if np.count_nonzero(piece) < self.min_pixels:
                    yield SkippedObject(name, self.name, f"fewer than {self.min_pixels} pixels")
                else:
                    yield name, piece

    def _scan(self, index: int) -> tuple[int, tuple[SkippedObject, ...]]:
        items = list(self._pieces(index))
        skipped = tuple(i for i in items if isinstance(i, SkippedObject))
        return len(items) - len(skipped), skipped

    def _load(self, index: int) -> Iterator[EvalObject | SkippedObject]:
        image = None
        for item in self._pieces(index):
            if isinstance(item, SkippedObject):
                yield item
                continue
            if image is None:
                image = _to_uint8(np.asarray(self.image[index]))
                image.flags.writeable = False
            name, piece = item
            yield EvalObject(
                name=name,
                image=image,
                gt=piece.astype(np.int8),
                source=f"{self.name}[{index}]",
                meta={"slice": index},
            )


def _to_uint8(plane: np.ndarray) -> np.ndarray:
    return plane if plane.dtype == np.uint8 else window_to_uint8(plane)
