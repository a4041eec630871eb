"""Evaluation objects and the data set interface the evaluation engine consumes.

An :class:`EvalObject` is one object to segment: the image the model sees and a ground-truth
mask (1 object, 0 background, -1 ignore). A :class:`Dataset` yields them one by one in a fixed,
documented order, loading one *source* (an image file, a volume, a case) at a time, so memory
stays at one source whatever the data set's size.

Policy shared by all adapters:

* Objects with an empty ground truth are never yielded. Each one an adapter drops (no tumour in
  the chosen slice, a cartilage label below the pixel threshold, an empty mask file) is recorded
  as a :class:`SkippedObject`, listed by :attr:`Dataset.skipped`.
* A data set without any object raises :class:`DatasetError` from ``len()`` and at the end of
  an iteration that yielded nothing (``skipped`` still answers, to tell why).
* :meth:`Dataset.limit` takes the first ``n`` objects, or with a ``seed`` a reproducible random
  choice of ``n`` objects, yielded in the data set's order.
* :meth:`Dataset.select` keeps chosen sources (``slices``: their positions in the data set's
  order, e.g. the sections of a folder) and objects whose names match glob patterns, for every
  adapter; adapters with their own notion of a slice (ISBI numbers, BraTS slice indices) take
  ``slices`` themselves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import numpy as np

__all__ = ["Dataset", "DatasetError", "EvalObject", "InMemoryDataset", "SkippedObject"]


class DatasetError(ValueError):
    """A data set's folder, files or contents do not fit the layout its adapter expects."""


@dataclass(frozen=True, eq=False)
class EvalObject:
    """One object of an evaluation data set.

    Attributes
    ----------
    name : str
        Unique name within its data set, e.g. ``"Brats18_2013_2_1/z101/whole"``.
    image : numpy.ndarray
        What the model sees: uint8 (H, W) grayscale or (H, W, 3) RGB. Objects from the same
        image may share one read-only array.
    gt : numpy.ndarray
        int8 (H, W): 1 object, 0 background, -1 ignore (excluded from IoU and click sampling).
        Has at least one object pixel.
    source : str
        The file or case it comes from.
    meta : dict
        Adapter-specific details (slice index, label value, spacing, window, ...).
    """

    name: str
    image: np.ndarray
    gt: np.ndarray
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        image, gt = self.image, self.gt
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
            raise ValueError(
                f"EvalObject {self.name!r}: image must be a uint8 numpy array, got "
                f"{getattr(image, 'dtype', type(image).__name__)}"
            )
        if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
            raise ValueError(
                f"EvalObject {self.name!r}: image must be (H, W) or (H, W, 3), got {image.shape}"
            )
        if not isinstance(gt, np.ndarray) or gt.dtype != np.int8 or gt.ndim != 2:
            raise ValueError(
                f"EvalObject {self.name!r}: gt must be a 2D int8 numpy array, got "
                f"{getattr(gt, 'dtype', type(gt).__name__)} {getattr(gt, 'shape', '')}"
            )
        if gt.shape != image.shape[:2]:
            raise ValueError(
                f"EvalObject {self.name!r}: gt shape {gt.shape} differs from image shape "
                f"{image.shape[:2]}"
            )
        if gt.size and (gt.min() < -1 or gt.max() > 1):
            raise ValueError(
                f"EvalObject {self.name!r}: gt values must be -1 (ignore), 0 or 1, got "
                f"{int(gt.min())}..{int(gt.max())}"
            )
        if not (gt == 1).any():
            raise ValueError(f"EvalObject {self.name!r}: empty ground truth (no pixel is 1)")

    @property
    def area(self) -> int:
        """Number of object pixels (gt == 1)."""
        return int(np.count_nonzero(self.gt == 1))


@dataclass(frozen=True)
class SkippedObject:
    """An object an adapter left out, and why.

    Attributes
    ----------
    name : str
        The name the object would have had (or the source's name when a whole source is empty).
    source : str
        The file or case.
    reason : str
        Why it was left out, e.g. ``"empty ground truth"``.
    """

    name: str
    source: str
    reason: str


class Dataset(ABC):
    """Base class of the evaluation data sets: an ordered, lazily loaded sequence of objects.

    Subclasses list their *sources* cheaply (file names) at construction and implement
    :meth:`_load`, which reads one source and yields its objects and skip records; they may
    override :meth:`_scan` with a cheaper count that reads only the labels.

    Parameters
    ----------
    name : str
        Name of the data set, used in reports.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._scans: dict[int, tuple[int, tuple[SkippedObject, ...]]] = {}

    # ---------------------------------------------------------------------------------------
    # what subclasses provide

    @abstractmethod
    def _sources(self) -> Sequence[Any]:
        """The units loaded one at a time (files, cases), in the data set's order."""

    @abstractmethod
    def _load(self, source: Any) -> Iterator[EvalObject | SkippedObject]:
        """Read one source; yield its objects (in order) and skip records."""

    def _scan(self, source: Any) -> tuple[int, tuple[SkippedObject, ...]]:
        """Count one source's objects and collect its skip records (default: load it)."""
        n = 0
        skipped: list[SkippedObject] = []
        for item in self._load(source):
            if isinstance(item, EvalObject):
                n += 1
            else:
                skipped.append(item)
        return n, tuple(skipped)

    # ---------------------------------------------------------------------------------------
    # public interface

    def __iter__(self) -> Iterator[EvalObject]:
        n = 0
        skipped: list[SkippedObject] = []
        for source in self._sources():
            for item in self._load(source):
                if isinstance(item, EvalObject):
                    n += 1
                    yield item
                else:
                    skipped.append(item)
        if n == 0:
            raise self._no_objects(skipped)

    def __len__(self) -> int:
        """Number of objects (reads the labels of every source once, then cached).

        ``list(dataset)`` calls this first, so it scans the labels before loading anything.
        """
        return sum(self._scan_all()[0])

    @property
    def skipped(self) -> tuple[SkippedObject, ...]:
        """The objects left out (empty ground truth, below a size threshold, ...)."""
        return tuple(s for i in range(len(self._sources())) for s in self._source_scan(i)[1])

    def limit(self, n: int, seed: int | None = None) -> Dataset:
        """A data set of at most ``n`` of these objects.

        Parameters
        ----------
        n : int
            How many objects (at least 1); a data set with fewer objects is taken whole.
        seed : int, optional
            None: the first ``n`` objects in order (only the sources needed are scanned).
            An int: ``n`` objects drawn without replacement by ``numpy.random.default_rng(seed)``
            over all objects, yielded in the data set's order.

        Returns
        -------
        Dataset
            A lazy view with the same :attr:`name`.
        """
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"limit: n must be a positive integer, got {n!r}")
        return _Subset(self, int(n), seed)

    def select(
        self, slices: int | Sequence[int] | None = None, objects: str | Sequence[str] | None = None
    ) -> Dataset:
        """A data set of the chosen sources and objects.

        Parameters
        ----------
        slices : int or sequence of int, optional
            Positions (0-based) of the sources to keep, in the data set's order: the sections
            of a section folder, the images of an image folder, the cases of a case folder.
        objects : str or sequence of str, optional
            Glob patterns (``fnmatch``, case-sensitive) on object names, e.g. ``"12/*"`` or
            ``"*/mitochondria3"``; an object is kept if any pattern matches.

        Returns
        -------
        Dataset
            A lazy view with the same :attr:`name`.
        """
        return _Selection(self, slices, objects)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, sources={len(self._sources())})"

    # ---------------------------------------------------------------------------------------
    # helpers

    def _source_scan(self, index: int) -> tuple[int, tuple[SkippedObject, ...]]:
        if index not in self._scans:
            self._scans[index] = self._scan(self._sources()[index])
        return self._scans[index]

    def _scan_all(self) -> tuple[list[int], list[SkippedObject]]:
        counts: list[int] = []
        skipped: list[SkippedObject] = []
        for i in range(len(self._sources())):
            n, s = self._source_scan(i)
            counts.append(n)
            skipped.extend(s)
        if sum(counts) == 0:
            raise self._no_objects(skipped)
        return counts, skipped

    def _no_objects(self, skipped: Sequence[SkippedObject]) -> DatasetError:
        detail = ""
        if skipped:
            reasons = sorted({s.reason for s in skipped})
            shown = "; ".join(reasons[:5]) + ("; ..." if len(reasons) > 5 else "")
            detail = f"; {len(skipped)} candidate object(s) were skipped ({shown})"
        n_sources = len(self._sources())
        return DatasetError(
            f"data set {self.name!r} has no object to evaluate in its {n_sources} source(s){detail}"
        )


class _Subset(Dataset):
    """``n`` objects of a parent data set: the first ones, or a seeded random choice."""

    def __init__(self, parent: Dataset, n: int, seed: int | None) -> None:
        super().__init__(parent.name)
        self.parent, self.n, self.seed = parent, n, seed
        self._selection: list[tuple[Any, frozenset[int] | None, int]] | None = None

    def _sources(self) -> Sequence[tuple[Any, frozenset[int] | None, int]]:
        if self._selection is None:
            self._selection = self._select()
        return self._selection

    def _select(self) -> list[tuple[Any, frozenset[int] | None, int]]:
        parent_sources = self.parent._sources()
        selection: list[tuple[Any, frozenset[int] | None, int]] = []
        if self.seed is None:
            left = self.n
            for i, source in enumerate(parent_sources):
                if left == 0:
                    break
                count = self.parent._source_scan(i)[0]
                if count == 0:
                    continue
                take = min(left, count)
                selection.append((source, None if take == count else frozenset(range(take)), i))
                left -= take
            if left == self.n:
                self.parent._scan_all()  # raises: the parent has no object
            return selection
        counts, _ = self.parent._scan_all()
        total = sum(counts)
        rng = np.random.default_rng(self.seed)
        chosen = np.sort(rng.choice(total, size=min(self.n, total), replace=False))
        starts = np.cumsum([0, *counts])
        for i, source in enumerate(parent_sources):
            local = chosen[(chosen >= starts[i]) & (chosen < starts[i + 1])] - starts[i]
            if local.size:
                selection.append((source, frozenset(int(k) for k in local), i))
        return selection

    def _load(self, source: tuple[Any, frozenset[int] | None, int]) -> Iterator[EvalObject]:
        parent_source, keep, _ = source
        k = 0
        for item in self.parent._load(parent_source):
            if isinstance(item, EvalObject):
                if keep is None or k in keep:
                    yield item
                k += 1

    def _scan(
        self, source: tuple[Any, frozenset[int] | None, int]
    ) -> tuple[int, tuple[SkippedObject, ...]]:
        _, keep, i = source
        count, skipped = self.parent._source_scan(i)
        return (count if keep is None else len(keep)), skipped

    def __repr__(self) -> str:
        how = "first" if self.seed is None else f"random (seed {self.seed})"
        return f"{self.parent!r}.limit({self.n}, {how})"


class _Selection(Dataset):
    """Sources of a parent data set by position, and objects by name pattern."""

    def __init__(
        self,
        parent: Dataset,
        slices: int | Sequence[int] | None,
        objects: str | Sequence[str] | None,
    ) -> None:
        super().__init__(parent.name)
        self.parent = parent
        count = len(parent._sources())
        if slices is not None:
            positions = (slices,) if isinstance(slices, int | np.integer) else tuple(slices)
            bad = [
                p for p in positions if not isinstance(p, int | np.integer) or not 0 <= p < count
            ]
            if not positions or bad:
                raise DatasetError(
                    f"slices {bad or list(positions)} do not select sources of {parent.name!r}: "
                    f"it has {count} source(s), positions 0..{count - 1}"
                )
            self.positions = sorted({int(p) for p in positions})
        else:
            self.positions = list(range(count))
        self.patterns = (objects,) if isinstance(objects, str) else tuple(objects or ())

    def _sources(self) -> Sequence[int]:
        return self.positions

    def _keep(self, item: EvalObject | SkippedObject) -> bool:
        return not self.patterns or any(fnmatchcase(item.name, p) for p in self.patterns)

    def _load(self, position: int) -> Iterator[EvalObject | SkippedObject]:
        for item in self.parent._load(self.parent._sources()[position]):
            if isinstance(item, SkippedObject) or self._keep(item):
                yield item

    def _scan(self, position: int) -> tuple[int, tuple[SkippedObject, ...]]:
        if not self.patterns:
            return self.parent._source_scan(position)
        return super()._scan(position)

    def __repr__(self) -> str:
        return f"{self.parent!r}.select(slices={self.positions}, objects={list(self.patterns)})"


class InMemoryDataset(Dataset):
    """A data set over objects already in memory (tests, napari layers, hand-made lists).

    Parameters
    ----------
    objects : iterable of EvalObject
        The objects, in order.
    name : str, optional
        Name of the data set.
    """

    def __init__(self, objects: Iterable[EvalObject], name: str = "objects") -> None:
        super().__init__(name)
        self._objects = list(objects)
        for obj in self._objects:
            if not isinstance(obj, EvalObject):
                raise TypeError(f"InMemoryDataset takes EvalObject items, got {type(obj).__name__}")

    def _sources(self) -> Sequence[EvalObject]:
        return self._objects

    def _load(self, source: EvalObject) -> Iterator[EvalObject]:
        yield source

    def _scan(self, source: EvalObject) -> tuple[int, tuple[SkippedObject, ...]]:
        return 1, ()
