"""Exceptions raised while loading checkpoints and fetching weights.

This module imports nothing heavy (no torch), so widgets and the command line can catch these
errors without paying for the model stack.

Two families:

- :class:`CheckpointError` (a :class:`ValueError`): a file could not be loaded as a checkpoint.
  :class:`UnsafeCheckpointError` when the file asks for something that is not allowed (a global
  that could run code), :class:`NotACheckpointError` when the file is missing, empty, damaged or
  of another kind, :class:`CheckpointMismatchError` when its weights do not fit its model.
- :class:`WeightsError`: the weights registry and the download cache.
  :class:`UnknownWeightsError` for a name that is not registered,
  :class:`WeightsDownloadError` for a failed or corrupted download,
  :class:`ManualDownloadRequiredError` for weights that cannot be fetched automatically.
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "CheckpointMismatchError",
    "ManualDownloadRequiredError",
    "NotACheckpointError",
    "UnknownWeightsError",
    "UnsafeCheckpointError",
    "WeightsDownloadError",
    "WeightsError",
]


class CheckpointError(ValueError):
    """A file could not be loaded as a model checkpoint.

    Parameters
    ----------
    message : str
        What was wrong and what was expected.
    path : str, optional
        The file concerned.
    """

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path

    def __reduce__(self):  # keep the extra attribute when sent between processes
        return (type(self), (str(self), self.path))


class CheckpointMismatchError(CheckpointError):
    """The weights in a file do not fit the model its config describes."""


class NotACheckpointError(CheckpointError):
    """The file is missing, empty, damaged, or not a pickled checkpoint dict."""


class UnsafeCheckpointError(CheckpointError):
    """The file asks to load a global that is not allowed (it could run code).

    Parameters
    ----------
    message : str
        What was refused, and in which file.
    path : str, optional
        The file concerned.
    global_name : str, optional
        The refused global, as ``module.name``.
    """

    def __init__(
        self, message: str, path: str | None = None, global_name: str | None = None
    ) -> None:
        super().__init__(message, path)
        self.global_name = global_name

    def __reduce__(self):
        return (type(self), (str(self), self.path, self.global_name))


class WeightsError(Exception):
    """Base class for problems with the weights registry and the download cache."""


class UnknownWeightsError(WeightsError, LookupError):
    """A weights name that is neither registered nor an existing file or a URL."""


class WeightsDownloadError(WeightsError):
    """A download failed, was incomplete, or did not match its SHA-256."""


class ManualDownloadRequiredError(WeightsError):
    """Registered weights that cannot be downloaded automatically.

    The message says where to get the file by hand and how to use it afterwards.
    """
