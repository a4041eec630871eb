"""Seconds per click of the predictor (ZoomIn + forward + flip + paste back).

Each variant is timed twice in the same run: the baseline (plain eager float32 with the
official matrix-product attention) and the default path (fused scaled-dot-product attention);
the ratio baseline / default is printed. Weights are random: speed does not depend on them.

    python benchmarks/bench_predictor.py --variants xtiny vit_base --clicks 5 --device cpu
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from napari_clickseg.engine.predictor import Predictor
from napari_clickseg.models.registry import build_model, variant_config


def seconds_per_click(predictor: Predictor, image: np.ndarray, clicks: int, flip: bool) -> float:
    """Median seconds of one click over a click sequence (after one warm-up click)."""
    predictor.with_flip = flip
    predictor.set_image(image)
    rng = np.random.default_rng(0)
    height, width = image.shape[:2]
    sequence = [(height / 2, width / 2, True)]
    predictor.predict(sequence)  # warm-up
    times = []
    for _ in range(clicks):
        sequence.append(
            (rng.uniform(0, height - 1), rng.uniform(0, width - 1), bool(rng.random() < 0.5))
        )
        if predictor.device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        predictor.predict(sequence)
        if predictor.device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", nargs="+", default=["xtiny", "vit_base"])
    parser.add_argument("--clicks", type=int, default=5)
    parser.add_argument("--device", default=None)
    parser.add_argument("--size", type=int, nargs=2, default=(512, 512), metavar=("H", "W"))
    parser.add_argument("--no-flip", action="store_true")
    args = parser.parse_args()

    image = (np.random.default_rng(0).random((*args.size, 3)) * 255).astype(np.uint8)
    print(
        f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"threads {torch.get_num_threads()}, image {args.size[0]}x{args.size[1]}, "
        f"flip {not args.no_flip}"
    )
    header = ("variant", "device", "baseline s/click", "default s/click", "speed-up")
    print("{:10s} {:6s} {:>17s} {:>16s} {:>9s}".format(*header))
    for name in args.variants:
        model = build_model(variant_config(name))
        predictor = Predictor(model, args.device)
        model.backbone.set_fused_attention(False)
        baseline = seconds_per_click(predictor, image, args.clicks, not args.no_flip)
        model.backbone.set_fused_attention(True)
        default = seconds_per_click(predictor, image, args.clicks, not args.no_flip)
        print(
            f"{name:10s} {predictor.device.type:6s} {baseline:17.3f} {default:16.3f} "
            f"{baseline / default:8.2f}x"
        )
        del predictor, model


if __name__ == "__main__":
    main()
