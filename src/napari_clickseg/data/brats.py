"""BraTS brain tumour MRI (2017-2020 label scheme) as 2D evaluation objects.

Layout: ``root`` is a folder of case folders ``<case>/<case>_{t1,t1ce,t2,flair,seg}.nii.gz``
(``.nii`` also accepted), or one such case folder. Labels: 1 necrotic / non-enhancing core,
2 oedema, 4 enhancing tumour; whole tumour = ``seg > 0``, core = {1, 4}, enhancing = {4}.

Defaults reproduce the project's reading of SimpleClick's BraTS protocol: per case the axial
slice (array axis 2) with the largest whole-tumour area, FLAIR windowed to uint8 at volume level
(0.5-99.5 percentiles of the nonzero, i.e. brain, voxels), the whole tumour as one object, named
``<case>/z<index>/<target>``. Slices follow :mod:`napari_clickseg.data._volumes`: for BraTS's
(L, P, S) storage rows run anterior to posterior and columns from the patient's right to left.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from napari_clickseg.data._files import describe_folder, natural_key, require_folder
from napari_clickseg.data._volumes import (
    AXIS_LETTERS,
    check_axis,
    check_shapes,
    slice_areas,
    slice_spacing,
    take_slice,
)
from napari_clickseg.data.instances import Dataset, DatasetError, EvalObject, SkippedObject
from napari_clickseg.data.windowing import window_bounds, window_to_uint8
from napari_clickseg.io.nifti import read_nifti

__all__ = [
    "MODALITIES",
    "TARGETS",
    "BratsCase",
    "BratsDataset",
    "check_modality",
    "check_target",
    "find_brats_cases",
    "target_mask",
]

#: BraTS MR sequences, as in the file names.
MODALITIES = ("t1", "t1ce", "t2", "flair")
#: Label values of each target region (BraTS 2017-2020 scheme); "whole" is any nonzero label.
TARGETS: dict[str, tuple[int, ...]] = {"whole": (1, 2, 4), "core": (1, 4), "enhancing": (4,)}
_KNOWN_LABELS = (0, 1, 2, 4)
_ENDINGS = (".nii.gz", ".nii")


@dataclass(frozen=True)
class BratsCase:
    """One case folder: its name and the path of each file (modality name or ``"seg"``)."""

    name: str
    folder: Path
    files: dict[str, Path]

    def require(self, modalities: Sequence[str]) -> None:
        """Raise FileNotFoundError naming the files of ``modalities`` the case lacks."""
        missing = [m for m in modalities if m not in self.files]
        if missing:
            raise FileNotFoundError(
                f"BraTS case {self.folder} lacks modality file(s) "
                + ", ".join(f"{self.name}_{m}.nii.gz" for m in missing)
            )


def check_modality(modality: str | Sequence[str]) -> tuple[str, ...]:
    """Validate a modality choice: one name (grayscale) or three (R, G, B).

    Parameters
    ----------
    modality : str or sequence of str
        Names from :data:`MODALITIES`.

    Returns
    -------
    tuple of str
        One or three names.
    """
    names = (modality,) if isinstance(modality, str) else tuple(modality)
    if len(names) not in (1, 3) or any(m not in MODALITIES for m in names):
        raise ValueError(
            "BraTS modality must be one of t1, t1ce, t2, flair or a tuple of three of them "
            f"(R, G, B), got {modality!r}"
        )
    return names


def target_mask(seg: np.ndarray, target: str) -> np.ndarray:
    """Boolean mask of a target region: ``seg > 0`` for "whole", else the :data:`TARGETS` labels."""
    if target == "whole":
        return seg > 0
    return np.isin(seg, TARGETS[target])


def check_target(target: str) -> str:
    """Validate a target region name (a key of :data:`TARGETS`)."""
    if target not in TARGETS:
        raise ValueError(f"BraTS target must be one of {', '.join(TARGETS)}, got {target!r}")
    return target


def _case_file(folder: Path, case: str, kind: str) -> Path | None:
    for ending in _ENDINGS:
        path = folder / f"{case}_{kind}{ending}"
        if path.is_file():
            return path
    return None


def _read_case(folder: Path) -> BratsCase | None:
    """The case in ``folder``, or None if it has no BraTS file named after the folder."""
    files = {k: p for k in (*MODALITIES, "seg") if (p := _case_file(folder, folder.name, k))}
    if not files:
        return None
    if "seg" not in files:
        raise DatasetError(
            f"BraTS case {folder} has no segmentation {folder.name}_seg.nii.gz; evaluation needs "
            "the ground truth (validation and test cases have none)"
        )
    return BratsCase(folder.name, folder, files)


def find_brats_cases(root: str | Path) -> list[BratsCase]:
    """The BraTS cases under ``root`` (a folder of case folders, or one case folder).

    Parameters
    ----------
    root : str or pathlib.Path
        The folder.

    Returns
    -------
    list of BratsCase
        Cases in natural order of their names.

    Raises
    ------
    FileNotFoundError
        If ``root`` does not exist.
    DatasetError
        If no case folder is found, or a case folder has no segmentation.
    """
    root = require_folder(root, "BraTS")
    single = _read_case(root)
    if single is not None:
        return [single]
    folders = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name))
    cases = [c for f in folders if (c := _read_case(f)) is not None]
    if not cases:
        raise DatasetError(
            f"no BraTS case in {root}: expected case folders <case>/<case>_seg.nii.gz with "
            f"<case>_{{t1,t1ce,t2,flair}}.nii.gz beside it (or {root} itself being one); found: "
            f"{describe_folder(root)}"
        )
    return cases


def _looks_like_brats(root: Path) -> bool:
    """Cheap layout test for auto-detection (no file is read)."""

    def is_case(folder: Path) -> bool:
        return _case_file(folder, folder.name, "seg") is not None

    if not root.is_dir():
        return False
    return is_case(root) or any(p.is_dir() and is_case(p) for p in root.iterdir())


class BratsDataset(Dataset):
    """BraTS cases as 2D evaluation objects, one or more slices per case.

    Parameters
    ----------
    root : str or pathlib.Path
        Folder of case folders, or one case folder (see the module docstring).
    target : {"whole", "core", "enhancing"}, optional
        Tumour region that is the object: labels {1, 2, 4}, {1, 4} or {4}.
    slices : "largest", "all", int or sequence of int, optional
        "largest": per case the slice with the largest target area (the first of equal ones);
        "all": every slice with target; a sequence: those slice indices in every case.
    modality : str or tuple of 3 str, optional
        One of ``t1, t1ce, t2, flair`` (a grayscale image), or three of them mapped to R, G, B,
        e.g. ``("t1ce", "t2", "flair")``. Each modality is windowed on its own.
    axis : int, optional
        Array axis (nibabel's order) the slices are taken across; 2 is axial for BraTS.
    percentiles : tuple of float, optional
        Window percentiles, computed over each volume's nonzero (brain) voxels.
    name : str, optional
        Data set name (default ``"BraTS"``).

    Notes
    -----
    Cases (or requested slices) without the target are skipped and listed in :attr:`skipped`,
    e.g. ``target="enhancing"`` in a low-grade glioma.
    """

    def __init__(
        self,
        root: str | Path,
        target: str = "whole",
        slices: str | int | Sequence[int] = "largest",
        modality: str | Sequence[str] = "flair",
        axis: int = 2,
        percentiles: tuple[float, float] = (0.5, 99.5),
        name: str = "BraTS",
    ) -> None:
        super().__init__(name)
        self.target = check_target(target)
        self.slices = self._check_slices(slices)
        self.modalities = check_modality(modality)
        self.axis = check_axis(axis, "BraTS")
        self.percentiles = percentiles
        self.root = Path(root)
        self.cases = find_brats_cases(root)
        for case in self.cases:
            case.require(self.modalities)

    @staticmethod
    def matches(root: str | Path) -> bool:
        """Whether ``root`` looks like a BraTS folder (a case folder or a folder of them)."""
        return _looks_like_brats(Path(root))

    # ---------------------------------------------------------------------------------------

    @staticmethod
    def _check_slices(slices: str | int | Sequence[int]) -> str | tuple[int, ...]:
        if isinstance(slices, int | np.integer) and not isinstance(slices, bool):
            slices = (int(slices),)
        if isinstance(slices, str):
            if slices not in ("largest", "all"):
                raise ValueError(
                    f"BraTS slices must be 'largest', 'all' or a list of slice indices, got "
                    f"{slices!r}"
                )
            return slices
        indices = tuple(slices)
        if not indices or not all(
            isinstance(i, int | np.integer) and not isinstance(i, bool) and i >= 0 for i in indices
        ):
            raise ValueError(
                "BraTS slices must be 'largest', 'all' or non-negative slice indices, got "
                f"{slices!r}"
            )
        return tuple(int(i) for i in indices)

    def _sources(self) -> Sequence[BratsCase]:
        return self.cases

    def _read_target(self, case: BratsCase) -> tuple[np.ndarray, tuple[float, float, float]]:
        vol = read_nifti(case.files["seg"])
        seg = vol.data
        if seg.ndim != 3:
            raise DatasetError(f"BraTS segmentation {vol.path} is not 3D: shape {seg.shape}")
        if self.target != "whole":
            found = np.unique(seg)
            odd = [int(v) for v in found if v not in _KNOWN_LABELS]
            if odd:
                raise DatasetError(
                    f"BraTS segmentation {vol.path} has label(s) {odd}; target {self.target!r} "
                    "needs the 2017-2020 scheme (0 background, 1 core, 2 oedema, 4 enhancing)"
                )
        return target_mask(seg, self.target), vol.spacing

    def _choose(self, case: BratsCase, target: np.ndarray) -> tuple[list[int], list[SkippedObject]]:
        areas = slice_areas(target, self.axis)
        letter = AXIS_LETTERS[self.axis]
        if self.slices == "largest":
            if areas.max() == 0:
                reason = f"no {self.target} tumour in the volume"
                return [], [SkippedObject(f"{case.name}/{self.target}", case.name, reason)]
            return [int(np.argmax(areas))], []
        if self.slices == "all":
            chosen = [int(i) for i in np.flatnonzero(areas)]
            if not chosen:
                reason = f"no {self.target} tumour in the volume"
                return [], [SkippedObject(f"{case.name}/{self.target}", case.name, reason)]
            return chosen, []
        chosen, skipped = [], []
        for i in self.slices:
            if i >= areas.size:
                raise DatasetError(
                    f"BraTS slice {i} is out of range for case {case.name}: axis {self.axis} has "
                    f"{areas.size} slices (0..{areas.size - 1})"
                )
            if areas[i] == 0:
                name = f"{case.name}/{letter}{i}/{self.target}"
                skipped.append(SkippedObject(name, case.name, "empty ground truth"))
            else:
                chosen.append(i)
        return chosen, skipped

    def _scan(self, case: BratsCase) -> tuple[int, tuple[SkippedObject, ...]]:
        target, _ = self._read_target(case)
        chosen, skipped = self._choose(case, target)
        return len(chosen), tuple(skipped)

    def _load(self, case: BratsCase) -> Iterator[EvalObject | SkippedObject]:
        target, spacing = self._read_target(case)
        chosen, skipped = self._choose(case, target)
        yield from skipped
        if not chosen:
            return
        channels, windows = [], {}
        for m in self.modalities:
            vol = read_nifti(case.files[m])
            check_shapes(vol.data.shape, target.shape, str(vol.path), f"{case.name}_seg")
            bounds = window_bounds(vol.data, self.percentiles, mask="nonzero")
            windows[m] = bounds
            channels.append(window_to_uint8(vol.data, *bounds))
        letter = AXIS_LETTERS[self.axis]
        for i in chosen:
            planes = [take_slice(c, self.axis, i) for c in channels]
            image = planes[0] if len(planes) == 1 else np.stack(planes, axis=-1)
            image = np.ascontiguousarray(image)
            gt = np.ascontiguousarray(take_slice(target, self.axis, i)).astype(np.int8)
            image.flags.writeable = False
            yield EvalObject(
                name=f"{case.name}/{letter}{i}/{self.target}",
                image=image,
                gt=gt,
                source=str(case.folder),
                meta={
                    "case": case.name,
                    "axis": self.axis,
                    "slice": i,
                    "target": self.target,
                    "modalities": self.modalities,
                    "windows": windows,
                    "spacing": slice_spacing(spacing, self.axis),
                },
            )
