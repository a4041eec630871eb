"""OAI-ZIB knee MRI: femoral and tibial cartilage as 2D evaluation objects.

Two layouts are read:

* **Volumes** (NIfTI): ``<root>/image/<id>.nii.gz`` + ``<root>/mask/<id>.nii.gz`` (``.nii`` also
  accepted), one pair per knee, matched by ``<id>``. Mask labels follow ``labels``: ``"zib"``, the
  ZIB scheme (1 femoral bone, 2 femoral cartilage, 3 tibial bone, 4 tibial cartilage; cartilage
  2 and 4 are the objects), or ``"cartilage"`` (1 femoral, 2 tibial cartilage, as in cartilage-only
  masks and :func:`napari_clickseg.data.synthetic.make_knee_mri`), or a mapping name -> value.
  Slices follow the iSegFormer protocol: sagittal slices 40, 80 and 120, each cartilage kept as an
  object if it has more than 20 pixels in that slice; the rest are listed in ``skipped``. Each
  image volume is windowed to uint8 at its 0.5-99.5 percentiles over all voxels (knee MRI is not
  skull-stripped; the official slices were a raw cast of the DICOM values, which the NIfTI route
  cannot reproduce). Objects are named ``<id>/<axis letter><slice>/<label name>``; slices follow
  the orientation of :mod:`napari_clickseg.data._volumes`.
* **Official 2D slices**: ``<root>/<split>/image/*.png`` + ``<root>/<split>/annotations/*.png``
  (SimpleClick's ``OAIZIBDataset``): every distinct nonzero mask value is an object
  (:class:`napari_clickseg.data.folders.OfficialSlicesDataset` semantics).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from napari_clickseg.data._files import describe_folder, file_stem, pair_by_stem, require_folder
from napari_clickseg.data._volumes import (
    AXIS_LETTERS,
    check_axis,
    check_shapes,
    slice_spacing,
    take_slice,
)
from napari_clickseg.data.folders import official_slice_count, official_slice_objects
from napari_clickseg.data.instances import Dataset, DatasetError, EvalObject, SkippedObject
from napari_clickseg.data.windowing import window_bounds, window_to_uint8
from napari_clickseg.io.nifti import NIFTI_SUFFIXES, read_nifti

__all__ = ["ISEG_SLICES", "LABEL_SCHEMES", "OaiZibDataset"]

#: Object name -> mask value for the known label schemes.
LABEL_SCHEMES: dict[str, dict[str, int]] = {
    "zib": {"femoral": 2, "tibial": 4},
    "cartilage": {"femoral": 1, "tibial": 2},
}
#: Sagittal slices of the iSegFormer OAI-ZIB test protocol.
ISEG_SLICES = (40, 80, 120)


def _volume(path: Path) -> tuple[np.ndarray, tuple[float, float, float]]:
    """3D data (trailing length-1 axes dropped) and voxel spacing of a NIfTI file."""
    vol = read_nifti(path)
    data = vol.data
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise DatasetError(f"OAI-ZIB volume {path} must be 3D, got shape {vol.data.shape}")
    return data, vol.spacing


class OaiZibDataset(Dataset):
    """OAI-ZIB knee MRI cartilage objects, from NIfTI volumes or the official 2D slices.

    Parameters
    ----------
    root : str or pathlib.Path
        Folder with ``image/`` + ``mask/`` NIfTI volumes, or with ``<split>/image/`` +
        ``<split>/annotations/`` PNG slices (module docstring).
    labels : "zib", "cartilage" or mapping of str to int, optional
        Mask values of the objects (volumes only).
    slices : int or sequence of int, optional
        Slice indices along ``axis`` (volumes only); indices beyond the volume are skipped.
    axis : int, optional
        Array axis (nibabel's order) across which the sagittal slices are taken (volumes only).
    min_pixels : int, optional
        A cartilage needs more than this many pixels in a slice to be an object (volumes only).
    percentiles : tuple of float, optional
        Window percentiles over each image volume (volumes only).
    split : str, optional
        Sub-folder of the official 2D layout.
    name : str, optional
        Data set name (default ``"OAI-ZIB"``).
    """

    def __init__(
        self,
        root: str | Path,
        labels: str | Mapping[str, int] = "zib",
        slices: int | Sequence[int] = ISEG_SLICES,
        axis: int = 2,
        min_pixels: int = 20,
        percentiles: tuple[float, float] = (0.5, 99.5),
        split: str = "test",
        name: str = "OAI-ZIB",
    ) -> None:
        super().__init__(name)
        root = require_folder(root, "OAI-ZIB")
        self.root = root
        self.labels = self._check_labels(labels)
        self.slices = (int(slices),) if isinstance(slices, int) else tuple(int(i) for i in slices)
        if not self.slices or min(self.slices) < 0:
            raise ValueError(f"OAI-ZIB slices must be non-negative indices, got {slices!r}")
        self.axis = check_axis(axis, "OAI-ZIB")
        self.min_pixels = int(min_pixels)
        self.percentiles = percentiles
        if (root / "image").is_dir() and (root / "mask").is_dir():
            self.layout = "volumes"
            self.pairs = pair_by_stem(
                root / "image", root / "mask", f"OAI-ZIB {root}", NIFTI_SUFFIXES, NIFTI_SUFFIXES
            )
        elif (root / split / "image").is_dir() and (root / split / "annotations").is_dir():
            self.layout = "slices"
            self.pairs = pair_by_stem(
                root / split / "image", root / split / "annotations", f"OAI-ZIB {root / split}"
            )
        else:
            raise DatasetError(
                f"OAI-ZIB: {root} matches no known layout: expected image/ + mask/ (NIfTI "
                f"volumes) or {split}/image/ + {split}/annotations/ (official PNG slices); "
                f"found: {describe_folder(root)}"
            )

    @staticmethod
    def matches(root: str | Path, split: str = "test") -> bool:
        """Whether ``root`` has ``image/`` + ``mask/`` or ``<split>/image/`` + ``annotations/``."""
        root = Path(root)
        if (root / "image").is_dir() and (root / "mask").is_dir():
            return True
        return (root / split / "image").is_dir() and (root / split / "annotations").is_dir()

    @staticmethod
    def _check_labels(labels: str | Mapping[str, int]) -> dict[str, int]:
        if isinstance(labels, str):
            if labels not in LABEL_SCHEMES:
                raise ValueError(
                    f"OAI-ZIB labels must be one of {', '.join(LABEL_SCHEMES)} or a mapping "
                    f"name -> mask value, got {labels!r}"
                )
            return dict(LABEL_SCHEMES[labels])
        scheme = dict(labels)
        if not scheme or not all(isinstance(v, int) and v > 0 for v in scheme.values()):
            raise ValueError(f"OAI-ZIB labels mapping needs positive int values, got {labels!r}")
        return scheme

    def _sources(self) -> Sequence[tuple[Path, Path]]:
        return self.pairs

    # ---------------------------------------------------------------------------------------

    def _choose(self, case: str, mask: np.ndarray) -> Iterator[tuple[int, str] | SkippedObject]:
        """(slice, label name) of each object, or a skip record, in order."""
        n = mask.shape[self.axis]
        letter = AXIS_LETTERS[self.axis]
        for i in self.slices:
            if i >= n:
                reason = f"slice {i} is outside the volume (axis {self.axis} has {n} slices)"
                yield SkippedObject(f"{case}/{letter}{i}", case, reason)
                continue
            plane = take_slice(mask, self.axis, i)
            for label, value in self.labels.items():
                count = int(np.count_nonzero(plane == value))
                if count > self.min_pixels:
                    yield i, label
                else:
                    reason = f"{count} pixels of label {value} (need more than {self.min_pixels})"
                    yield SkippedObject(f"{case}/{letter}{i}/{label}", case, reason)

    def _scan(self, pair: tuple[Path, Path]) -> tuple[int, tuple[SkippedObject, ...]]:
        if self.layout == "slices":
            return official_slice_count(pair[0], pair[1], "labels")
        items = list(self._choose(file_stem(pair[0]), _volume(pair[1])[0]))
        skipped = tuple(x for x in items if isinstance(x, SkippedObject))
        return len(items) - len(skipped), skipped

    def _load(self, pair: tuple[Path, Path]) -> Iterator[EvalObject | SkippedObject]:
        if self.layout == "slices":
            yield from official_slice_objects(pair[0], pair[1], "labels")
            return
        image_path, mask_path = pair
        case = file_stem(image_path)
        mask, _ = _volume(mask_path)
        items = list(self._choose(case, mask))
        if all(isinstance(x, SkippedObject) for x in items):
            yield from items
            return
        volume, spacing_3d = _volume(image_path)
        check_shapes(volume.shape, mask.shape, str(image_path), str(mask_path))
        window = window_bounds(volume, self.percentiles)
        spacing = slice_spacing(spacing_3d, self.axis)
        letter = AXIS_LETTERS[self.axis]
        images: dict[int, np.ndarray] = {}
        for item in items:
            if isinstance(item, SkippedObject):
                yield item
                continue
            i, label = item
            if i not in images:
                image = np.ascontiguousarray(
                    window_to_uint8(take_slice(volume, self.axis, i), *window)
                )
                image.flags.writeable = False
                images = {i: image}
            gt = (take_slice(mask, self.axis, i) == self.labels[label]).astype(np.int8)
            yield EvalObject(
                name=f"{case}/{letter}{i}/{label}",
                image=images[i],
                gt=np.ascontiguousarray(gt),
                source=str(image_path),
                meta={
                    "case": case,
                    "axis": self.axis,
                    "slice": i,
                    "label": label,
                    "value": self.labels[label],
                    "window": window,
                    "spacing": spacing,
                },
            )
