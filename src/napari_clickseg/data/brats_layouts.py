"""The file layouts BraTS data come in, and their label schemes.

Every layout gives :class:`BratsCase` objects: a name, the volume of each modality (``t1``,
``t1ce``, ``t2``, ``flair``) and of the segmentation (``seg``), and the label scheme that says
which labels make the whole tumour, the core and the enhancing tumour.

=============  ====================================================================  ========
layout         files                                                                 labels
=============  ====================================================================  ========
``brats2018``  ``<case>/<case>_{t1,t1ce,t2,flair,seg}.nii.gz`` (BraTS 2017-2021)     1, 2, 4
``brats2023``  ``<case>/<case>-{t1n,t1c,t2w,t2f,seg}.nii.gz`` (BraTS 2023+)          1, 2, 3
``brats2015``  ``<case>/VSD.Brain.XX.O.MR_{Flair,T1,T1c,T2}.<id>/*.mha`` and         1-4
               ``VSD.Brain_<n>more.XX.O.OT.<id>/*.mha`` (BraTS 2012-2015; the
               ``.mha`` may also sit directly in the case folder, or be NIfTI)
``msd``        ``imagesTr/<case>.nii.gz`` (4D: FLAIR, T1w, t1gd, T2w, or the order in  1, 2, 3
               ``dataset.json``) + ``labelsTr/<case>.nii.gz`` (Decathlon Task01)
=============  ====================================================================  ========

Case folders are found in the root, as the root itself, or one level further down (BraTS
2015's ``HGG/`` and ``LGG/``). Files whose names start with ``._`` (macOS resource forks, as in
the Decathlon archive) are ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from napari_clickseg.data._files import describe_folder, natural_key
from napari_clickseg.data.instances import DatasetError
from napari_clickseg.io.metaimage import is_metaimage, read_metaimage
from napari_clickseg.io.nifti import read_nifti

__all__ = [
    "LABEL_SCHEMES",
    "MODALITIES",
    "BratsCase",
    "LabelScheme",
    "VolumeRef",
    "find_brats_cases",
    "looks_like_brats",
    "read_volume",
]

#: BraTS MR sequences, by our names.
MODALITIES = ("t1", "t1ce", "t2", "flair")
_NIFTI_ENDINGS = (".nii.gz", ".nii")


@dataclass(frozen=True)
class LabelScheme:
    """Which segmentation labels make each target region.

    Attributes
    ----------
    name : str
        The releases that use it.
    targets : dict of str to tuple of int
        ``whole``, ``core`` and ``enhancing``.
    labels : tuple of int
        Every label value the scheme has (0 included).
    """

    name: str
    targets: dict[str, tuple[int, ...]]
    labels: tuple[int, ...]


LABEL_SCHEMES: dict[str, LabelScheme] = {
    # 1 necrotic / non-enhancing core, 2 oedema, 4 enhancing
    "brats2018": LabelScheme(
        "BraTS 2017-2021", {"whole": (1, 2, 4), "core": (1, 4), "enhancing": (4,)}, (0, 1, 2, 4)
    ),
    # 1 non-enhancing core, 2 surrounding FLAIR hyperintensity, 3 enhancing
    "brats2023": LabelScheme(
        "BraTS 2023+", {"whole": (1, 2, 3), "core": (1, 3), "enhancing": (3,)}, (0, 1, 2, 3)
    ),
    # 1 necrosis, 2 oedema, 3 non-enhancing, 4 enhancing
    "brats2015": LabelScheme(
        "BraTS 2012-2015",
        {"whole": (1, 2, 3, 4), "core": (1, 3, 4), "enhancing": (4,)},
        (0, 1, 2, 3, 4),
    ),
    # 1 oedema, 2 non-enhancing tumour, 3 enhancing tumour
    "msd": LabelScheme(
        "Medical Segmentation Decathlon Task01",
        {"whole": (1, 2, 3), "core": (2, 3), "enhancing": (3,)},
        (0, 1, 2, 3),
    ),
}


@dataclass(frozen=True)
class VolumeRef:
    """A volume on disk: a NIfTI or MetaImage file, and a channel of a 4D file (or None)."""

    path: Path
    channel: int | None = None


@dataclass(frozen=True)
class BratsCase:
    """One case: its name, folder, volumes by modality (and ``"seg"``), layout and scheme."""

    name: str
    folder: Path
    files: dict[str, VolumeRef]
    layout: str = "brats2018"

    @property
    def scheme(self) -> LabelScheme:
        """The label scheme of the case's layout."""
        return LABEL_SCHEMES[self.layout]

    def require(self, modalities: tuple[str, ...]) -> None:
        """Raise FileNotFoundError naming the modalities the case lacks."""
        missing = [m for m in modalities if m not in self.files]
        if missing:
            raise FileNotFoundError(
                f"BraTS case {self.folder} ({self.layout} layout) lacks modality file(s) "
                + ", ".join(_expected_name(self, m) for m in missing)
            )


def _expected_name(case: BratsCase, modality: str) -> str:
    """The file a layout keeps a modality in, for messages."""
    if case.layout == "brats2023":
        theirs = {ours: theirs for theirs, ours in _NAMES_2023.items()}[modality]
        return f"{case.name}-{theirs}.nii.gz"
    if case.layout == "brats2015":
        theirs = {ours: theirs for theirs, ours in _NAMES_2015.items()}[modality]
        return f"VSD.Brain.XX.O.{theirs}.<id>/*.mha"
    if case.layout == "msd":
        return f"a {modality} channel in dataset.json"
    return f"{case.name}_{modality}.nii.gz"


def read_volume(ref: VolumeRef) -> tuple[np.ndarray, tuple[float, float, float]]:
    """The voxels ((i, j, k) order) and the first three voxel sizes of a volume reference."""
    if is_metaimage(ref.path):
        image = read_metaimage(ref.path)
        data, spacing = image.data, image.spacing
    else:
        volume = read_nifti(ref.path)
        data, spacing = volume.data, volume.spacing
    if ref.channel is not None:
        if data.ndim != 4 or ref.channel >= data.shape[3]:
            raise DatasetError(
                f"{ref.path}: expected a 4D volume with channel {ref.channel}, got shape "
                f"{data.shape}"
            )
        data = data[..., ref.channel]
    return data, tuple((*(float(s) for s in spacing), 1.0, 1.0, 1.0)[:3])


def _visible(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if not p.name.startswith(("._", "."))]


def _nifti_file(folder: Path, stem: str) -> Path | None:
    for ending in _NIFTI_ENDINGS:
        path = folder / f"{stem}{ending}"
        if path.is_file():
            return path
    return None


def _case_2018(folder: Path) -> BratsCase | None:
    found = {k: p for k in (*MODALITIES, "seg") if (p := _nifti_file(folder, f"{folder.name}_{k}"))}
    return _complete(folder, found, "brats2018", f"{folder.name}_seg.nii.gz")


_NAMES_2023 = {"t1n": "t1", "t1c": "t1ce", "t2w": "t2", "t2f": "flair", "seg": "seg"}


def _case_2023(folder: Path) -> BratsCase | None:
    found = {
        ours: p
        for theirs, ours in _NAMES_2023.items()
        if (p := _nifti_file(folder, f"{folder.name}-{theirs}"))
    }
    return _complete(folder, found, "brats2023", f"{folder.name}-seg.nii.gz")


_VSD = re.compile(r"^VSD\.Brain(?:_\d+more)?\.XX\.O\.(MR_Flair|MR_T1c|MR_T1|MR_T2|OT)\.\d+")
_NAMES_2015 = {"MR_Flair": "flair", "MR_T1": "t1", "MR_T1c": "t1ce", "MR_T2": "t2", "OT": "seg"}


def _volume_in(entry: Path) -> Path | None:
    """A ``VSD...`` entry's volume: the file itself, or the one volume file in its folder."""
    if entry.is_file():
        return entry if is_metaimage(entry) or entry.name.lower().endswith(_NIFTI_ENDINGS) else None
    if entry.is_dir():
        inside = sorted(
            p
            for p in _visible(entry)
            if p.is_file() and (is_metaimage(p) or p.name.lower().endswith(_NIFTI_ENDINGS))
        )
        return inside[0] if inside else None
    return None


def _case_2015(folder: Path) -> BratsCase | None:
    found: dict[str, Path] = {}
    for entry in _visible(folder):
        match = _VSD.match(entry.name)
        if match and (volume := _volume_in(entry)) is not None:
            found[_NAMES_2015[match.group(1)]] = volume
    return _complete(folder, found, "brats2015", "VSD.Brain_3more.XX.O.OT.<id>/*.mha")


def _complete(folder: Path, found: dict[str, Path], layout: str, seg_name: str) -> BratsCase | None:
    if not found:
        return None
    if "seg" not in found:
        raise DatasetError(
            f"BraTS case {folder} has no segmentation {seg_name}; evaluation needs the ground "
            "truth (validation and test cases have none)"
        )
    return BratsCase(folder.name, folder, {k: VolumeRef(p) for k, p in found.items()}, layout)


_CASE_READERS: tuple[Callable[[Path], BratsCase | None], ...] = (_case_2018, _case_2023, _case_2015)

#: The Decathlon's modality names, and their default channel order.
_MSD_NAMES = {"FLAIR": "flair", "T1w": "t1", "t1gd": "t1ce", "T2w": "t2"}
_MSD_DEFAULT_ORDER = ("FLAIR", "T1w", "t1gd", "T2w")


def _msd_channels(root: Path) -> dict[str, int]:
    order = dict(enumerate(_MSD_DEFAULT_ORDER))
    described = root / "dataset.json"
    if described.is_file():
        try:
            modality = json.loads(described.read_text())["modality"]
            order = {int(k): v for k, v in modality.items()}
        except (ValueError, KeyError, TypeError) as error:
            raise DatasetError(
                f"{described}: cannot read its 'modality' mapping (channel -> name): {error}"
            ) from None
    unknown = [name for name in order.values() if name not in _MSD_NAMES]
    if unknown:
        raise DatasetError(
            f"{described}: unknown modality name(s) {unknown}; expected {list(_MSD_NAMES)}"
        )
    return {_MSD_NAMES[name]: channel for channel, name in order.items()}


def _msd_cases(root: Path) -> list[BratsCase]:
    images, labels = root / "imagesTr", root / "labelsTr"
    channels = _msd_channels(root)
    cases = []
    for image in sorted(_visible(images), key=lambda p: natural_key(p.name)):
        if not image.name.lower().endswith(_NIFTI_ENDINGS):
            continue
        label = labels / image.name
        if not label.is_file():
            raise DatasetError(f"Decathlon case {image} has no label file {label}")
        name = image.name.split(".")[0]
        files = {m: VolumeRef(image, c) for m, c in channels.items()}
        files["seg"] = VolumeRef(label)
        cases.append(BratsCase(name, root, files, "msd"))
    return cases


def _is_msd(root: Path) -> bool:
    return (root / "imagesTr").is_dir() and (root / "labelsTr").is_dir()


def _read_case(folder: Path) -> BratsCase | None:
    for reader in _CASE_READERS:
        if (case := reader(folder)) is not None:
            return case
    return None


def _sub_folders(folder: Path) -> list[Path]:
    return sorted((p for p in _visible(folder) if p.is_dir()), key=lambda p: natural_key(p.name))


def _case_folders(root: Path) -> list[BratsCase]:
    """The root as a case, else its sub-folders, else theirs (BraTS 2015's HGG/ and LGG/)."""
    if (case := _read_case(root)) is not None:
        return [case]
    children = _sub_folders(root)
    cases = [case for child in children if (case := _read_case(child)) is not None]
    if cases:
        return cases
    return [
        case
        for child in children
        for grandchild in _sub_folders(child)
        if (case := _read_case(grandchild)) is not None
    ]


def find_brats_cases(root: Path) -> list[BratsCase]:
    """The BraTS cases under ``root`` in any layout of the module docstring.

    Parameters
    ----------
    root : pathlib.Path
        A case folder, a folder of case folders (one or two levels deep) or a Decathlon
        ``Task01_BrainTumour`` folder.

    Returns
    -------
    list of BratsCase
        In natural order of their names (the Decathlon's in file order).

    Raises
    ------
    DatasetError
        If no case is found, or a case has no segmentation.
    """
    cases = _msd_cases(root) if _is_msd(root) else _case_folders(root)
    if not cases:
        raise DatasetError(
            f"no BraTS case in {root}: expected case folders <case>/<case>_{{t1,t1ce,t2,flair,"
            "seg}.nii.gz (2017-2021), <case>/<case>-{t1n,t1c,t2w,t2f,seg}.nii.gz (2023+), "
            "<case>/VSD.Brain.XX.O.MR_*/ + VSD.Brain_3more.XX.O.OT.*/ (2012-2015), or imagesTr/ "
            f"+ labelsTr/ (Decathlon Task01), or {root} itself being one case; found: "
            f"{describe_folder(root)}"
        )
    return cases


def looks_like_brats(root: Path) -> bool:
    """Cheap layout test for auto-detection (file names only, no volume is read)."""
    if not root.is_dir():
        return False
    if _is_msd(root):
        return True

    def is_case(folder: Path) -> bool:
        names = [p.name for p in _visible(folder)]
        return (
            _nifti_file(folder, f"{folder.name}_seg") is not None
            or _nifti_file(folder, f"{folder.name}-seg") is not None
            or any(_VSD.match(n) and ".OT." in n for n in names)
        )

    return is_case(root) or any(
        is_case(child) or any(is_case(g) for g in _sub_folders(child))
        for child in _sub_folders(root)
    )
