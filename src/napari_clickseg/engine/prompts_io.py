"""Saving and loading clicks (prompts) as JSON, written atomically.

A prompts file keeps every click of the object being annotated and of the committed objects,
with the slice it belongs to, its label (positive or negative) and its order, so an annotation
can be resumed or audited. Format (version 1)::

    {
      "format": "napari-clickseg-prompts", "version": 1,
      "image": {"name": "EM stack", "shape": [20, 256, 256]},
      "current": [{"point": [5, 120.0, 88.5], "axis": 0, "positive": true, "order": 0}, ...],
      "committed": [{"label": 1, "clicks": [...]}, ...]
    }

``point`` is in image data coordinates (pixels, one value per spatial axis); ``axis`` is the
axis that was sliced when the click was made (null for 2D images), so ``point[axis]`` is the
click's slice.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT_NAME = "napari-clickseg-prompts"
FORMAT_VERSION = 1


class PromptsFileError(ValueError):
    """A prompts file is unreadable or not in the expected format."""


@dataclass(frozen=True)
class PromptClick:
    """One saved click.

    Attributes
    ----------
    point : tuple of float
        Image data coordinates, one per spatial axis.
    positive : bool
        On the object (True) or on the background.
    order : int
        When it was made; lower is earlier.
    axis : int or None
        The sliced axis when it was made (None for 2D images).
    """

    point: tuple[float, ...]
    positive: bool
    order: int
    axis: int | None = None

    @property
    def slice_index(self) -> int:
        """The slice the click belongs to (0 for 2D images)."""
        return 0 if self.axis is None else round(self.point[self.axis])


@dataclass
class Prompts:
    """The clicks of one image.

    Attributes
    ----------
    image_name : str
        Name of the image layer.
    image_shape : tuple of int
        Its spatial shape, to refuse loading prompts onto another image.
    current : list of PromptClick
        Clicks of the object being annotated.
    committed : dict of int to list of PromptClick
        Clicks of each committed object, by its label id.
    """

    image_name: str
    image_shape: tuple[int, ...]
    current: list[PromptClick] = field(default_factory=list)
    committed: dict[int, list[PromptClick]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict of the format above."""
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "image": {"name": self.image_name, "shape": list(self.image_shape)},
            "current": [_click_to_dict(c) for c in self.current],
            "committed": [
                {"label": int(label), "clicks": [_click_to_dict(c) for c in clicks]}
                for label, clicks in sorted(self.committed.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "prompts") -> Prompts:
        """Read the dict of the format above, with specific errors for anything else."""
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise PromptsFileError(
                f"{source} is not a napari-clickseg prompts file (expected "
                f"\"format\": \"{FORMAT_NAME}\")"
            )
        if data.get("version") != FORMAT_VERSION:
            raise PromptsFileError(
                f"{source} has prompts format version {data.get('version')!r}; this version "
                f"of napari-clickseg reads version {FORMAT_VERSION}"
            )
        try:
            image = data["image"]
            shape = tuple(int(v) for v in image["shape"])
            current = [_click_from_dict(c, len(shape)) for c in data.get("current", [])]
            committed = {
                int(entry["label"]): [_click_from_dict(c, len(shape)) for c in entry["clicks"]]
                for entry in data.get("committed", [])
            }
            return cls(str(image.get("name", "")), shape, current, committed)
        except (KeyError, TypeError, ValueError) as error:
            raise PromptsFileError(f"{source} is damaged or incomplete: {error!r}") from error


def save_prompts(path: str | Path, prompts: Prompts) -> Path:
    """Write prompts to a JSON file atomically (a crash leaves the old file intact).

    Parameters
    ----------
    path : str or Path
        Target file.
    prompts : Prompts
        What to save.

    Returns
    -------
    Path
        The written file.
    """
    text = json.dumps(prompts.to_dict(), indent=1)
    return atomic_write_bytes(path, text.encode("utf-8"))


def load_prompts(path: str | Path) -> Prompts:
    """Read a prompts file written by :func:`save_prompts`.

    Raises
    ------
    PromptsFileError
        If the file is not valid JSON or not in the prompts format.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PromptsFileError(f"cannot read prompts from {path}: {error}") from error
    return Prompts.from_dict(data, str(path))


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, rename it over.

    Parameters
    ----------
    path : str or Path
        Target file; its folder is created when missing.
    data : bytes
        Content.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def _click_to_dict(click: PromptClick) -> dict[str, Any]:
    return {
        "point": [float(v) for v in click.point],
        "axis": click.axis,
        "positive": bool(click.positive),
        "order": int(click.order),
    }


def _click_from_dict(data: dict[str, Any], ndim: int) -> PromptClick:
    point = tuple(float(v) for v in data["point"])
    if len(point) != ndim:
        raise ValueError(f"click point {list(point)} does not have {ndim} coordinates")
    axis = data.get("axis")
    if axis is not None and not 0 <= int(axis) < ndim:
        raise ValueError(f"click axis {axis} is not an axis of a {ndim}D image")
    positive = data["positive"]
    if not isinstance(positive, bool):
        raise ValueError(f"click 'positive' must be true or false, got {positive!r}")
    return PromptClick(point, positive, int(data["order"]), None if axis is None else int(axis))
