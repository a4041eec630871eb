"""File listing helpers shared by the adapters: natural order, stems, pairing, folder summaries."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from napari_clickseg.data.instances import DatasetError
from napari_clickseg.io.images import IMAGE_SUFFIXES

__all__ = [
    "describe_folder",
    "file_stem",
    "list_files",
    "natural_key",
    "pair_by_stem",
    "require_folder",
]

_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders digit runs by value: ``2.png`` before ``10.png``.

    For zero-padded names (``00.tif`` ... ``19.tif``) this is the plain lexicographic order that
    the official loaders' ``sorted(glob(...))`` gives.
    """
    parts = _DIGITS.split(name)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p)


def file_stem(path: Path) -> str:
    """File name without its ending; ``case_seg.nii.gz`` gives ``case_seg``."""
    name = path.name
    if name.lower().endswith(".nii.gz"):
        return name[: -len(".nii.gz")]
    return path.stem


def require_folder(path: str | Path, what: str) -> Path:
    """Return ``path`` as a Path, or raise if it is not an existing folder."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what}: folder not found: {path}")
    if not path.is_dir():
        raise DatasetError(f"{what}: expected a folder, got a file: {path}")
    return path


def list_files(folder: Path, suffixes: Iterable[str] = IMAGE_SUFFIXES) -> list[Path]:
    """Files in ``folder`` (not recursive) whose ending is one of ``suffixes``, natural order.

    Hidden files (starting with ``.``) are left out.
    """
    ends = tuple(s.lower() for s in suffixes)
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name.lower().endswith(ends)
    ]
    return sorted(files, key=lambda p: natural_key(p.name))


def describe_folder(folder: Path, limit: int = 12) -> str:
    """A short listing of a folder for error messages, e.g. ``"a/, b/, x.png (3 entries)"``."""
    if not folder.is_dir():
        return "(not a folder)"
    entries = sorted(folder.iterdir(), key=lambda p: natural_key(p.name))
    if not entries:
        return "(empty folder)"
    names = [p.name + ("/" if p.is_dir() else "") for p in entries[:limit]]
    more = f", ... ({len(entries)} entries)" if len(entries) > limit else ""
    return ", ".join(names) + more


def pair_by_stem(
    image_dir: Path,
    mask_dir: Path,
    what: str,
    image_suffixes: Iterable[str] = IMAGE_SUFFIXES,
    mask_suffixes: Iterable[str] = IMAGE_SUFFIXES,
) -> list[tuple[Path, Path]]:
    """Match each image file with the mask file of the same stem, in the images' natural order.

    Masks without an image are ignored, as in the official loaders.

    Parameters
    ----------
    image_dir, mask_dir : pathlib.Path
        The two folders.
    what : str
        Prefix of error messages (the adapter and root).
    image_suffixes, mask_suffixes : iterable of str
        File endings listed in each folder.

    Returns
    -------
    list of (pathlib.Path, pathlib.Path)
        (image, mask) pairs.

    Raises
    ------
    DatasetError
        If there is no image, if an image has no mask, or if two files in a folder share a stem.
    """
    images = list_files(image_dir, image_suffixes)
    masks = list_files(mask_dir, mask_suffixes)
    if not images:
        raise DatasetError(
            f"{what}: no image files ({', '.join(image_suffixes)}) in {image_dir}; found: "
            f"{describe_folder(image_dir)}"
        )
    for kind, files in (("image", images), ("mask", masks)):
        seen: dict[str, Path] = {}
        for f in files:
            stem = file_stem(f)
            if stem in seen:
                raise DatasetError(
                    f"{what}: two {kind} files share the stem {stem!r}: {seen[stem].name} and "
                    f"{f.name}; keep one file per stem"
                )
            seen[stem] = f
    by_stem = {file_stem(m): m for m in masks}
    missing = [file_stem(i) for i in images if file_stem(i) not in by_stem]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise DatasetError(
            f"{what}: {len(missing)} of {len(images)} image(s) have no mask with the same stem "
            f"in {mask_dir}: {shown}"
        )
    return [(i, by_stem[file_stem(i)]) for i in images]
