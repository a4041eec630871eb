"""The synthetic generators as an evaluation data set: ``synthetic:<kind>``.

Each source is one seeded volume of :mod:`napari_clickseg.data.synthetic`; each object is one
target in one slice (``slice_step`` slices apart), as 2D slices of a real volume would be:

* ``em_cells``, ``em_mitochondria``: every cell / mitochondrion id of an ssTEM-like slice;
* ``brain``: the BraTS compartments ``whole`` (labels 1, 2, 4), ``core`` (1, 4) and
  ``enhancing`` (4) on one modality, windowed to 8 bits at volume level;
* ``knee``: ``femoral`` (1) and ``tibial`` (2) cartilage.

Seeds make held-out sets: training uses some seeds, evaluation others (``seed``, ``seed + 1``,
... for ``volumes`` volumes). Objects smaller than ``min_area`` pixels are skipped (and listed by
:attr:`~napari_clickseg.data.instances.Dataset.skipped`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from napari_clickseg.data.instances import Dataset, DatasetError, EvalObject, SkippedObject

__all__ = ["BRAIN_COMPARTMENTS", "SYNTHETIC_KINDS", "SyntheticDataset"]

SYNTHETIC_KINDS = ("em_cells", "em_mitochondria", "brain", "knee")

#: BraTS label values of each brain target.
BRAIN_COMPARTMENTS = {"whole": (1, 2, 4), "core": (1, 4), "enhancing": (4,)}

_MODALITIES = ("t1", "t1ce", "t2", "flair")
_KNEE_TARGETS = {"femoral": (1,), "tibial": (2,)}


class SyntheticDataset(Dataset):
    """Objects of seeded synthetic volumes, one image per slice.

    Parameters
    ----------
    kind : str or Path
        One of :data:`SYNTHETIC_KINDS` (the part after ``synthetic:`` in a spec).
    seed : int
        Seed of the first volume.
    volumes : int
        Number of volumes (seeds ``seed`` .. ``seed + volumes - 1``).
    shape : sequence of int, optional
        Volume shape (Z, Y, X); the generator's default when None.
    slice_step : int
        Take every ``slice_step``-th slice.
    min_area : int
        Objects with fewer pixels are skipped.
    modality : {'t1', 't1ce', 't2', 'flair'}
        Brain only: the modality the model sees.
    targets : sequence of str, optional
        Brain only: which of :data:`BRAIN_COMPARTMENTS` (default: all three).
    **generator_options
        Passed to the generator (e.g. ``n_cells`` for the EM stack).
    """

    def __init__(
        self,
        kind: str | Path,
        seed: int = 0,
        volumes: int = 1,
        shape: Sequence[int] | None = None,
        slice_step: int = 1,
        min_area: int = 20,
        modality: str = "flair",
        targets: Sequence[str] | None = None,
        **generator_options: Any,
    ) -> None:
        kind = str(kind)
        super().__init__(f"synthetic_{kind}")
        if kind not in SYNTHETIC_KINDS:
            raise DatasetError(
                f"unknown synthetic kind {kind!r}; known: {', '.join(SYNTHETIC_KINDS)} "
                "(e.g. 'synthetic:em_cells')"
            )
        if volumes < 1 or slice_step < 1:
            raise DatasetError(
                f"synthetic: volumes and slice_step must be >= 1, got {volumes}, {slice_step}"
            )
        if modality not in _MODALITIES:
            raise DatasetError(
                f"synthetic brain: unknown modality {modality!r}; choose one of "
                f"{', '.join(_MODALITIES)}"
            )
        if targets is None:
            targets = list(BRAIN_COMPARTMENTS)
        targets = [targets] if isinstance(targets, str) else list(targets)
        unknown = [t for t in targets if t not in BRAIN_COMPARTMENTS]
        if unknown:
            raise DatasetError(
                f"synthetic brain: unknown target(s) {unknown}; choose from "
                f"{', '.join(BRAIN_COMPARTMENTS)}"
            )
        self.kind = kind
        self.seed = int(seed)
        self.volumes = int(volumes)
        self.shape = None if shape is None else tuple(int(s) for s in shape)
        self.slice_step = int(slice_step)
        self.min_area = int(min_area)
        self.modality = modality
        self.targets = targets
        self.generator_options = generator_options

    def _sources(self) -> Sequence[int]:
        return [self.seed + volume for volume in range(self.volumes)]

    def _volume(self, volume_seed: int) -> tuple[np.ndarray, np.ndarray, dict | None]:
        """(uint8 image volume, label volume, {target: label values} or None for per-id)."""
        from napari_clickseg.data import synthetic
        from napari_clickseg.data.windowing import window_to_uint8

        options = dict(self.generator_options)
        if self.kind.startswith("em_"):
            if self.shape is not None:
                options.update(shape=self.shape[-2:], n_slices=self.shape[0])
            stack, cells, mitochondria = synthetic.make_em_stack(seed=volume_seed, **options)
            return stack, (cells if self.kind == "em_cells" else mitochondria), None
        if self.shape is not None:
            options["shape"] = self.shape
        if self.kind == "brain":
            raw, seg = synthetic.make_brain_mri(seed=volume_seed, **options)
            channel = raw[_MODALITIES.index(self.modality)]
            image = window_to_uint8(channel, mask=channel > 0.05)
            return image, seg, {t: BRAIN_COMPARTMENTS[t] for t in self.targets}
        raw, labels = synthetic.make_knee_mri(seed=volume_seed, **options)
        return window_to_uint8(raw), labels, dict(_KNEE_TARGETS)

    def _load(self, volume_seed: int) -> Iterator[EvalObject | SkippedObject]:
        image, labels, targets = self._volume(volume_seed)
        for z in range(0, image.shape[0], self.slice_step):
            plane = np.ascontiguousarray(image[z])
            plane.flags.writeable = False
            label_plane = labels[z]
            source = f"synthetic:{self.kind}/v{volume_seed}/z{z}"
            if targets is None:
                found = [(f"id{int(i)}", label_plane == i) for i in np.unique(label_plane) if i]
            else:
                found = [(n, np.isin(label_plane, v)) for n, v in targets.items()]
            for name, mask in found:
                full_name = f"{self.kind}/v{volume_seed}/z{z}/{name}"
                if int(mask.sum()) < self.min_area:
                    yield SkippedObject(full_name, source, f"fewer than {self.min_area} pixels")
                    continue
                yield EvalObject(
                    name=full_name,
                    image=plane,
                    gt=mask.astype(np.int8),
                    source=source,
                    meta={"volume": volume_seed, "slice": z, "object": name},
                )
