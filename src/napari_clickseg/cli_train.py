"""``clickseg train``: train or fine-tune a model from a configuration file.

``clickseg train --config run.toml`` runs in one process (a GPU when there is one, else the CPU);
``torchrun --nproc_per_node=G -m napari_clickseg.cli train --config run.toml`` runs data-parallel
on G GPUs (add ``--nnodes``/``--node_rank``/``--rdzv_endpoint`` for several machines).
``--resume`` continues an interrupted run from its saved state. See docs/training.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_train_parser", "cmd_train"]


def add_train_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``train`` sub-command to ``clickseg``'s parser."""
    train = sub.add_parser(
        "train",
        help="train or fine-tune a model from a TOML/YAML config (multi-GPU under torchrun)",
    )
    train.add_argument("--config", required=True, help="training config (.toml, .yaml)")
    train.add_argument(
        "--resume",
        nargs="?",
        const="last",
        metavar="STATE",
        help="continue from a training state; alone: <output_dir>/checkpoints/last.pt",
    )
    train.add_argument("--output-dir", help="replace the config's output_dir")
    train.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    """Run ``clickseg train``."""
    from napari_clickseg.cli_common import ProgressBar
    from napari_clickseg.training.config import load_config
    from napari_clickseg.training.trainer import Trainer

    overrides = {"output_dir": args.output_dir} if args.output_dir else {}
    config = load_config(args.config, **overrides)
    resume = args.resume
    if resume == "last":
        resume = Path(config.output_dir) / "checkpoints" / "last.pt"
    trainer = Trainer(config, resume=resume, progress=ProgressBar("train"), log=print)
    try:
        result = trainer.fit()
    finally:
        trainer.ctx.shutdown()
    if trainer.ctx.is_main:
        print(f"trained {result.steps} steps; outputs in {result.output_dir}")
        print(f"final model: {result.final_model}")
        if result.best_model is not None:
            print(f"best model:  {result.best_model}")
    return 0
