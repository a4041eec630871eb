"""``clickseg propagate``: propagate an annotated mask through a volume from the command line.

Inputs are read into a stack (slices, rows, cols[, channels]) along the chosen axis: NIfTI
volumes and BraTS cases in the data adapters' orientation
(:func:`napari_clickseg.data._volumes.to_stack`), TIFF stacks by moving the axis to the front.
Propagation runs along the stack's first axis through :func:`napari_clickseg.engine.propagation
.propagate`, and the result is written back in the input file's own axis order (NIfTI with the
input's affine), atomically (a temporary file beside the output, then a rename), and never over
an existing file unless ``--overwrite`` is given.

Zarr volumes (OME-Zarr images and zarr arrays, :func:`napari_clickseg.io.zarr_volumes.
open_lazy_volume`) are never loaded whole: propagation reads them one slice at a time along
``--axis`` (default 0), the seed mask may be a zarr volume too, and ``--out`` must then be a
new ``.zarr`` store, written slice by slice (only chunks that hold the object are stored).

Intensities follow the one rule of every entry point
(:mod:`napari_clickseg.engine.image_input`): uint8 as is, anything else windowed to 8 bits at
the volume's 0.5-99.5 percentiles, NaN / inf masked with a warning.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from napari_clickseg.engine.propagation import DEFAULT_MODE, MODES

__all__ = ["add_propagate_parser", "cmd_propagate"]

_NIFTI = (".nii", ".nii.gz")
_TIFF = (".tif", ".tiff")
_ZARR = ".zarr"


@dataclass
class _Stack:
    """A volume as a stack along the propagation axis, and the way back to the file's order."""

    image: np.ndarray
    gt: np.ndarray | None
    to_stack: Callable[[np.ndarray], np.ndarray]
    to_file: Callable[[np.ndarray], np.ndarray]
    affine: np.ndarray | None
    description: str
    lazy_axis: int | None = None  # a lazy (zarr) volume: propagate along this axis in place


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def _orientation(kind: str, axis: int):
    """(to_stack, to_file) functions for a volume kind and axis."""
    if kind == "nifti":
        from napari_clickseg.data._volumes import to_stack

        a, b = (d for d in range(3) if d != axis)
        inverse = tuple(int(i) for i in np.argsort((axis, b, a)))
        return (lambda v: np.ascontiguousarray(to_stack(v, axis))), (
            lambda s: np.ascontiguousarray(np.transpose(s, inverse))
        )
    return (lambda v: np.ascontiguousarray(np.moveaxis(v, axis, 0))), (
        lambda s: np.ascontiguousarray(np.moveaxis(s, 0, axis))
    )


def _read_array(path: Path) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Voxels, affine (NIfTI only) and kind of a NIfTI or TIFF file."""
    if not path.is_file():
        raise FileNotFoundError(f"volume file not found: {path}")
    suffix = _suffix(path)
    if suffix in _NIFTI:
        from napari_clickseg.io.nifti import read_nifti

        volume = read_nifti(path)
        return np.asarray(volume.data), volume.affine, "nifti"
    if suffix in _TIFF:
        import tifffile

        return np.asarray(tifffile.imread(path)), None, "tiff"
    raise ValueError(
        f"cannot read {path}: expected a NIfTI (.nii, .nii.gz) or TIFF (.tif, .tiff) volume, "
        "or a BraTS case folder"
    )


def _window(volume: np.ndarray) -> np.ndarray:
    """uint8 by the engine's volume-level window (each channel on its own), NaN / inf masked."""
    from napari_clickseg.engine.image_input import intensity_window, to_uint8, warn_non_finite

    if volume.dtype == np.uint8:
        return volume
    warn_non_finite(volume)
    channels = volume[..., None] if volume.ndim == 3 else volume
    out = [
        to_uint8(channels[..., c], intensity_window(channels[..., c]))
        for c in range(channels.shape[-1])
    ]
    stacked = np.stack(out, axis=-1)
    return stacked[..., 0] if volume.ndim == 3 else stacked


def _load_volume(args: argparse.Namespace) -> _Stack:
    from napari_clickseg.io.zarr_volumes import is_zarr_path

    path = Path(args.volume)
    if is_zarr_path(path):
        return _load_zarr(path, args)
    if path.is_dir():
        return _load_brats(path, args)
    data, affine, kind = _read_array(path)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim not in (3, 4) or (data.ndim == 4 and data.shape[3] > 16):
        raise ValueError(
            f"{path} has shape {data.shape}; expected a 3D volume or a channels-last 4D one"
        )
    axis = _axis(args, kind)
    to_stack, to_file = _orientation(kind, axis)
    description = f"{path.name} {data.shape}, slices along axis {axis}"
    return _Stack(to_stack(_window(data)), None, to_stack, to_file, affine, description)


def _load_zarr(path: Path, args: argparse.Namespace) -> _Stack:
    """A lazy zarr volume: nothing is read here but its metadata."""
    from napari_clickseg.io.zarr_volumes import open_lazy_volume

    volume = open_lazy_volume(path)
    if len(volume.shape) not in (3, 4) or (len(volume.shape) == 4 and volume.shape[3] > 16):
        raise ValueError(
            f"{path} has shape {volume.shape}; expected a 3D volume or a channels-last 4D one"
        )
    axis = _axis(args, "zarr")
    description = (
        f"{path.name} {volume.shape} ({volume.nbytes / 1e9:.1f} GB, read slice by slice), "
        f"slices along axis {axis}"
    )
    same = lambda v: v  # noqa: E731 - the file's own axis order
    return _Stack(volume.data, None, same, same, None, description, lazy_axis=axis)


def _axis(args: argparse.Namespace, kind: str) -> int:
    axis = args.axis if args.axis is not None else (2 if kind == "nifti" else 0)
    if axis not in (0, 1, 2):
        raise ValueError(f"--axis must be 0, 1 or 2, got {axis}")
    return axis


def _load_brats(folder: Path, args: argparse.Namespace) -> _Stack:
    from napari_clickseg.data.brats import find_brats_cases
    from napari_clickseg.data.objects3d import brats_objects_3d
    from napari_clickseg.io.nifti import read_nifti

    cases = find_brats_cases(folder)
    if len(cases) != 1:
        raise ValueError(
            f"{folder} holds {len(cases)} BraTS cases; give one case folder to propagate in"
        )
    axis = _axis(args, "nifti")
    modality = args.modality.split(",") if "," in args.modality else args.modality
    objects = list(brats_objects_3d(cases[0].folder, args.target, modality, axis))
    if not objects:
        raise ValueError(f"BraTS case {cases[0].name} has no {args.target} tumour to propagate")
    obj = objects[0]
    to_stack, to_file = _orientation("nifti", axis)
    affine = read_nifti(cases[0].files["seg"].path).affine
    description = f"BraTS {obj.name} ({args.modality}), slices along axis {axis}"
    return _Stack(obj.image, obj.gt, to_stack, to_file, affine, description)


def _read_labels(path: str, stack: _Stack, label: int | None, what: str) -> np.ndarray:
    from napari_clickseg.io.zarr_volumes import is_zarr_path, open_lazy_volume

    if stack.lazy_axis is not None:
        if not is_zarr_path(path):
            data, _, _ = _read_array(Path(path))
        else:
            data = open_lazy_volume(path).data
        if tuple(data.shape) != tuple(stack.image.shape[:3]):
            raise ValueError(
                f"the {what} {path} has shape {tuple(data.shape)}, which does not match the "
                f"volume ({stack.description})"
            )
        if label is not None:
            raise ValueError(
                "--seed-label is not supported with a zarr volume; give a mask of the object only"
            )
        return data  # read slice by slice; nonzero is the object
    data, _, _ = _read_array(Path(path))
    data = np.squeeze(data) if data.ndim == 4 else data
    is_integer = np.issubdtype(data.dtype, np.integer) or data.dtype == bool
    if not is_integer and not np.array_equal(data, np.round(data)):
        raise ValueError(f"the {what} {path} must hold integer labels, got {data.dtype}")
    labels = stack.to_stack(data)
    if labels.shape != stack.image.shape[:3]:
        raise ValueError(
            f"the {what} {path} has shape {data.shape}, which does not match the volume "
            f"({stack.description})"
        )
    return labels != 0 if label is None else labels == label


def _check_output(path: Path, overwrite: bool, lazy: bool = False) -> None:
    if lazy and _suffix(path) != _ZARR:
        raise ValueError(f"--out {path}: a zarr volume is written to a new .zarr store")
    if not lazy and _suffix(path) not in (*_NIFTI, *_TIFF):
        raise ValueError(f"--out {path}: write a NIfTI (.nii, .nii.gz) or TIFF (.tif) file")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass --overwrite to replace it")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"the output folder {path.parent} does not exist")


def _write_atomic(path: Path, volume: np.ndarray, affine: np.ndarray | None) -> None:
    suffix = _suffix(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(handle)
    try:
        if suffix in _NIFTI:
            import nibabel as nib

            image = nib.Nifti1Image(volume, np.eye(4) if affine is None else affine)
            nib.save(image, temporary)
        else:
            import tifffile

            tifffile.imwrite(temporary, volume)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def cmd_propagate(args: argparse.Namespace) -> int:
    """Propagate a seed mask through a volume and write the object's mask."""
    from napari_clickseg.cli_common import BASELINE, ProgressBar, predictor_from_options
    from napari_clickseg.engine.propagation import PropagationSettings, propagate
    from napari_clickseg.engine.propagation_seed import simulate_seed
    from napari_clickseg.engine.scoring import score_masks
    from napari_clickseg.io.zarr_volumes import is_zarr_path

    out = Path(args.out)
    _check_output(out, args.overwrite, lazy=is_zarr_path(args.volume))
    settings = PropagationSettings(
        mode=args.mode,
        iou_threshold=args.iou_threshold,
        max_empty=args.max_empty,
        slice_range=tuple(args.range) if args.range else None,
        max_points=args.max_points,
        negatives=args.negatives,
        negative_margin=args.negative_margin,
    )
    if (args.seed_mask is None) == (not args.seed_from_gt):
        raise ValueError("give exactly one of --seed-mask FILE or --seed-from-gt")
    stack = _load_volume(args)
    if stack.lazy_axis is not None and (args.gt or args.seed_from_gt):
        raise ValueError(
            "--gt and --seed-from-gt need the whole volume in memory; with a zarr volume give "
            "--seed-mask"
        )
    if args.gt:
        stack.gt = _read_labels(args.gt, stack, args.gt_label, "ground truth")
    predictor = predictor_from_options(args)
    print(f"volume: {stack.description}; model: {args.model}; mode: {settings.mode}")
    seed_slices = args.seed_slices
    if args.seed_from_gt:
        if stack.gt is None:
            raise ValueError("--seed-from-gt needs a ground truth: --gt FILE or a BraTS case")
        seed = simulate_seed(
            predictor, stack.image, stack.gt, max_clicks=args.seed_clicks, target_iou=args.seed_iou
        )
        print(
            f"seed: slice {seed.slice}, {len(seed.clicks)} simulated click(s), "
            f"IoU {seed.ious[-1]:.3f}"
        )
        seed_mask, seed_slices = seed.mask, [seed.slice]
    else:
        seed_mask = _read_labels(args.seed_mask, stack, args.seed_label, "seed mask")
    start = time.perf_counter()
    if stack.lazy_axis is not None:
        return _propagate_lazy(args, stack, predictor, seed_mask, seed_slices, settings, out)
    result = propagate(
        predictor,
        stack.image,
        seed_mask,
        seed_slices=seed_slices,
        settings=settings,
        progress=ProgressBar("propagate"),
    )
    seconds = time.perf_counter() - start
    predicted = sum(f.predicted for f in result.fronts)
    print(f"seed slice(s): {', '.join(map(str, result.seeds))}")
    for front in result.fronts:
        way = "up" if front.direction > 0 else "down"
        print(
            f"  {way} from {front.seed}: last written {front.last_written}, "
            f"{front.predicted} predicted, stopped: {front.reason.value}"
        )
    print(
        f"wrote {len(result.written)} slice(s) in {seconds:.1f} s "
        f"({seconds / max(predicted, 1):.2f} s per predicted slice)"
    )
    if not result.written:
        print(
            "no slice written: every direction stopped at its first slice; try a lower "
            "--iou-threshold, or --mode points --negatives 8 (the random walker needs more than "
            "one click)"
        )
    if stack.gt is not None:
        score = score_masks(stack.gt, result.mask, axis=0)
        print(f"3D Dice vs ground truth: {score.dice:.4f} (IoU {score.iou:.4f})")
    dtype = np.uint8 if args.out_label <= 255 else np.uint16
    labels = result.mask.astype(dtype) * dtype(args.out_label)
    _write_atomic(out, stack.to_file(labels), stack.affine)
    print(f"wrote {out}")
    if args.model == BASELINE:
        print("(random-walker baseline: no trained weights)")
    return 0


def _propagate_lazy(args, stack, predictor, seed_mask, seed_slices, settings, out: Path) -> int:
    """Propagate through a zarr volume, writing a new zarr store slice by slice."""
    import shutil

    from napari_clickseg.cli_common import ProgressBar
    from napari_clickseg.engine.propagation import propagate
    from napari_clickseg.io.zarr_volumes import create_zarr_labels

    if args.out_label > 255:
        raise ValueError(f"--out-label must be 1..255 for a zarr output, got {args.out_label}")
    temporary = out.with_name(f".{out.name}.partial")
    shutil.rmtree(temporary, ignore_errors=True)
    chunks = getattr(stack.image, "chunks", None)
    labels = create_zarr_labels(temporary, tuple(stack.image.shape[:3]), chunks, np.uint8)
    try:
        start = time.perf_counter()
        result = propagate(
            predictor,
            stack.image,
            seed_mask,
            axis=stack.lazy_axis,
            seed_slices=seed_slices,
            settings=settings,
            progress=ProgressBar("propagate"),
            out=labels,
        )
        if args.out_label != 1:
            for z in (*result.seeds, *result.written):
                index = tuple(z if d == stack.lazy_axis else slice(None) for d in range(3))
                labels[index] = np.asarray(labels[index]) * np.uint8(args.out_label)
        seconds = time.perf_counter() - start
        if out.exists():  # --overwrite was checked before
            shutil.rmtree(out)
        temporary.rename(out)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    print(f"seed slice(s): {', '.join(map(str, result.seeds))}")
    print(f"wrote {len(result.written)} slice(s) in {seconds:.1f} s to {out} (zarr)")
    return 0


def add_propagate_parser(sub, add_model_options: Callable[[argparse.ArgumentParser, str], None]):
    """Register ``clickseg propagate`` on the sub-command parsers of ``clickseg``."""
    parser = sub.add_parser(
        "propagate", help="propagate an annotated slice mask through a volume, slice by slice"
    )
    add_model_options(parser, "default")
    parser.add_argument(
        "volume",
        help="NIfTI or TIFF volume, a BraTS case folder, or a zarr / OME-Zarr volume (read "
        "lazily, slice by slice)",
    )
    parser.add_argument(
        "--out", required=True, help="mask volume to write (.nii.gz or .tif; .zarr for zarr input)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    parser.add_argument(
        "--axis",
        type=int,
        default=None,
        help="array axis to propagate along (default: 2 for NIfTI/BraTS, 0 for TIFF and zarr)",
    )
    parser.add_argument(
        "--modality",
        default="flair",
        help="BraTS: one of t1, t1ce, t2, flair, or three comma-separated (R,G,B)",
    )
    parser.add_argument(
        "--target", default="whole", help="BraTS: tumour region whole, core or enhancing"
    )
    seed = parser.add_argument_group("seed (one of)")
    seed.add_argument("--seed-mask", help="labels volume (NIfTI/TIFF) with the annotated slice(s)")
    seed.add_argument(
        "--seed-label", type=int, default=None, help="object label in --seed-mask (default: any)"
    )
    seed.add_argument(
        "--seed-slices", type=int, nargs="+", help="annotated slices (default: all with a mask)"
    )
    seed.add_argument(
        "--seed-from-gt",
        action="store_true",
        help="seed: simulated clicks (official next-click rule) on the largest ground-truth slice",
    )
    seed.add_argument("--seed-clicks", type=int, default=20, help="click budget of the seed")
    seed.add_argument("--seed-iou", type=float, default=0.9, help="seed clicks stop at this IoU")
    parser.add_argument("--gt", help="ground-truth labels volume, for Dice (and --seed-from-gt)")
    parser.add_argument("--gt-label", type=int, default=None, help="object label in --gt")
    parser.add_argument("--mode", choices=MODES, default=DEFAULT_MODE, help="click/prior mode")
    parser.add_argument(
        "--iou-threshold",
        type=float,
        default=0.5,
        help="stop when a slice's IoU with the previous one is below this",
    )
    parser.add_argument(
        "--max-empty", type=int, default=2, help="stop after this many empty slices in a row"
    )
    parser.add_argument(
        "--range", type=int, nargs=2, metavar=("FIRST", "LAST"), help="slices to propagate in"
    )
    parser.add_argument("--max-points", type=int, default=5, help="clicks per slice, points modes")
    parser.add_argument(
        "--negatives",
        type=int,
        default=0,
        help="negative clicks per slice on a ring around the previous mask (click modes)",
    )
    parser.add_argument(
        "--negative-margin",
        type=float,
        default=0.5,
        help="ring distance from the previous mask, times its equivalent radius (0.5)",
    )
    parser.add_argument("--out-label", type=int, default=1, help="label value written (1)")
    parser.set_defaults(func=cmd_propagate)
    return parser
