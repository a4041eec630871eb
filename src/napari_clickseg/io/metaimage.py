"""MetaImage (``.mha`` / ``.mhd``) volumes, as BraTS 2012-2015 and ITK tools store them.

A MetaImage file is a text header of ``Key = Value`` lines followed (``.mha``,
``ElementDataFile = LOCAL``) or accompanied (``.mhd`` + raw file) by the voxels, optionally
zlib-compressed (``CompressedData = True``). ``DimSize`` lists the fastest axis first, so the
voxels are read as (z, y, x) and returned as (x, y, z): the same (i, j, k) order as nibabel gives
for NIfTI, so both feed the same adapters.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from napari_clickseg.io.errors import UnreadableFileError

__all__ = ["MetaImage", "is_metaimage", "read_metaimage"]

METAIMAGE_SUFFIXES = (".mha", ".mhd")

#: MetaImage element types and their NumPy types.
ELEMENT_TYPES: dict[str, str] = {
    "MET_CHAR": "i1",
    "MET_UCHAR": "u1",
    "MET_SHORT": "i2",
    "MET_USHORT": "u2",
    "MET_INT": "i4",
    "MET_UINT": "u4",
    "MET_LONG": "i8",
    "MET_ULONG": "u8",
    "MET_FLOAT": "f4",
    "MET_DOUBLE": "f8",
}

_MAX_HEADER_BYTES = 65536


@dataclass(frozen=True)
class MetaImage:
    """A MetaImage volume.

    Attributes
    ----------
    data : numpy.ndarray
        Voxels in (i, j, k) order (``DimSize``'s order, fastest axis first).
    spacing : tuple of float
        ``ElementSpacing`` (or ``ElementSize``), one per axis.
    offset : tuple of float
        World position of the first voxel (``Offset`` / ``Position`` / ``Origin``).
    direction : numpy.ndarray
        (D, D) direction cosines (``TransformMatrix``), columns per axis.
    path : pathlib.Path
        The header file.
    """

    data: np.ndarray
    spacing: tuple[float, ...]
    offset: tuple[float, ...]
    direction: np.ndarray
    path: Path


def is_metaimage(path: str | Path) -> bool:
    """Whether a file name ends in ``.mha`` or ``.mhd`` (case-insensitive)."""
    return str(path).lower().endswith(METAIMAGE_SUFFIXES)


def _parse_header(raw: bytes, path: Path) -> tuple[dict[str, str], int]:
    """Header fields and the byte offset where the voxels start (after ElementDataFile)."""
    fields: dict[str, str] = {}
    position = 0
    while position < min(len(raw), _MAX_HEADER_BYTES):
        end = raw.find(b"\n", position)
        end = len(raw) if end < 0 else end
        line = raw[position:end].decode("latin-1").strip()
        position = end + 1
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise UnreadableFileError(f"{path}: not a MetaImage header line: {line[:80]!r}")
        fields[key.strip()] = value.strip()
        if key.strip() == "ElementDataFile":
            return fields, position
    raise UnreadableFileError(
        f"{path}: no ElementDataFile in the header; not a MetaImage (.mha / .mhd) file"
    )


def _numbers(fields: dict[str, str], keys: tuple[str, ...], count: int, default: float) -> tuple:
    for key in keys:
        if key in fields:
            values = tuple(float(v) for v in fields[key].split())
            if len(values) != count:
                raise ValueError(f"{key} has {len(values)} values, expected {count}")
            return values
    return (default,) * count


def read_metaimage(path: str | Path) -> MetaImage:
    """Read a MetaImage volume completely into memory.

    Parameters
    ----------
    path : str or pathlib.Path
        A ``.mha`` file (header and voxels) or a ``.mhd`` header.

    Returns
    -------
    MetaImage

    Raises
    ------
    FileNotFoundError
        If the file (or the ``.mhd``'s data file) does not exist.
    UnreadableFileError
        If the header or the voxels do not make a MetaImage volume.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MetaImage file not found: {path}")
    raw = path.read_bytes()
    fields, start = _parse_header(raw, path)
    try:
        dims = tuple(int(v) for v in fields["DimSize"].split())
        ndim = int(fields.get("NDims", len(dims)))
        element = ELEMENT_TYPES[fields["ElementType"]]
        channels = int(fields.get("ElementNumberOfChannels", "1"))
        spacing = _numbers(fields, ("ElementSpacing", "ElementSize"), ndim, 1.0)
        offset = _numbers(fields, ("Offset", "Position", "Origin"), ndim, 0.0)
        matrix = _numbers(fields, ("TransformMatrix", "Rotation", "Orientation"), ndim * ndim, 0.0)
    except KeyError as missing:
        raise UnreadableFileError(
            f"{path}: MetaImage header lacks {missing} or names an unknown ElementType "
            f"({fields.get('ElementType')!r}; known: {', '.join(ELEMENT_TYPES)})"
        ) from None
    except ValueError as error:
        raise UnreadableFileError(f"{path}: bad MetaImage header: {error}") from None
    if len(dims) != ndim:
        raise UnreadableFileError(f"{path}: DimSize has {len(dims)} values but NDims is {ndim}")
    direction = np.array(matrix, float).reshape(ndim, ndim).T if any(matrix) else np.eye(ndim)
    big_endian = fields.get("BinaryDataByteOrderMSB", fields.get("ElementByteOrderMSB", "False"))
    dtype = np.dtype(element).newbyteorder(">" if big_endian.lower() == "true" else "<")
    data_file = fields["ElementDataFile"]
    payload = raw[start:] if data_file == "LOCAL" else _data_file(path, data_file)
    if fields.get("CompressedData", "False").lower() == "true":
        try:
            payload = zlib.decompress(payload)
        except zlib.error as error:
            raise UnreadableFileError(f"{path}: compressed voxels are damaged: {error}") from None
    expected = int(np.prod(dims)) * channels * dtype.itemsize
    if len(payload) < expected:
        raise UnreadableFileError(
            f"{path}: {len(payload)} bytes of voxels, expected {expected} for DimSize {dims} of "
            f"{fields['ElementType']}; the file is truncated"
        )
    shape = tuple(reversed(dims)) + ((channels,) if channels > 1 else ())
    voxels = np.frombuffer(payload[:expected], dtype=dtype).reshape(shape)
    axes = tuple(reversed(range(ndim))) + ((ndim,) if channels > 1 else ())
    data = np.ascontiguousarray(voxels.transpose(axes)).astype(dtype.newbyteorder("="))
    return MetaImage(data, spacing, offset, direction, path)


def _data_file(header: Path, name: str) -> bytes:
    data_path = header.parent / name
    if not data_path.is_file():
        raise FileNotFoundError(f"{header}: its voxel file {data_path} does not exist")
    return data_path.read_bytes()
