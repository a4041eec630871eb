"""One process of the DDP test (started by torchrun): train, then dump this replica's weights.

Usage: ``torchrun --nproc_per_node=2 ddp_worker.py CONFIG.toml DUMP_DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from napari_clickseg.training.config import load_config
from napari_clickseg.training.trainer import Trainer


def main() -> None:
    torch.set_num_threads(1)
    config_path, dump = Path(sys.argv[1]), Path(sys.argv[2])
    trainer = Trainer(load_config(config_path))
    before = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    result = trainer.fit()
    ctx = trainer.ctx
    torch.save(
        {
            "rank": ctx.rank,
            "world_size": ctx.world_size,
            "backend": ctx.backend,
            "before": before,
            "after": trainer.model.state_dict(),
            "steps": result.steps,
            "samples": len(trainer.sampler),
        },
        dump / f"rank{ctx.rank}.pt",
    )
    ctx.shutdown()


if __name__ == "__main__":
    main()
