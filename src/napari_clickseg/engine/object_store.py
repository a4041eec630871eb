"""Committing an annotated object into a labels volume without overwriting other objects."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CommitPlan:
    """Where a commit writes and with which id.

    Attributes
    ----------
    label : int
        The new object's id.
    indices : tuple of numpy.ndarray
        Voxels to set to ``label`` (fancy indices into the labels volume).
    kept_pixels : int
        Voxels of the mask left alone because another object already holds them.
    overwritten_pixels : int
        Voxels taken from other objects (only with ``overwrite=True``).
    """

    label: int
    indices: tuple[np.ndarray, ...]
    kept_pixels: int
    overwritten_pixels: int

    @property
    def written_pixels(self) -> int:
        """How many voxels the commit sets."""
        return int(self.indices[0].size) if self.indices else 0


def next_label(labels: np.ndarray) -> int:
    """The smallest id above every id in use (1 for an empty volume).

    Raises
    ------
    OverflowError
        When the labels' dtype cannot hold another id.
    """
    labels = np.asarray(labels)
    label = int(labels.max(initial=0)) + 1
    if np.issubdtype(labels.dtype, np.integer) and label > np.iinfo(labels.dtype).max:
        raise OverflowError(
            f"the labels volume ({labels.dtype}) has no id left above {label - 1}; convert it "
            "to a wider integer type (e.g. uint32)"
        )
    return label


def plan_commit(
    labels: np.ndarray,
    mask: np.ndarray,
    overwrite: bool = False,
    label: int | None = None,
) -> CommitPlan:
    """Plan writing ``mask`` into ``labels`` as a new object.

    Parameters
    ----------
    labels : numpy.ndarray
        Integer labels volume (0 = background).
    mask : numpy.ndarray
        Boolean mask of the object, same shape.
    overwrite : bool
        Whether the new object may take voxels other objects hold; by default those keep their
        object.
    label : int, optional
        Id to use; by default :func:`next_label`.

    Returns
    -------
    CommitPlan
        What to write; apply it with ``labels[plan.indices] = plan.label`` (or an undoable
        layer edit).
    """
    labels = np.asarray(labels)
    mask = np.asarray(mask, bool)
    if mask.shape != labels.shape:
        raise ValueError(f"mask of shape {mask.shape} does not match labels {labels.shape}")
    if label is None:
        label = next_label(labels)
    elif label < 1:
        raise ValueError(f"object ids start at 1, got {label}")
    taken = mask & (labels != 0) & (labels != label)
    target = mask if overwrite else mask & ~taken
    return CommitPlan(
        label=int(label),
        indices=tuple(np.nonzero(target)),
        kept_pixels=0 if overwrite else int(taken.sum()),
        overwritten_pixels=int(taken.sum()) if overwrite else 0,
    )
