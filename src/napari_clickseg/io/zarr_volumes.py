"""Lazy volumes: OME-Zarr images and plain zarr arrays, opened without reading their voxels.

ssTEM stacks are often far larger than memory. :func:`open_lazy_volume` opens one with the
``zarr`` package and returns its array unread: indexing a slice reads only the chunks that hold
it. Propagation (:func:`napari_clickseg.engine.propagation.propagate`), the dock's
:class:`~napari_clickseg.engine.channel_input.ModelInput` and ``clickseg propagate`` read such a
volume one slice at a time, and intensity windows come from a strided sample.

Accepted layouts:

- a zarr array (zarr format 2 or 3);
- an OME-Zarr image (NGFF 0.4: ``multiscales`` in the group's attributes; 0.5: under ``ome``):
  the first (full-resolution) dataset, with its axis names and scale; leading singleton
  non-spatial axes (``t``, ``c`` of size 1) are dropped lazily;
- a zarr group holding exactly one array.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from napari_clickseg.io.errors import UnreadableFileError

__all__ = ["LazyVolume", "create_zarr_labels", "is_zarr_path", "open_lazy_volume"]

#: Files that mark a folder as a zarr store (format 3, then format 2).
ZARR_MARKERS = ("zarr.json", ".zarray", ".zgroup")


@dataclass(frozen=True)
class LazyVolume:
    """A volume on disk, read on demand.

    Attributes
    ----------
    data : array-like
        The voxels: a ``zarr.Array`` or a lazy view of one (``shape``, ``dtype``, ``ndim``
        and NumPy basic indexing; ``np.asarray(data[i])`` reads slice ``i``).
    axes : tuple of str or None
        Axis names from OME-Zarr metadata (after dropping singleton axes), else None.
    scale : tuple of float or None
        Voxel size per axis from OME-Zarr metadata, else None.
    path : pathlib.Path
        Where it was opened from.
    """

    data: Any
    axes: tuple[str, ...] | None
    scale: tuple[float, ...] | None
    path: Path

    @property
    def shape(self) -> tuple[int, ...]:
        """The volume's shape."""
        return tuple(int(n) for n in self.data.shape)

    @property
    def nbytes(self) -> int:
        """Bytes the volume would take in memory, read whole."""
        return int(np.prod(self.shape)) * np.dtype(self.data.dtype).itemsize


class _IndexedView:
    """A lazy view of an array with some leading axes fixed (a view, not a chunk reader)."""

    def __init__(self, array: Any, leading: tuple[int, ...]) -> None:
        self._array = array
        self._leading = leading
        self.shape = tuple(int(n) for n in array.shape[len(leading) :])
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        if any(k is Ellipsis for k in key):
            at = next(i for i, k in enumerate(key) if k is Ellipsis)
            fill = (slice(None),) * (self.ndim - (len(key) - 1))
            key = key[:at] + fill + key[at + 1 :]
        return np.asarray(self._array[self._leading + key])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        data = np.asarray(self._array[self._leading])
        return data if dtype is None else data.astype(dtype)


def is_zarr_path(path: str | Path) -> bool:
    """Whether ``path`` is a zarr store folder (a ``.zarr`` name or zarr metadata inside)."""
    path = Path(path)
    if not path.is_dir():
        return False
    return path.suffix.lower() == ".zarr" or any((path / m).is_file() for m in ZARR_MARKERS)


def open_lazy_volume(path: str | Path) -> LazyVolume:
    """Open an OME-Zarr image or zarr array without reading its voxels.

    Parameters
    ----------
    path : str or pathlib.Path
        A zarr store folder (see the module doc for the layouts).

    Returns
    -------
    LazyVolume

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    UnreadableFileError
        If it is not a zarr store, or a group with no image or several arrays and no
        OME-Zarr metadata to choose one.
    """
    import zarr

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"zarr volume not found: {path}")
    try:
        node = zarr.open(str(path), mode="r")
    except Exception as exc:  # zarr raises several types for folders that are not stores
        raise UnreadableFileError(
            f"cannot open {path} as a zarr store (expected zarr.json, .zarray or .zgroup "
            f"inside): {exc.__class__.__name__}: {exc}"
        ) from exc
    if isinstance(node, zarr.Array):
        return LazyVolume(node, None, None, path)
    attrs = dict(node.attrs)
    multiscales = attrs.get("multiscales") or attrs.get("ome", {}).get("multiscales")
    if multiscales:
        return _ome_image(node, multiscales[0], path)
    arrays = list(node.array_keys())
    if len(arrays) != 1:
        raise UnreadableFileError(
            f"{path} is a zarr group with {len(arrays)} arrays ({', '.join(arrays) or 'none'}) "
            "and no OME-Zarr 'multiscales' metadata; open one array (e.g. "
            f"{path / (arrays[0] if arrays else '0')})"
        )
    return LazyVolume(node[arrays[0]], None, None, path)


def _ome_image(group: Any, multiscale: dict, path: Path) -> LazyVolume:
    dataset = multiscale["datasets"][0]
    array = group[dataset["path"]]
    axes = [a["name"] if isinstance(a, dict) else str(a) for a in multiscale.get("axes", [])]
    scale = None
    for transform in dataset.get("coordinateTransformations", []):
        if transform.get("type") == "scale":
            scale = [float(v) for v in transform["scale"]]
    if len(axes) != array.ndim:
        axes = []
    leading = 0
    while (
        axes
        and leading < array.ndim - 3
        and axes[leading] in ("t", "c")
        and array.shape[leading] == 1
    ):
        leading += 1
    data = array if leading == 0 else _IndexedView(array, (0,) * leading)
    return LazyVolume(
        data,
        tuple(axes[leading:]) if axes else None,
        tuple(scale[leading:]) if scale and len(scale) == array.ndim else None,
        path,
    )


def create_zarr_labels(
    path: str | Path, shape: tuple[int, ...], chunks: tuple[int, ...] | None, dtype: Any
) -> Any:
    """A new zero-filled zarr array for labels (chunks that stay zero are never written).

    Parameters
    ----------
    path : str or pathlib.Path
        The store folder to create; it must not exist.
    shape, chunks : tuple of int
        Array shape and chunk shape (None: zarr's choice).
    dtype : numpy dtype
        Label type, e.g. ``uint8``.
    """
    import zarr

    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists")
    return zarr.create_array(
        store=str(path), shape=shape, chunks=chunks or "auto", dtype=dtype, fill_value=0
    )
