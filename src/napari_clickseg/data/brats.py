"""BraTS brain tumour MRI as 2D evaluation objects, in any of its releases' layouts.

Layouts (:mod:`napari_clickseg.data.brats_layouts`): BraTS 2017-2021
``<case>/<case>_{t1,t1ce,t2,flair,seg}.nii.gz``, BraTS 2023+ ``<case>-{t1n,t1c,t2w,t2f,seg}``,
BraTS 2012-2015 ``VSD.Brain.XX.O.MR_*`` folders of ``.mha`` files, and the Medical Segmentation
Decathlon's Task01 (4D ``imagesTr/`` + ``labelsTr/``), each with its own label scheme; the
targets are the same everywhere: whole tumour, tumour core, enhancing tumour.

Defaults reproduce the project's reading of SimpleClick's BraTS protocol: per case the axial
slice (array axis 2) with the largest whole-tumour area, FLAIR windowed to uint8 at volume level
(0.5-99.5 percentiles of the brain's voxels), the whole tumour as one object, named
``<case>/z<index>/<target>``. The brain is every voxel that is not background: by default the
background is found as the value filling most of the volume's outer faces (0 in most releases;
a negative constant in some normalised ones), or it is given (``background=``), or a brain mask
file is given (``brain_mask=``). Slices follow :mod:`napari_clickseg.data._volumes`: for
BraTS's (L, P, S) storage rows run anterior to posterior and columns from the patient's right
to left.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from napari_clickseg.data._files import require_folder
from napari_clickseg.data._volumes import (
    AXIS_LETTERS,
    check_axis,
    check_shapes,
    slice_areas,
    slice_spacing,
    take_slice,
)
from napari_clickseg.data.brats_layouts import (
    LABEL_SCHEMES,
    MODALITIES,
    BratsCase,
    VolumeRef,
    looks_like_brats,
    read_volume,
)
from napari_clickseg.data.brats_layouts import find_brats_cases as _find_cases
from napari_clickseg.data.instances import Dataset, DatasetError, EvalObject, SkippedObject
from napari_clickseg.data.windowing import window_bounds, window_to_uint8

__all__ = [
    "MODALITIES",
    "TARGETS",
    "BratsCase",
    "BratsDataset",
    "brain_voxels",
    "check_modality",
    "check_target",
    "find_brats_cases",
    "target_mask",
]

#: Label values of each target region in the BraTS 2017-2021 scheme (other schemes:
#: :data:`~napari_clickseg.data.brats_layouts.LABEL_SCHEMES`).
TARGETS: dict[str, tuple[int, ...]] = LABEL_SCHEMES["brats2018"].targets
#: Fraction of the outer faces one value must fill to count as the background.
_BACKGROUND_SHARE = 0.5


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


def target_mask(seg: np.ndarray, target: str, layout: str = "brats2018") -> np.ndarray:
    """Boolean mask of a target region: ``seg > 0`` for "whole", else the scheme's labels."""
    if target == "whole":
        return seg > 0
    return np.isin(seg, LABEL_SCHEMES[layout].targets[target])


def check_target(target: str) -> str:
    """Validate a target region name (a key of :data:`TARGETS`)."""
    if target not in TARGETS:
        raise ValueError(f"BraTS target must be one of {', '.join(TARGETS)}, got {target!r}")
    return target


def find_brats_cases(root: str | Path) -> list[BratsCase]:
    """The BraTS cases under ``root``, in any supported layout.

    Parameters
    ----------
    root : str or pathlib.Path
        A case folder, a folder of them (one or two levels deep), or a Decathlon Task01 folder.

    Returns
    -------
    list of BratsCase

    Raises
    ------
    FileNotFoundError
        If ``root`` does not exist.
    DatasetError
        If no case is found, or a case has no segmentation.
    """
    return _find_cases(require_folder(root, "BraTS"))


def brain_voxels(volume: np.ndarray, background: float | str | None = "auto") -> np.ndarray | None:
    """The voxels of a volume that are brain, i.e. not background.

    Parameters
    ----------
    volume : numpy.ndarray
        One modality.
    background : "auto", float or None
        "auto": the value filling at least half of the volume's outer faces, if there is one
        (0 for skull-stripped releases, a negative constant for some normalised ones); a
        number: that value; None: every voxel is brain.

    Returns
    -------
    numpy.ndarray or None
        Boolean mask, or None for every voxel.
    """
    if background is None:
        return None
    if isinstance(background, str):
        if background != "auto":
            raise ValueError(f"background must be 'auto', a number or None, got {background!r}")
        faces = np.concatenate(
            [np.moveaxis(volume, axis, 0)[[0, -1]].ravel() for axis in range(volume.ndim)]
        )
        values, counts = np.unique(faces, return_counts=True)
        if counts.max() < _BACKGROUND_SHARE * faces.size:
            return None
        background = values[np.argmax(counts)]
    return volume != background


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
        Window percentiles, computed over each volume's brain voxels.
    background : "auto", float or None, optional
        What is not brain (see :func:`brain_voxels`); ignored when ``brain_mask`` is given.
    brain_mask : str, optional
        A brain mask file per case (nonzero = brain), named relative to the case folder (e.g.
        ``"mask.nii.gz"``) or ``{case}`` formatted (``"{case}_brainmask.nii.gz"``).
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
        background: float | str | None = "auto",
        brain_mask: str | None = None,
        name: str = "BraTS",
    ) -> None:
        super().__init__(name)
        self.target = check_target(target)
        self.slices = self._check_slices(slices)
        self.modalities = check_modality(modality)
        self.axis = check_axis(axis, "BraTS")
        self.percentiles = percentiles
        brain_voxels(np.zeros((2, 2, 2)), background)  # validates the choice early
        self.background, self.brain_mask = background, brain_mask
        self.root = Path(root)
        self.cases = find_brats_cases(root)
        for case in self.cases:
            case.require(self.modalities)
        self.layout = ",".join(sorted({case.layout for case in self.cases}))

    @staticmethod
    def matches(root: str | Path) -> bool:
        """Whether ``root`` looks like a BraTS folder (a case folder or a folder of them)."""
        return looks_like_brats(Path(root))

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
        path = case.files["seg"].path
        seg, spacing = read_volume(case.files["seg"])
        if seg.ndim != 3:
            raise DatasetError(f"BraTS segmentation {path} is not 3D: shape {seg.shape}")
        if self.target != "whole":
            scheme = case.scheme
            odd = [int(v) for v in np.unique(seg) if v not in scheme.labels]
            if odd:
                raise DatasetError(
                    f"BraTS segmentation {path} has label(s) {odd}; target {self.target!r} "
                    f"needs the {scheme.name} scheme (labels {list(scheme.labels)})"
                )
        return target_mask(seg, self.target, case.layout), spacing

    def _brain(self, case: BratsCase, volume: np.ndarray) -> np.ndarray | None:
        if self.brain_mask is None:
            return brain_voxels(volume, self.background)
        path = case.folder / self.brain_mask.format(case=case.name)
        mask, _ = read_volume(VolumeRef(path))
        check_shapes(mask.shape, volume.shape, str(path), f"{case.name} image")
        return mask != 0

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
            data, _ = read_volume(case.files[m])
            check_shapes(data.shape, target.shape, str(case.files[m].path), f"{case.name} seg")
            bounds = window_bounds(data, self.percentiles, mask=self._brain(case, data))
            windows[m] = bounds
            channels.append(window_to_uint8(data, *bounds))
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
                    "layout": case.layout,
                    "axis": self.axis,
                    "slice": i,
                    "target": self.target,
                    "modalities": self.modalities,
                    "windows": windows,
                    "spacing": slice_spacing(spacing, self.axis),
                },
            )
