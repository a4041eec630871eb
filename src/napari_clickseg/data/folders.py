"""2D image/mask folders: natural-image benchmarks and the official pre-sliced medical sets.

:class:`ImageMaskFolder` reads one object per image from

* the GrabCut layout ``data_GT/<stem>.{jpg,bmp,...}`` + ``boundary_GT/<stem>.bmp``,
* the Berkeley layout, or any plain folder, ``images/<stem>.*`` + ``masks/<stem>.*``,
* RITM's DAVIS and COCO_MVal layout ``img/<stem>.jpg`` + ``gt/<stem>.png``, whose masks are
  binary with any nonzero value the object (RITM's ``DavisDataset``: ``mask > 0``; DAVIS stores
  the object as 128), so ``"auto"`` reads them with ``"binary"``.

Masks are read like RITM/SimpleClick (``cv2.imread(path)[:, :, 0]``). With ``mask_rule="trimap"``
(GrabCut, Berkeley): 128 is ignore (-1), values above 128 are the object, the rest background.
``"binary"``: every nonzero value is the object. ``"auto"`` (default) uses ``"binary"`` for a mask
whose values are all 0 or 1 and ``"trimap"`` otherwise, so 0/1 and 0/255 masks both work.

:class:`OfficialSlicesDataset` reads the pre-sliced medical sets of SimpleClick:

* ``image/*.png`` + ``annotation/*.png`` (BraTS): ``mask > 0`` is one object per image;
* ``image/*.png`` + ``annotations/*.png`` (OAI-ZIB): each distinct nonzero value is an object.

Images are read like the official loaders but grayscale stays (H, W) (see
:mod:`napari_clickseg.data._pixels`); pairs are matched by stem, in natural order of the image
names. Empty masks are skipped (:attr:`~napari_clickseg.data.instances.Dataset.skipped`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from napari_clickseg.data._files import describe_folder, file_stem, pair_by_stem, require_folder
from napari_clickseg.data._pixels import (
    check_same_shape,
    mask_plane,
    read_slice_image,
    read_slice_mask,
)
from napari_clickseg.data.instances import Dataset, DatasetError, EvalObject, SkippedObject
from napari_clickseg.io.images import read_image

__all__ = [
    "FOLDER_LAYOUTS",
    "SLICE_LAYOUTS",
    "ImageMaskFolder",
    "OfficialSlicesDataset",
    "trimap_to_gt",
]

#: (image folder, mask folder, name) of the layouts :class:`ImageMaskFolder` reads.
FOLDER_LAYOUTS = (
    ("data_GT", "boundary_GT", "GrabCut"),
    ("images", "masks", "image/mask"),
    ("img", "gt", "RITM img/gt (DAVIS, COCO_MVal)"),
)
#: (image folder, mask folder, mode) of the layouts :class:`OfficialSlicesDataset` reads.
SLICE_LAYOUTS = (("image", "annotation", "binary"), ("image", "annotations", "labels"))

_MASK_RULES = ("auto", "trimap", "binary")


def trimap_to_gt(mask: np.ndarray, rule: str = "auto") -> np.ndarray:
    """Ground truth (int8: 1 object, 0 background, -1 ignore) from a 2D mask plane.

    Parameters
    ----------
    mask : numpy.ndarray
        Integer (H, W) mask values.
    rule : {"auto", "trimap", "binary"}, optional
        See the module docstring.

    Returns
    -------
    numpy.ndarray
        int8 (H, W).
    """
    if rule not in _MASK_RULES:
        raise ValueError(f"mask_rule must be one of {', '.join(_MASK_RULES)}, got {rule!r}")
    if rule == "auto":
        rule = "binary" if mask.size == 0 or mask.max() <= 1 else "trimap"
    if rule == "binary":
        return (mask != 0).astype(np.int8)
    gt = (mask > 128).astype(np.int8)
    gt[mask == 128] = -1
    return gt


def _find_layout(
    root: Path, layouts: Sequence[tuple[str, str, str]], what: str
) -> tuple[Path, Path, str]:
    for image_dir, mask_dir, tag in layouts:
        if (root / image_dir).is_dir() and (root / mask_dir).is_dir():
            return root / image_dir, root / mask_dir, tag
    expected = " or ".join(f"{i}/ + {m}/" for i, m, _ in layouts)
    raise DatasetError(
        f"{what}: {root} matches no known layout: expected sub-folders {expected}; found: "
        f"{describe_folder(root)}"
    )


def _read_mask(mask_path: Path, channel_max: bool) -> np.ndarray:
    """The mask plane; with ``channel_max`` the largest value over colour channels (RITM)."""
    if channel_max:
        mask = read_image(mask_path)
        if mask.ndim == 3:
            mask = mask[:, :, :3].max(axis=2)
        return mask_plane(mask, str(mask_path))
    return read_slice_mask(mask_path)


def _read_pair(
    image_path: Path, mask_path: Path, channel_max: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    image = read_slice_image(image_path)
    mask = _read_mask(mask_path, channel_max)
    check_same_shape(image, mask, str(image_path), str(mask_path))
    image.flags.writeable = False
    return image, mask


class ImageMaskFolder(Dataset):
    """One object per image from an image folder and a mask folder (GrabCut, Berkeley, plain).

    Parameters
    ----------
    root : str or pathlib.Path
        Folder holding ``data_GT/`` + ``boundary_GT/`` or ``images/`` + ``masks/``.
    mask_rule : {"auto", "trimap", "binary"}, optional
        How mask values become object / background / ignore (module docstring).
    name : str, optional
        Data set name (default: the folder's name).

    Notes
    -----
    Objects are named by the image stem, in natural order of the image file names.
    """

    def __init__(self, root: str | Path, mask_rule: str = "auto", name: str | None = None) -> None:
        root = require_folder(root, "image/mask folder")
        super().__init__(name or root.name)
        if mask_rule not in _MASK_RULES:
            raise ValueError(
                f"mask_rule must be one of {', '.join(_MASK_RULES)}, got {mask_rule!r}"
            )
        self.root, self.mask_rule = root, mask_rule
        image_dir, mask_dir, self.layout = _find_layout(root, FOLDER_LAYOUTS, "image/mask folder")
        # RITM's DAVIS / COCO_MVal loader: np.max(cv2.imread(mask), axis=2) > 0
        self._channel_max = image_dir.name == "img" and mask_dir.name == "gt"
        if mask_rule == "auto" and self._channel_max:
            self.mask_rule = "binary"
        self.pairs = pair_by_stem(image_dir, mask_dir, f"image/mask folder {root}")

    @staticmethod
    def matches(root: str | Path) -> bool:
        """Whether ``root`` has one of the :data:`FOLDER_LAYOUTS` sub-folder pairs."""
        root = Path(root)
        return any((root / i).is_dir() and (root / m).is_dir() for i, m, _ in FOLDER_LAYOUTS)

    def _sources(self) -> Sequence[tuple[Path, Path]]:
        return self.pairs

    def _load(self, pair: tuple[Path, Path]) -> Iterator[EvalObject | SkippedObject]:
        image_path, mask_path = pair
        image, mask = _read_pair(image_path, mask_path, self._channel_max)
        gt = trimap_to_gt(mask, self.mask_rule)
        stem = file_stem(image_path)
        if not (gt == 1).any():
            yield SkippedObject(stem, str(image_path), "empty ground truth")
            return
        yield EvalObject(
            name=stem,
            image=image,
            gt=gt,
            source=str(image_path),
            meta={"mask": str(mask_path), "layout": self.layout},
        )

    def _scan(self, pair: tuple[Path, Path]) -> tuple[int, tuple[SkippedObject, ...]]:
        image_path, mask_path = pair
        if (trimap_to_gt(_read_mask(mask_path, self._channel_max), self.mask_rule) == 1).any():
            return 1, ()
        return 0, (SkippedObject(file_stem(image_path), str(image_path), "empty ground truth"),)


def _slice_values(mask: np.ndarray, mode: str) -> list[int]:
    if mode == "binary":
        return [1] if (mask > 0).any() else []
    return [int(v) for v in np.unique(mask) if v != 0]


def official_slice_objects(
    image_path: Path, mask_path: Path, mode: str
) -> Iterator[EvalObject | SkippedObject]:
    """Objects of one official pre-sliced image.

    Parameters
    ----------
    image_path, mask_path : pathlib.Path
        The image and its mask.
    mode : {"binary", "labels"}
        "binary": ``mask > 0`` is one object named ``<stem>``; "labels": each distinct nonzero
        value is an object named ``<stem>/<value>``.

    Yields
    ------
    EvalObject or SkippedObject
        The objects, or one skip record for an empty mask.
    """
    image, mask = _read_pair(image_path, mask_path)
    stem = file_stem(image_path)
    values = _slice_values(mask, mode)
    if not values:
        yield SkippedObject(stem, str(image_path), "empty ground truth")
    for value in values:
        if mode == "binary":
            name, gt = stem, (mask > 0).astype(np.int8)
        else:
            name, gt = f"{stem}/{value}", (mask == value).astype(np.int8)
        yield EvalObject(
            name=name,
            image=image,
            gt=gt,
            source=str(image_path),
            meta={"mask": str(mask_path), "label": value},
        )


def official_slice_count(
    image_path: Path, mask_path: Path, mode: str
) -> tuple[int, tuple[SkippedObject, ...]]:
    """Object count and skip records of one official pre-sliced image, reading its mask only."""
    n = len(_slice_values(read_slice_mask(mask_path), mode))
    if n:
        return n, ()
    return 0, (SkippedObject(file_stem(image_path), str(image_path), "empty ground truth"),)


class OfficialSlicesDataset(Dataset):
    """SimpleClick's pre-sliced medical sets: BraTS (``annotation/``), OAI-ZIB (``annotations/``).

    Parameters
    ----------
    root : str or pathlib.Path
        Folder holding ``image/`` + ``annotation/`` (one object per image: ``mask > 0``) or
        ``image/`` + ``annotations/`` (one object per distinct nonzero value, named
        ``<stem>/<value>``).
    name : str, optional
        Data set name (default: the folder's name).
    """

    def __init__(self, root: str | Path, name: str | None = None) -> None:
        root = require_folder(root, "official slices")
        super().__init__(name or root.name)
        self.root = root
        image_dir, mask_dir, self.mode = _find_layout(root, SLICE_LAYOUTS, "official slices")
        self.pairs = pair_by_stem(image_dir, mask_dir, f"official slices {root}")

    @staticmethod
    def matches(root: str | Path) -> bool:
        """Whether ``root`` has one of the :data:`SLICE_LAYOUTS` sub-folder pairs."""
        root = Path(root)
        return any((root / i).is_dir() and (root / m).is_dir() for i, m, _ in SLICE_LAYOUTS)

    def _sources(self) -> Sequence[tuple[Path, Path]]:
        return self.pairs

    def _load(self, pair: tuple[Path, Path]) -> Iterator[EvalObject | SkippedObject]:
        return official_slice_objects(pair[0], pair[1], self.mode)

    def _scan(self, pair: tuple[Path, Path]) -> tuple[int, tuple[SkippedObject, ...]]:
        return official_slice_count(pair[0], pair[1], self.mode)
