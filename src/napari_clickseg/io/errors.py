"""Errors raised by the readers in :mod:`napari_clickseg.io`."""

from __future__ import annotations

__all__ = ["UnreadableFileError"]


class UnreadableFileError(ValueError):
    """A file exists but could not be decoded in the format its reader expects."""
