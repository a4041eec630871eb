"""ISBI 2012 EM segmentation challenge (ssTEM, Drosophila larva VNC): cells as objects.

Two layouts are read:

* ``<root>/image/N.png`` + ``<root>/label/N.png`` (the PNG export in ``zhixuhao/unet``);
  slice number N is the integer in the file name and slices go in numeric order (2 before 10);
* ``<root>/train-volume.tif`` + ``<root>/train-labels.tif`` (the challenge's TIFF stacks);
  slice number N is the page index.

Labels are 255 inside cells and 0 on membranes; the cells of a slice are the 4-connected
components of ``label > 127``, in the order of their first pixel in a row-major scan, named
``<N>/cell<k>`` (k = 1, 2, ...). ``min_area`` (default 0: every component, as in the official
protocol where tiny fragments are real objects) drops smaller components into ``skipped``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from napari_clickseg.data._files import describe_folder, file_stem, pair_by_stem, require_folder
from napari_clickseg.data._pixels import (
    check_same_shape,
    components_4,
    image_to_uint8,
    mask_plane,
    read_slice_image,
    read_slice_mask,
)
from napari_clickseg.data.instances import Dataset, DatasetError, EvalObject, SkippedObject
from napari_clickseg.io.images import read_tiff_page, tiff_page_count

__all__ = ["IsbiEmDataset"]

_STACKS = ("train-volume.tif", "train-labels.tif")


@dataclass(frozen=True)
class _Slice:
    """One slice: its number and where its image and label come from."""

    number: int
    image: Path
    label: Path
    page: int | None = None  # page of a TIFF stack, None for PNG files

    @property
    def source(self) -> str:
        return str(self.image) if self.page is None else f"{self.image}[{self.page}]"


class IsbiEmDataset(Dataset):
    """ISBI 2012 EM slices with one object per cell (4-connected component of the label).

    Parameters
    ----------
    root : str or pathlib.Path
        Folder with ``image/`` + ``label/`` PNGs or the two TIFF stacks (module docstring).
    slices : int or sequence of int, optional
        Slice numbers to use (all by default), taken in the data set's numeric order.
    min_area : int, optional
        Components with fewer pixels are skipped (0 keeps all).
    name : str, optional
        Data set name (default ``"ISBI2012"``).
    """

    def __init__(
        self,
        root: str | Path,
        slices: int | Sequence[int] | None = None,
        min_area: int = 0,
        name: str = "ISBI2012",
    ) -> None:
        super().__init__(name)
        root = require_folder(root, "ISBI 2012")
        self.root = root
        if int(min_area) < 0:
            raise ValueError(f"ISBI min_area must be >= 0, got {min_area!r}")
        self.min_area = int(min_area)
        all_slices = self._list_slices(root)
        if slices is None:
            self.slices = all_slices
        else:
            by_number = {s.number: s for s in all_slices}
            wanted = sorted({int(i) for i in ([slices] if isinstance(slices, int) else slices)})
            missing = [i for i in wanted if i not in by_number]
            if missing or not wanted:
                numbers = [s.number for s in all_slices]
                raise DatasetError(
                    f"ISBI 2012: slice(s) {missing or slices} not in {root}; it has slices "
                    f"{numbers[0]}..{numbers[-1]} ({len(numbers)} in all)"
                )
            self.slices = [by_number[i] for i in wanted]

    @staticmethod
    def matches(root: str | Path) -> bool:
        """Whether ``root`` has ``image/`` + ``label/`` or the two TIFF stacks."""
        root = Path(root)
        pngs = (root / "image").is_dir() and (root / "label").is_dir()
        return pngs or all((root / f).is_file() for f in _STACKS)

    @staticmethod
    def _list_slices(root: Path) -> list[_Slice]:
        if (root / "image").is_dir() and (root / "label").is_dir():
            pairs = pair_by_stem(root / "image", root / "label", f"ISBI 2012 {root}")
            stems = [file_stem(i) for i, _ in pairs]
            if not all(s.isdigit() for s in stems):
                odd = [s for s in stems if not s.isdigit()][:5]
                raise DatasetError(
                    f"ISBI 2012: image names in {root / 'image'} must be slice numbers (N.png), "
                    f"found {', '.join(odd)}"
                )
            found = sorted(zip((int(s) for s in stems), pairs, strict=True))
            return [_Slice(n, i, m) for n, (i, m) in found]
        volume, labels = (root / f for f in _STACKS)
        if volume.is_file() and labels.is_file():
            n_img, n_lab = tiff_page_count(volume), tiff_page_count(labels)
            if n_img != n_lab:
                raise DatasetError(
                    f"ISBI 2012: {volume.name} has {n_img} pages but {labels.name} has {n_lab}; "
                    "expected one label page per image page"
                )
            return [_Slice(k, volume, labels, k) for k in range(n_img)]
        raise DatasetError(
            f"ISBI 2012: {root} matches no known layout: expected image/N.png + label/N.png or "
            f"{_STACKS[0]} + {_STACKS[1]}; found: {describe_folder(root)}"
        )

    def _sources(self) -> Sequence[_Slice]:
        return self.slices

    def _read_label(self, s: _Slice) -> np.ndarray:
        if s.page is None:
            return read_slice_mask(s.label)
        return mask_plane(read_tiff_page(s.label, s.page), f"{s.label}[{s.page}]")

    def _read_image(self, s: _Slice) -> np.ndarray:
        if s.page is None:
            return read_slice_image(s.image)
        return image_to_uint8(read_tiff_page(s.image, s.page), s.source)

    def _objects(self, s: _Slice) -> tuple[np.ndarray, list[int], list[SkippedObject]]:
        """Component labels, kept component ids and skip records of one slice."""
        labels, n = components_4(self._read_label(s) > 127)
        if n == 0:
            return labels, [], [SkippedObject(str(s.number), s.source, "no cell in the label")]
        areas = np.bincount(labels.ravel(), minlength=n + 1)
        kept = [k for k in range(1, n + 1) if areas[k] >= self.min_area]
        skipped = [
            SkippedObject(
                f"{s.number}/cell{k}", s.source, f"area {areas[k]} below min_area {self.min_area}"
            )
            for k in range(1, n + 1)
            if areas[k] < self.min_area
        ]
        return labels, kept, skipped

    def _scan(self, s: _Slice) -> tuple[int, tuple[SkippedObject, ...]]:
        _, kept, skipped = self._objects(s)
        return len(kept), tuple(skipped)

    def _load(self, s: _Slice) -> Iterator[EvalObject | SkippedObject]:
        labels, kept, skipped = self._objects(s)
        yield from skipped
        if not kept:
            return
        image = self._read_image(s)
        check_same_shape(image, labels, s.source, str(s.label))
        image.flags.writeable = False
        for k in kept:
            yield EvalObject(
                name=f"{s.number}/cell{k}",
                image=image,
                gt=(labels == k).astype(np.int8),
                source=s.source,
                meta={"slice": s.number, "component": k},
            )
