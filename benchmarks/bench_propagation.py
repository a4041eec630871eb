"""Seconds to propagate a mask through a 155-slice volume, against the plain path.

The volume is a BraTS-sized (155 x 240 x 240) noisy MRI-like stack with one bright tube that
crosses every slice, its radius changing along the axis; the seed is the true mask of the
middle slice. Propagation (``mask+center``, each slice's mask the next slice's prior) runs up
and down with its stop rules off, so every mode predicts the same 154 slices. The modes are
those of ``bench_predictor.py`` (plain, exact, default, fast), timed in the same run; the
ratio is to the first, the plain path, and the 3D Dice against the tube shows the answers stay
the same.

    python benchmarks/bench_propagation.py --model default --device cpu
    python benchmarks/bench_propagation.py --model default --slices 31   # a shorter check
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch
from bench_predictor import MODES, mode_predictor

from napari_clickseg.engine.propagation import PropagationSettings, propagate
from napari_clickseg.engine.scoring import score_masks
from napari_clickseg.models.checkpoints import load_model


def tube_volume(slices: int, size: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A uint8 (slices, size, size) volume and the bool mask of its tube."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:size, :size]
    depth = np.linspace(0, 1, slices)
    radius = size * (0.10 + 0.05 * np.sin(2 * np.pi * depth))
    centre_row = size * (0.5 + 0.1 * np.sin(np.pi * depth))
    centre_col = size * (0.5 + 0.1 * np.cos(np.pi * depth))
    truth = np.stack(
        [
            (rows - r) ** 2 + (cols - c) ** 2 <= rad**2
            for r, c, rad in zip(centre_row, centre_col, radius, strict=True)
        ]
    )
    volume = rng.normal(70, 18, truth.shape) + 90 * truth
    return np.clip(volume, 0, 255).astype(np.uint8), truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default", help="'default', a file or registry name")
    parser.add_argument("--device", default=None)
    parser.add_argument("--slices", type=int, default=155)
    parser.add_argument("--modes", nargs="+", default=[m.name for m in MODES])
    args = parser.parse_args()

    modes = [m for m in MODES if m.name in args.modes]
    if not modes or modes[0].name != "plain":
        parser.error("the modes must start with 'plain', the baseline the ratios refer to")
    volume, truth = tube_volume(args.slices)
    middle = args.slices // 2
    seed_mask = np.zeros_like(truth)
    seed_mask[middle] = truth[middle]
    settings = PropagationSettings(mode="mask+center", iou_threshold=0.0, max_empty=args.slices)
    model = load_model(args.model)
    print(
        f"{time.strftime('%Y-%m-%d')}  {platform.node()}  "
        f"{platform.processor() or platform.machine()}  torch {torch.__version__}  "
        f"threads {torch.get_num_threads()}  model {args.model}"
    )
    print(f"volume {volume.shape}, seed slice {middle}, mode mask+center, stop rules off")
    print(f"{'mode':8s} {'precision':9s} {'seconds':>8s} {'s/slice':>8s} {'vs plain':>9s} "
          f"{'slices':>6s} {'3D Dice':>8s}")  # fmt: skip
    plain_seconds = None
    for mode in modes:
        predictor = mode_predictor(model, args.device, mode)
        propagate(predictor, volume[middle - 1 : middle + 2], seed_mask[middle - 1 : middle + 2])
        if predictor.device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = propagate(predictor, volume, seed_mask, settings=settings)
        if predictor.device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        plain_seconds = plain_seconds or seconds
        written = len(result.written)
        dice = score_masks(truth, result.mask).dice
        print(
            f"{mode.name:8s} {predictor.precision:9s} {seconds:8.2f} "
            f"{seconds / max(written, 1):8.4f} {plain_seconds / seconds:8.2f}x {written:6d} "
            f"{dice:8.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
