"""napari readers (npe2 ``readers`` contributions): NIfTI files, BraTS case folders, TIFF stacks
and folders of PNG slices, as napari ``LayerData`` tuples ``(data, metadata, layer_type)``.

NIfTI volumes appear with their array axes *reversed*: a file stored (i, j, k) becomes a layer of
shape (k, j, i) whose ``scale`` is the voxel spacing in the same reversed order. For BraTS
(stored L, P, S) this puts the axial slices on napari's slider, anterior at the top and the
patient's right on the viewer's left, the orientation of
:func:`napari_clickseg.data._volumes.to_stack`. The file's affine and header travel in the layer's
``metadata["nifti"]`` (see :func:`napari_clickseg.io.nifti.nifti_geometry`, plus ``"axes":
"reversed"``), so :mod:`napari_clickseg._writer` can save labels back on the same grid. Whether a
file opens as Labels follows :mod:`napari_clickseg.io.labels`. See ``docs/files.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from napari_clickseg.data._files import file_stem, list_files
from napari_clickseg.data.brats import MODALITIES
from napari_clickseg.io.images import TIFF_SUFFIXES, read_image_stack, read_tiff_stack
from napari_clickseg.io.labels import looks_like_labels, to_label_array
from napari_clickseg.io.nifti import NIFTI_SUFFIXES, is_nifti, nifti_geometry, read_nifti
from napari_clickseg.io.zarr_volumes import is_zarr_path, open_lazy_volume

__all__ = [
    "NIFTI_METADATA_KEY",
    "get_reader",
    "read_brats_case",
    "read_nifti_file",
    "read_png_folder",
    "read_tiff_file",
    "read_zarr_volume",
]

LayerData = tuple[Any, dict[str, Any], str]
PathOrPaths = str | Path | Sequence[str | Path]
ReaderFunction = Callable[[PathOrPaths], list[LayerData]]

#: Key of the NIfTI geometry in a layer's ``metadata``.
NIFTI_METADATA_KEY = "nifti"
#: Kinds of file in a BraTS case folder, in layer order.
BRATS_KINDS = (*MODALITIES, "seg")
_NIFTI_LABEL_INTENT = "label"


def _single_path(path: PathOrPaths) -> Path | None:
    if isinstance(path, str | Path):
        return Path(path)
    paths = list(path)
    return Path(paths[0]) if len(paths) == 1 else None


def _brats_case_files(folder: Path) -> dict[str, Path]:
    """``<folder>/<folder name>_<kind>.nii[.gz]`` files of a BraTS case folder, by kind."""
    files = {}
    for kind in BRATS_KINDS:
        for ending in reversed(NIFTI_SUFFIXES):  # prefer .nii.gz
            candidate = folder / f"{folder.name}_{kind}{ending}"
            if candidate.is_file():
                files[kind] = candidate
                break
    return files


def _choose(path: Path) -> ReaderFunction | None:
    if path.is_file():
        if is_nifti(path):
            return read_nifti_file
        if path.suffix.lower() in TIFF_SUFFIXES:
            return read_tiff_file
        return None
    if path.is_dir():
        if is_zarr_path(path):
            return read_zarr_volume
        if any(kind in MODALITIES for kind in _brats_case_files(path)):
            return read_brats_case
        if list_files(path, (".png",)):
            return read_png_folder
    return None


def get_reader(path: PathOrPaths) -> ReaderFunction | None:
    """The reader for ``path``, or None when this plugin does not read it (never raises).

    Parameters
    ----------
    path : str, pathlib.Path or a sequence of one of them
        What napari was asked to open.

    Returns
    -------
    callable or None
        :func:`read_nifti_file` for ``.nii``/``.nii.gz`` files, :func:`read_tiff_file` for
        ``.tif``/``.tiff`` files, :func:`read_brats_case` for a folder holding
        ``<folder>_{t1,t1ce,t2,flair}.nii[.gz]`` (at least one modality; ``_seg`` optional),
        :func:`read_png_folder` for any other folder with PNG files directly in it; None for
        anything else: other endings, missing paths, other folders, several paths.
    """
    try:
        single = _single_path(path)
        return None if single is None else _choose(single)
    except Exception:  # e.g. a path napari could not stat, or an odd path type: not ours
        return None


# ---- readers -------------------------------------------------------------------------------


def _nifti_layer(path: Path) -> LayerData:
    volume = read_nifti(path)
    data = volume.data
    if data.dtype.names is not None or np.iscomplexobj(data):
        raise ValueError(
            f"cannot show {path}: NIfTI data type {data.dtype} (RGB or complex voxels) is not "
            "supported; expected a scalar volume"
        )
    declared = volume.header.get_intent()[0] == _NIFTI_LABEL_INTENT
    is_labels = looks_like_labels(data, path.name, declared=declared)
    geometry = {**nifti_geometry(volume), "axes": "reversed"}
    spacing = list(volume.spacing[: data.ndim])
    scale = [1.0] * (data.ndim - len(spacing)) + spacing[::-1]
    layer_data = np.ascontiguousarray(np.transpose(data))
    meta: dict[str, Any] = {
        "name": file_stem(path),
        "scale": tuple(scale),
        "metadata": {NIFTI_METADATA_KEY: geometry},
    }
    if is_labels:
        if not np.issubdtype(layer_data.dtype, np.integer):
            layer_data = to_label_array(layer_data)
        return layer_data, {**meta, "opacity": 0.5}, "labels"
    return layer_data, {**meta, "colormap": "gray"}, "image"


def read_nifti_file(path: PathOrPaths) -> list[LayerData]:
    """One Image or Labels layer from a ``.nii``/``.nii.gz`` file.

    Parameters
    ----------
    path : str or pathlib.Path (or a one-element sequence)
        The file.

    Returns
    -------
    list of tuple
        One layer named after the file (without ``.nii.gz``), axes reversed, ``scale`` the voxel
        spacing, ``metadata["nifti"]`` the geometry (module docstring).

    Raises
    ------
    FileNotFoundError, napari_clickseg.io.UnreadableFileError
        If the file is missing or damaged (the message names it).
    ValueError
        If the voxels are RGB or complex.
    """
    return [_nifti_layer(_required_path(path))]


def read_brats_case(path: PathOrPaths) -> list[LayerData]:
    """The modalities of a BraTS case folder as Image layers and its ``seg`` as a Labels layer.

    Parameters
    ----------
    path : str or pathlib.Path (or a one-element sequence)
        A case folder ``<case>/`` holding ``<case>_{t1,t1ce,t2,flair,seg}.nii[.gz]``.

    Returns
    -------
    list of tuple
        Layers in the order t1, t1ce, t2, flair, seg (those present), named by file (e.g.
        ``<case>_flair``), each as from :func:`read_nifti_file`; only FLAIR (or the last
        modality present) is visible among the images.

    Raises
    ------
    FileNotFoundError
        If the folder has no BraTS file named after it.
    """
    folder = _required_path(path)
    files = _brats_case_files(folder)
    if not files:
        raise FileNotFoundError(
            f"{folder} is not a BraTS case folder: expected {folder.name}_t1.nii.gz, _t1ce, _t2, "
            "_flair (and _seg) in it"
        )
    layers = [_nifti_layer(files[kind]) for kind in BRATS_KINDS if kind in files]
    shown = "flair" if "flair" in files else [k for k in MODALITIES if k in files][-1]
    for kind, (_, meta, layer_type) in zip(
        (k for k in BRATS_KINDS if k in files), layers, strict=True
    ):
        if kind == "seg" and layer_type != "labels":
            raise ValueError(
                f"BraTS segmentation {files[kind]} does not hold whole-number labels; expected "
                "0 background, 1 core, 2 oedema, 4 enhancing"
            )
        if kind in MODALITIES:
            meta["visible"] = kind == shown
    return layers


def read_tiff_file(path: PathOrPaths) -> list[LayerData]:
    """One Image or Labels layer from a TIFF stack (e.g. ssTEM sections).

    Parameters
    ----------
    path : str or pathlib.Path (or a one-element sequence)
        A ``.tif``/``.tiff`` file.

    Returns
    -------
    list of tuple
        One layer named after the file. ``scale`` comes from the file's JSON description when it
        has one (files written by :mod:`napari_clickseg._writer`), else napari's default 1.

    Raises
    ------
    FileNotFoundError, napari_clickseg.io.UnreadableFileError
        If the file is missing or damaged.
    """
    file = _required_path(path)
    data, description = read_tiff_stack(file)
    declared = description.get("layer_type") == "labels"
    meta: dict[str, Any] = {"name": file_stem(file)}
    scale = description.get("scale")
    if _valid_scale(scale, data.ndim):
        meta["scale"] = tuple(float(s) for s in scale)
    if looks_like_labels(data, file.name, declared=declared):
        return [(to_label_array(data) if data.dtype.kind in "fb" else data, meta, "labels")]
    return [(data, {**meta, "colormap": "gray"} if _is_gray(data) else meta, "image")]


def read_png_folder(path: PathOrPaths) -> list[LayerData]:
    """The PNG files of a folder stacked into one layer, in natural order of their names.

    Parameters
    ----------
    path : str or pathlib.Path (or a one-element sequence)
        A folder; its PNG files (not hidden, not in sub-folders) are the slices, ordered so
        that ``2.png`` comes before ``10.png``.

    Returns
    -------
    list of tuple
        One layer named after the folder, (N, H, W) or (N, H, W, C); Labels when the folder's
        name or values say so (:mod:`napari_clickseg.io.labels`), colour slices always an image.

    Raises
    ------
    FileNotFoundError
        If the folder holds no PNG file.
    ValueError
        If the slices differ in size or type (the message names the first odd file).
    """
    folder = _required_path(path)
    files = list_files(folder, (".png",))
    if not files:
        raise FileNotFoundError(f"no PNG files (*.png) in folder {folder}")
    stack = read_image_stack(files)
    meta: dict[str, Any] = {"name": folder.name}
    if stack.ndim == 4:  # colour slices (N, H, W, C)
        return [(stack, meta, "image")]
    if looks_like_labels(stack, folder.name):
        return [(stack, meta, "labels")]
    return [(stack, {**meta, "colormap": "gray"}, "image")]


# ---- small helpers -------------------------------------------------------------------------


def _required_path(path: PathOrPaths) -> Path:
    single = _single_path(path)
    if single is None:
        raise ValueError(f"this reader opens one path at a time, got {list(path)!r}")
    return single


def _valid_scale(scale: Any, ndim: int) -> bool:
    if not isinstance(scale, list | tuple) or len(scale) != ndim:
        return False
    return all(isinstance(s, int | float) and s > 0 for s in scale)


def _is_gray(data: np.ndarray) -> bool:
    """False where napari would show the data as RGB(A) (last axis of 3 or 4)."""
    return not (data.ndim >= 3 and data.shape[-1] in (3, 4))


def read_zarr_volume(path: PathOrPaths) -> list[LayerData]:
    """One Image layer from an OME-Zarr image or zarr array, read lazily (never loaded whole).

    Parameters
    ----------
    path : str or pathlib.Path (or a one-element sequence)
        A zarr store folder (see :func:`napari_clickseg.io.zarr_volumes.open_lazy_volume`).

    Returns
    -------
    list of tuple
        One layer holding the lazy array, named after the folder, with the OME-Zarr scale.
    """
    folder = _required_path(path)
    volume = open_lazy_volume(folder)
    meta: dict[str, Any] = {"name": folder.name.split(".")[0] or folder.name}
    if volume.scale is not None:
        meta["scale"] = volume.scale
    return [(volume.data, meta, "image")]
