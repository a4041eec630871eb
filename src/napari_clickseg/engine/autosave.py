"""Saving an annotation (prompts JSON + committed labels TIFF) to a folder, atomically.

Used for the dock's autosave and its explicit save: ``<folder>/<stem>_prompts.json`` and
``<folder>/<stem>_objects.tif``. Each file is written to a temporary file and renamed, so a
crash during a save leaves the previous complete file.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

from napari_clickseg.engine.prompts_io import (
    Prompts,
    atomic_write_bytes,
    load_prompts,
    save_prompts,
)


def file_stem(image_name: str) -> str:
    """A file-system-safe stem for an image (layer) name."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", image_name).strip("._")
    return stem or "image"


def prompts_path(folder: str | Path, image_name: str) -> Path:
    """Where the prompts of an image are saved in ``folder``."""
    return Path(folder) / f"{file_stem(image_name)}_prompts.json"


def labels_path(folder: str | Path, image_name: str) -> Path:
    """Where the committed labels of an image are saved in ``folder``."""
    return Path(folder) / f"{file_stem(image_name)}_objects.tif"


def save_labels(path: str | Path, labels: np.ndarray) -> Path:
    """Write a labels volume to a (zlib-compressed) TIFF atomically.

    Parameters
    ----------
    path : str or Path
        Target ``.tif`` file.
    labels : numpy.ndarray
        Integer labels, 2D or 3D.

    Returns
    -------
    Path
    """
    import tifffile

    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers, got {labels.dtype}")
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, labels, compression="zlib", metadata={"axes": _axes(labels.ndim)})
    return atomic_write_bytes(path, buffer.getvalue())


def load_labels(path: str | Path) -> np.ndarray:
    """Read a labels TIFF written by :func:`save_labels`."""
    import tifffile

    return np.asarray(tifffile.imread(str(path)))


def save_annotation(
    folder: str | Path, prompts: Prompts, labels: np.ndarray | None = None
) -> list[Path]:
    """Save prompts and (optionally) committed labels of one image into ``folder``.

    Returns
    -------
    list of Path
        The written files.
    """
    written = [save_prompts(prompts_path(folder, prompts.image_name), prompts)]
    if labels is not None:
        written.append(save_labels(labels_path(folder, prompts.image_name), labels))
    return written


def load_annotation(folder: str | Path, image_name: str) -> tuple[Prompts, np.ndarray | None]:
    """Read what :func:`save_annotation` wrote for an image (labels None when absent)."""
    prompts = load_prompts(prompts_path(folder, image_name))
    path = labels_path(folder, image_name)
    return prompts, (load_labels(path) if path.exists() else None)


def _axes(ndim: int) -> str:
    return {2: "YX", 3: "ZYX"}.get(ndim, "Q" * ndim)
