"""ssTEM stacks with organelle masks (SimpleClick's ``ssTEMDataset``).

Layout: ``<root>/raw/*.tif`` (8-bit sections) + ``<root>/<labels>/*.png`` (binary masks), matched
by stem; this is ``stack1/`` of the Drosophila VNC ground truth of Gerhard et al. Sections are
taken in natural order of their names (the plain sorted order for zero-padded names). Each
4-connected component of a mask's nonzero pixels is one object (the official
``cv2.connectedComponentsWithStats(mask, 4)``), in the order of its first pixel in a row-major
scan, named ``<stem>/<labels><k>`` (k = 1, 2, ...). A section without any component is listed
in ``skipped``.

The same reader serves other section folders with organelle masks: ``images`` may name any
folder (relative to ``root`` or absolute) and sections may be TIFF or PNG, e.g. the ISBI 2012
organelle labels, whose raw sections sit in the ISBI folder beside them
(``sstem:isbi2012_em_mito`` with ``images=../isbi2012_em/image``); :class:`EpflMitoDataset` is
the EPFL (Lucchi) layout ``image/`` + ``mitochondrion/``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from napari_clickseg.data._files import describe_folder, file_stem, pair_by_stem, require_folder
from napari_clickseg.data._pixels import (
    check_same_shape,
    components_4,
    read_slice_image,
    read_slice_mask,
)
from napari_clickseg.data.instances import Dataset, DatasetError, EvalObject, SkippedObject
from napari_clickseg.io.images import TIFF_SUFFIXES

__all__ = ["EpflMitoDataset", "SsTemDataset"]

_SECTION_SUFFIXES = (*TIFF_SUFFIXES, ".png")


class SsTemDataset(Dataset):
    """ssTEM sections with one object per 4-connected component of their masks.

    Parameters
    ----------
    root : str or pathlib.Path
        Folder holding ``raw/`` and the mask folder.
    labels : str, optional
        Name of the mask folder (``"mitochondria"`` in the official layout; ``"synapses"``,
        ``"membranes"`` etc. in the same source).
    images : str, optional
        The section folder: a name inside ``root``, a relative path from it, or an absolute
        path. Sections are TIFF or PNG files.
    name : str, optional
        Data set name (default ``"ssTEM"``).
    """

    def __init__(
        self,
        root: str | Path,
        labels: str = "mitochondria",
        images: str = "raw",
        name: str = "ssTEM",
    ) -> None:
        super().__init__(name)
        root = require_folder(root, name)
        self.root, self.labels = root, labels
        image_dir = root / images
        if not (image_dir.is_dir() and (root / labels).is_dir()):
            raise DatasetError(
                f"{name}: {root} matches no known layout: expected {images}/*.tif + "
                f"{labels}/*.png (sections may be PNG too); found: {describe_folder(root)}"
            )
        self.pairs = pair_by_stem(
            image_dir, root / labels, f"{name} {root}", _SECTION_SUFFIXES, (".png",)
        )

    @staticmethod
    def matches(root: str | Path, labels: str = "mitochondria") -> bool:
        """Whether ``root`` has ``raw/`` and ``<labels>/`` sub-folders."""
        root = Path(root)
        return (root / "raw").is_dir() and (root / labels).is_dir()

    def _sources(self) -> Sequence[tuple[Path, Path]]:
        return self.pairs

    def _components(self, mask_path: Path) -> tuple[np.ndarray, int]:
        return components_4(read_slice_mask(mask_path) != 0)

    def _empty(self, image_path: Path) -> SkippedObject:
        stem = file_stem(image_path)
        return SkippedObject(stem, str(image_path), f"no {self.labels} in the mask")

    def _scan(self, pair: tuple[Path, Path]) -> tuple[int, tuple[SkippedObject, ...]]:
        _, n = self._components(pair[1])
        return n, (() if n else (self._empty(pair[0]),))

    def _load(self, pair: tuple[Path, Path]) -> Iterator[EvalObject | SkippedObject]:
        image_path, mask_path = pair
        labels, n = self._components(mask_path)
        if n == 0:
            yield self._empty(image_path)
            return
        image = read_slice_image(image_path)
        check_same_shape(image, labels, str(image_path), str(mask_path))
        image.flags.writeable = False
        stem = file_stem(image_path)
        for k in range(1, n + 1):
            yield EvalObject(
                name=f"{stem}/{self.labels}{k}",
                image=image,
                gt=(labels == k).astype(np.int8),
                source=str(image_path),
                meta={"mask": str(mask_path), "component": k},
            )


class EpflMitoDataset(SsTemDataset):
    """EPFL (Lucchi et al.) FIB-SEM hippocampus: ``image/`` sections + ``<labels>/`` masks.

    The layout of one split (``train/`` or ``test/``) as packaged in ``zhixuhao/unet``'s fork:
    ``image/trainingNNNN.png`` and ``mitochondrion/trainingNNNN.png``; other label folders
    (``PSD``, ``vesicles``, ``axon``, ...) are chosen with ``labels``. Objects are 4-connected
    components, as for :class:`SsTemDataset`.

    Parameters
    ----------
    root : str or pathlib.Path
        One split's folder.
    labels : str, optional
        The mask folder (default ``"mitochondrion"``).
    name : str, optional
        Data set name (default ``"EPFL"``).
    """

    def __init__(self, root: str | Path, labels: str = "mitochondrion", name: str = "EPFL") -> None:
        super().__init__(root, labels=labels, images="image", name=name)

    @staticmethod
    def matches(root: str | Path, labels: str = "mitochondrion") -> bool:
        """Whether ``root`` has ``image/`` and ``<labels>/`` sub-folders."""
        root = Path(root)
        return (root / "image").is_dir() and (root / labels).is_dir()
