"""The NoC protocol sharded over processes (``torchrun``): each rank a deterministic share.

Object ``i`` of the data set (in its documented order) belongs to rank ``i % world_size``, so
every rank reads the same sequence and evaluates every ``world_size``-th object; the shares
differ by at most one object. Rank 0 gathers the per-object records, puts them back in data-set
order and computes the metrics from them, so the result equals a one-process run object for
object (timings aside). The process group is the caller's (``training.distributed``
initialises it from the ``torchrun`` environment).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from napari_clickseg.engine.evaluation import (
    EvalObjectLike,
    EvaluationResult,
    EvaluationSettings,
    InteractivePredictor,
    ObjectResult,
    ProgressCallback,
    evaluate_dataset,
    summarise_records,
)
from napari_clickseg.engine.metrics import OFFICIAL_THRESHOLDS


@dataclass
class ShardOf:
    """Every ``world_size``-th object of ``objects``, starting at ``rank`` (lazy).

    Parameters
    ----------
    objects : iterable of EvalObject
        The whole data set, in order.
    rank, world_size : int
        This process's place in the job.
    """

    objects: Iterable[EvalObjectLike]
    rank: int
    world_size: int

    def __post_init__(self) -> None:
        if self.world_size < 1 or not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank {self.rank} does not lie in a world of {self.world_size}")

    def __iter__(self) -> Iterator[EvalObjectLike]:
        for index, obj in enumerate(self.objects):
            if index % self.world_size == self.rank:
                yield obj

    def __len__(self) -> int:
        total = len(self.objects)  # type: ignore[arg-type]
        return max(0, (total - self.rank + self.world_size - 1) // self.world_size)


def interleave(shares: list[list[ObjectResult]]) -> list[ObjectResult]:
    """Put the ranks' records back in data-set order (rank ``r`` holds objects r, r+W, ...)."""
    world_size = len(shares)
    total = sum(len(share) for share in shares)
    return [shares[index % world_size][index // world_size] for index in range(total)]


def evaluate_sharded(
    predictor: InteractivePredictor,
    objects: Iterable[EvalObjectLike],
    rank: int,
    world_size: int,
    settings: EvaluationSettings,
    thresholds: tuple[float, ...] = OFFICIAL_THRESHOLDS,
    progress: ProgressCallback | None = None,
    batch_size: int = 1,
) -> EvaluationResult | None:
    """Evaluate this rank's share and gather every share on rank 0.

    Parameters
    ----------
    predictor : Predictor or a baseline
        This process's predictor (on its own device).
    objects : iterable of EvalObject
        The whole data set; each rank passes the same one.
    rank, world_size : int
        From the process group; ``world_size == 1`` is a plain one-process run.
    settings, thresholds, progress, batch_size
        As for :func:`~napari_clickseg.engine.evaluation.evaluate_dataset`; ``progress``
        counts this rank's share.

    Returns
    -------
    EvaluationResult or None
        The whole data set's result on rank 0, None on the other ranks.
    """
    share = ShardOf(objects, rank, world_size)
    has_length = hasattr(objects, "__len__")
    records: list[ObjectResult] = []
    if not has_length or len(share) > 0:
        try:
            records = evaluate_dataset(
                predictor, share, settings, thresholds, progress, batch_size=batch_size
            ).objects
        except ValueError as error:
            # an unsized data set with fewer objects than ranks leaves this share empty
            if world_size == 1 or "yielded no objects" not in str(error):
                raise
    if world_size == 1:
        return summarise_records(records, settings, thresholds) if records else None
    import torch.distributed as dist

    gathered: list[list[ObjectResult]] | None = None
    if rank == 0:
        gathered = [[] for _ in range(world_size)]
    dist.gather_object(records, gathered, dst=0)
    if rank != 0:
        return None
    merged = interleave(gathered)
    if not merged:
        raise ValueError("the data set yielded no objects to evaluate")
    return summarise_records(merged, settings, thresholds)
