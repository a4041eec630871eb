"""Safe saving: write to a temporary file beside the target, then rename it over the target.

A crash, a full disk or an exception while writing leaves the target as it was (absent, or the
old complete file): the new content appears only through :func:`os.replace`, which is atomic
when source and target are in the same folder on one file system.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "file_ending"]

#: Endings with two dots that writers pick their format from.
_DOUBLE_ENDINGS = (".nii.gz", ".ome.tif", ".ome.tiff")


def file_ending(path: str | Path) -> str:
    """The format-defining ending of a file name: ``.nii.gz`` for ``a.nii.gz``, else the suffix."""
    name = Path(path).name.lower()
    for ending in _DOUBLE_ENDINGS:
        if name.endswith(ending):
            return Path(path).name[-len(ending) :]
    return Path(path).suffix


def _new_file_mode(target: Path) -> int:
    """Permissions the saved file gets: the old file's, or the default for new files."""
    if target.exists():
        return target.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Write a file safely through a temporary file in the same folder.

    Parameters
    ----------
    path : str or pathlib.Path
        The file to create or replace. Its folder must exist.
    write : callable
        ``write(temporary_path)`` writes the complete file to the path it is given. The
        temporary name ends like ``path`` (e.g. ``.nii.gz``), so format-by-name writers work.

    Returns
    -------
    pathlib.Path
        ``path``, now holding the new content.

    Raises
    ------
    FileNotFoundError
        If the folder of ``path`` does not exist.
    IsADirectoryError
        If ``path`` is a folder.
    Exception
        Whatever ``write`` raises; the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot save {target}: folder {folder} does not exist")
    if target.is_dir():
        raise IsADirectoryError(f"cannot save {target}: it is a folder, expected a file name")
    fd, temporary = tempfile.mkstemp(
        dir=folder, prefix=f".{target.name}.", suffix=f".tmp{file_ending(target)}"
    )
    os.close(fd)
    temporary_path = Path(temporary)
    try:
        write(temporary_path)
        with open(temporary_path, "rb+") as written:
            os.fsync(written.fileno())
        os.chmod(temporary_path, _new_file_mode(target))
        os.replace(temporary_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary_path.unlink()
        raise
    _fsync_folder(folder)
    return target
