"""Data-parallel training under ``torchrun``: process group, device, rank-0 duties.

``torchrun --nproc_per_node=G [--nnodes=N --node_rank=R --rdzv_endpoint=HOST:PORT] ...`` starts
one process per GPU and sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT``. :func:`init_distributed` reads them, joins the process group (NCCL on CUDA,
Gloo on CPU) and pins the process to its GPU. Without them (a plain ``python`` or ``clickseg``
run) it returns a single-process context and nothing is initialised. The model is wrapped in
:class:`torch.nn.parallel.DistributedDataParallel` and the samples split with
:class:`torch.utils.data.DistributedSampler` by the trainer; only rank 0 logs and saves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["DistributedContext", "init_distributed", "resolve_device"]


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in a (possibly single-process) job.

    Attributes
    ----------
    rank, local_rank, world_size : int
        Global rank, rank on this node, number of processes.
    device : torch.device
        This process's device.
    backend : str or None
        ``"nccl"`` or ``"gloo"`` when a process group was initialised, else None.
    """

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")  # noqa: RUF009 - immutable value
    backend: str | None = None

    @property
    def distributed(self) -> bool:
        """Whether several processes take part."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that logs, validates and saves."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every process (no-op in a single process)."""
        if self.distributed:
            if self.backend == "nccl":
                dist.barrier(device_ids=[self.device.index or 0])
            else:
                dist.barrier()

    def mean(self, value: float) -> float:
        """Average a number over the processes."""
        if not self.distributed:
            return float(value)
        tensor = torch.tensor([float(value)], dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return float(tensor.item()) / self.world_size

    def broadcast_flag(self, flag: bool) -> bool:
        """Rank 0's value of ``flag`` on every process."""
        if not self.distributed:
            return flag
        tensor = torch.tensor([int(flag)], device=self.device)
        dist.broadcast(tensor, src=0)
        return bool(tensor.item())

    def shutdown(self) -> None:
        """Leave the process group (if this context joined one)."""
        if self.backend is not None and dist.is_initialized():
            dist.destroy_process_group()


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"environment variable {name}={text!r} is not an integer") from None


def resolve_device(preference: str = "auto") -> torch.device:
    """The device of a single-process run: ``auto`` is CUDA when available, else CPU.

    Raises
    ------
    ValueError
        For a CUDA device on a machine without CUDA, or an unknown name.
    """
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(preference)
    except RuntimeError as error:
        raise ValueError(f"unknown device {preference!r}: {error}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {preference!r} asked for, but CUDA is not available here")
    return device


def init_distributed(device_preference: str = "auto") -> DistributedContext:
    """Join the ``torchrun`` process group if the environment describes one.

    Parameters
    ----------
    device_preference : str
        Device of a single-process run; under ``torchrun`` a process uses
        ``cuda:LOCAL_RANK`` when CUDA is available and not turned off with ``"cpu"``, else
        the CPU.

    Returns
    -------
    DistributedContext

    Raises
    ------
    ValueError
        If the environment is inconsistent (rank outside the world, a process without a GPU).
    """
    world_size = _env_int("WORLD_SIZE", 1)
    if world_size <= 1:
        return DistributedContext(device=resolve_device(device_preference))
    rank = _env_int("RANK", 0)
    local_rank = _env_int("LOCAL_RANK", 0)
    if not 0 <= rank < world_size:
        raise ValueError(f"RANK={rank} lies outside WORLD_SIZE={world_size}")
    use_cuda = torch.cuda.is_available() and device_preference != "cpu"
    if use_cuda:
        if local_rank >= torch.cuda.device_count():
            raise ValueError(
                f"LOCAL_RANK={local_rank} but this node has {torch.cuda.device_count()} GPU(s); "
                "start at most one process per GPU (torchrun --nproc_per_node)"
            )
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device = torch.device("cpu")
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return DistributedContext(rank, local_rank, world_size, device, backend)
