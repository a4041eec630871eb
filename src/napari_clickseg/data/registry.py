"""Opening a data set from a short spec: ``"<kind>:<path>"`` or a bare path (auto-detected).

Used by the command line (``clickseg evaluate --dataset brats:/data/BraTS``) and the evaluation
dock. Options are passed to the adapter's constructor, e.g.
``open_dataset("brats:/data/BraTS", target="core", slices="all")``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from napari_clickseg.data._files import describe_folder
from napari_clickseg.data.brats import BratsDataset
from napari_clickseg.data.folders import ImageMaskFolder, OfficialSlicesDataset
from napari_clickseg.data.instances import Dataset, DatasetError
from napari_clickseg.data.isbi import IsbiEmDataset
from napari_clickseg.data.oai_zib import OaiZibDataset
from napari_clickseg.data.sstem import EpflMitoDataset, SsTemDataset
from napari_clickseg.data.synthetic_dataset import SyntheticDataset
from napari_clickseg.data.zarr_stack import ZarrStackDataset

__all__ = ["DATASET_KINDS", "detect_kind", "open_dataset"]

#: Data set kinds and the layout each expects (for help texts).
DATASET_KINDS: dict[str, str] = {
    "brats": "BraTS: <case>/<case>_{t1,t1ce,t2,flair,seg}.nii.gz case folders (or one case)",
    "oai_zib": "OAI-ZIB: image/ + mask/ NIfTI volumes, or test/image/ + test/annotations/ PNGs",
    "sstem": "ssTEM: raw/*.tif + mitochondria/*.png (images=, labels= for other folders)",
    "epfl": "EPFL (Lucchi) FIB-SEM: image/*.png + mitochondrion/*.png (one split's folder)",
    "isbi": "ISBI 2012 EM: image/N.png + label/N.png, or train-volume.tif + train-labels.tif",
    "folder": "image/mask folder: data_GT/ + boundary_GT/ (GrabCut), img/ + gt/ (DAVIS, "
    "COCO_MVal) or images/ + masks/",
    "slices": "official 2D medical slices: image/ + annotation/ (BraTS) or annotations/ (OAI-ZIB)",
    "zarr": "zarr / OME-Zarr image volume read lazily, with labels=<labels.zarr> (per slice, "
    "each label value an object; split_components=1 for one-value labels)",
    "synthetic": "seeded generators, not a path: synthetic:em_cells, em_mitochondria, brain, knee",
}

_ADAPTERS: dict[str, Callable[..., Dataset]] = {
    "brats": BratsDataset,
    "oai_zib": OaiZibDataset,
    "sstem": SsTemDataset,
    "epfl": EpflMitoDataset,
    "isbi": IsbiEmDataset,
    "folder": ImageMaskFolder,
    "slices": OfficialSlicesDataset,
    "synthetic": SyntheticDataset,
    "zarr": ZarrStackDataset,
}

# synthetic data sets have no folder, so no detector
_DETECTORS: dict[str, Callable[[Path], bool]] = {
    "brats": BratsDataset.matches,
    "oai_zib": OaiZibDataset.matches,
    "sstem": SsTemDataset.matches,
    "epfl": EpflMitoDataset.matches,
    "isbi": IsbiEmDataset.matches,
    "folder": ImageMaskFolder.matches,
    "slices": OfficialSlicesDataset.matches,
    "zarr": ZarrStackDataset.matches,
}


def detect_kind(path: str | Path) -> str:
    """The data set kind whose layout a folder has.

    Parameters
    ----------
    path : str or pathlib.Path
        A folder.

    Returns
    -------
    str
        A key of :data:`DATASET_KINDS`.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    DatasetError
        If ``path`` is not a folder, matches no layout, or matches several.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data set folder not found: {path}")
    if not path.is_dir():
        raise DatasetError(f"a data set is a folder, got a file: {path}")
    found = [kind for kind, matches in _DETECTORS.items() if matches(path)]
    if len(found) == 1:
        return found[0]
    if found:
        raise DatasetError(
            f"{path} matches several data set layouts ({', '.join(found)}); name one, e.g. "
            f"'{found[0]}:{path}'"
        )
    layouts = "\n".join(f"  {kind}: {text}" for kind, text in DATASET_KINDS.items())
    raise DatasetError(
        f"{path} matches no known data set layout. Looked for:\n{layouts}\n"
        f"Found in the folder: {describe_folder(path)}"
    )


def open_dataset(spec: str | Path, **options: Any) -> Dataset:
    """Open a data set from ``"<kind>:<path>"`` or a bare folder path.

    Parameters
    ----------
    spec : str or pathlib.Path
        ``kind:path`` with kind in :data:`DATASET_KINDS`, or a path whose layout is detected.
    **options
        Keyword arguments of the adapter (e.g. ``target="core"`` for BraTS). ``slices`` and
        ``objects`` work with every adapter: where the adapter has no such parameter they go
        to :meth:`~napari_clickseg.data.instances.Dataset.select`.

    Returns
    -------
    Dataset
        The adapter for the folder.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    DatasetError
        If the kind is unknown, or the folder matches no (or several) layouts.
    TypeError
        If an option is not a parameter of the adapter.
    """
    text = str(spec)
    kind, sep, rest = text.partition(":")
    if sep and kind in _ADAPTERS:
        path = Path(rest)
    elif sep and len(kind) > 1 and "/" not in kind and "\\" not in kind and not Path(text).exists():
        raise DatasetError(
            f"unknown data set kind {kind!r} in {text!r}; known kinds: {', '.join(DATASET_KINDS)}"
        )
    else:
        path = Path(text)
        kind = detect_kind(path)
    adapter = _ADAPTERS[kind]
    native = inspect.signature(adapter).parameters
    generic = {k: options.pop(k) for k in ("slices", "objects") if k in options and k not in native}
    dataset = adapter(path, **options)
    return dataset.select(**generic) if generic else dataset
