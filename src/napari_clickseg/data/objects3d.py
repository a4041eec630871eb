"""3D objects for slice-by-slice propagation: a volume, the object's 3D mask and a seed slice.

Volumes are stacks (Z, Y, X) whose slice ``z`` is exactly the 2D image the slice adapters give
(for BraTS, ``brats_objects_3d(...)[k].image[z]`` equals ``BratsDataset(..., slices=[z])``'s
image), so a propagation run can start from any 2D evaluation object.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from napari_clickseg.data._volumes import check_axis, check_shapes, to_stack
from napari_clickseg.data.brats import (
    brain_voxels,
    check_modality,
    check_target,
    find_brats_cases,
    target_mask,
)
from napari_clickseg.data.brats_layouts import read_volume
from napari_clickseg.data.windowing import window_bounds, window_to_uint8

__all__ = ["Object3D", "brats_objects_3d", "em_objects_3d"]


@dataclass(frozen=True, eq=False)
class Object3D:
    """One object in a volume.

    Attributes
    ----------
    name : str
        Unique name, e.g. ``"Brats18_2013_2_1/whole"`` or ``"cell17"``.
    image : numpy.ndarray
        uint8 (Z, Y, X) or (Z, Y, X, 3); may be shared by the objects of one volume.
    gt : numpy.ndarray
        bool (Z, Y, X), the object.
    slices : tuple of int
        Indices z with the object in ``gt[z]``, ascending.
    seed_slice : int
        The slice with the largest cross-section (the first of equal ones), where a propagation
        run starts.
    spacing : tuple of float
        Voxel size (z, y, x).
    source : str
        The file or case it comes from.
    meta : dict
        Extra details.
    """

    name: str
    image: np.ndarray
    gt: np.ndarray
    slices: tuple[int, ...]
    seed_slice: int
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    source: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.image.dtype != np.uint8 or not (
            self.image.ndim == 3 or (self.image.ndim == 4 and self.image.shape[3] == 3)
        ):
            raise ValueError(
                f"Object3D {self.name!r}: image must be uint8 (Z, Y, X) or (Z, Y, X, 3), got "
                f"{self.image.dtype} {self.image.shape}"
            )
        if self.gt.dtype != bool or self.gt.shape != self.image.shape[:3]:
            raise ValueError(
                f"Object3D {self.name!r}: gt must be bool of shape {self.image.shape[:3]}, got "
                f"{self.gt.dtype} {self.gt.shape}"
            )
        if not self.slices or self.seed_slice not in self.slices:
            raise ValueError(
                f"Object3D {self.name!r}: seed slice {self.seed_slice} must be one of the "
                f"object's slices {self.slices[:10]}"
            )

    @classmethod
    def from_volumes(
        cls,
        name: str,
        image: np.ndarray,
        gt: np.ndarray,
        spacing: Sequence[float] = (1.0, 1.0, 1.0),
        source: str = "",
        meta: dict[str, Any] | None = None,
    ) -> Object3D:
        """Build an object, finding its slices and seed slice from ``gt``.

        Parameters
        ----------
        name : str
            Object name.
        image : numpy.ndarray
            uint8 (Z, Y, X) or (Z, Y, X, 3).
        gt : numpy.ndarray
            (Z, Y, X), nonzero on the object.
        spacing : sequence of float, optional
            Voxel size (z, y, x).
        source : str, optional
            Origin.
        meta : dict, optional
            Extra details.

        Returns
        -------
        Object3D
            The object.

        Raises
        ------
        ValueError
            If ``gt`` is empty.
        """
        gt = np.asarray(gt).astype(bool, copy=False)
        areas = np.count_nonzero(gt.reshape(gt.shape[0], -1), axis=1)
        if not areas.any():
            raise ValueError(f"Object3D {name!r}: empty ground truth (no voxel in the object)")
        return cls(
            name=name,
            image=image,
            gt=gt,
            slices=tuple(int(z) for z in np.flatnonzero(areas)),
            seed_slice=int(np.argmax(areas)),
            spacing=tuple(float(s) for s in spacing),  # type: ignore[arg-type]
            source=source,
            meta=dict(meta or {}),
        )


def brats_objects_3d(
    root: str | Path,
    target: str = "whole",
    modality: str | Sequence[str] = "flair",
    axis: int = 2,
    percentiles: tuple[float, float] = (0.5, 99.5),
) -> Iterator[Object3D]:
    """One 3D tumour object per BraTS case, loaded lazily case by case.

    Parameters
    ----------
    root : str or pathlib.Path
        Folder of case folders, or one case folder (as :class:`BratsDataset`).
    target : {"whole", "core", "enhancing"}, optional
        Tumour region.
    modality : str or tuple of 3 str, optional
        Grayscale modality or three mapped to R, G, B.
    axis : int, optional
        Array axis (nibabel's order) that becomes Z of the stack.
    percentiles : tuple of float, optional
        Window percentiles over each volume's nonzero voxels, as :class:`BratsDataset`.

    Yields
    ------
    Object3D
        Named ``<case>/<target>``; cases without the target are left out.
    """
    check_target(target)
    axis = check_axis(axis, "BraTS")
    modalities = check_modality(modality)
    for case in find_brats_cases(root):
        case.require(modalities)
        seg, spacing = read_volume(case.files["seg"])
        mask = target_mask(seg, target, case.layout)
        if not mask.any():
            continue
        channels = []
        for m in modalities:
            data, _ = read_volume(case.files[m])
            check_shapes(data.shape, mask.shape, str(case.files[m].path), f"{case.name} seg")
            bounds = window_bounds(data, percentiles, mask=brain_voxels(data))
            channels.append(to_stack(window_to_uint8(data, *bounds), axis))
        image = channels[0] if len(channels) == 1 else np.stack(channels, axis=-1)
        image = np.ascontiguousarray(image)
        a, b = (d for d in range(3) if d != axis)
        yield Object3D.from_volumes(
            f"{case.name}/{target}",
            image,
            np.ascontiguousarray(to_stack(mask, axis)),
            spacing=(spacing[axis], spacing[b], spacing[a]),
            source=str(case.folder),
            meta={"case": case.name, "axis": axis, "target": target, "modalities": modalities},
        )


def em_objects_3d(
    image_stack: np.ndarray,
    label_stack: np.ndarray,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    prefix: str = "cell",
) -> Iterator[Object3D]:
    """One 3D object per instance id of a labelled stack (e.g. from ``make_em_stack``).

    Parameters
    ----------
    image_stack : numpy.ndarray
        uint8 (Z, Y, X) or (Z, Y, X, 3); shared (not copied) by all objects.
    label_stack : numpy.ndarray
        Integer (Z, Y, X) instance ids that persist through the stack; 0 is background.
    spacing : sequence of float, optional
        Voxel size (z, y, x).
    prefix : str, optional
        Object names are ``<prefix><id>``.

    Yields
    ------
    Object3D
        In ascending order of id, built one at a time (``list(...)`` for all of them).
    """
    image_stack = np.asarray(image_stack)
    label_stack = np.asarray(label_stack)
    if image_stack.shape[:3] != label_stack.shape or label_stack.ndim != 3:
        raise ValueError(
            f"em_objects_3d: label stack {label_stack.shape} must be (Z, Y, X) matching the image "
            f"stack {image_stack.shape}"
        )
    if not np.issubdtype(label_stack.dtype, np.integer):
        raise ValueError(f"em_objects_3d: labels must be integers, got {label_stack.dtype}")
    ids = [int(i) for i in np.unique(label_stack) if i != 0]
    if not ids:
        raise ValueError("em_objects_3d: the label stack has no instance (all zero)")
    return (
        Object3D.from_volumes(
            f"{prefix}{i}", image_stack, label_stack == i, spacing=spacing, meta={"id": i}
        )
        for i in ids
    )
