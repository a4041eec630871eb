"""Seconds per click of the classical baseline on large sections, against the old crop rule.

The baseline of this run is the random walker on a crop of at least half the image side (the
rule before the crop was sized from the clicks and the previous mask); then the random walker
and the watershed with the crop from the clicks and the previous mask. Each runs the NoC
protocol (full curves) on the same objects; printed: model seconds per click, the ratio to the
baseline, and mIoU@1/3/5/10/20.

    python benchmarks/bench_baseline.py                            # synthetic 1024 x 1024
    python benchmarks/bench_baseline.py --data epfl:../shared/data/epfl_lucchi_mito/train
"""

from __future__ import annotations

import argparse
import platform
import time

from napari_clickseg.cli import parse_option
from napari_clickseg.data.registry import open_dataset
from napari_clickseg.engine.baseline import BaselineSettings, ClickBaseline
from napari_clickseg.engine.evaluation import EvaluationSettings, evaluate_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="synthetic:em_mitochondria")
    parser.add_argument("--data-option", type=parse_option, action="append", default=None)
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--clicks", type=int, default=10)
    args = parser.parse_args()
    options = dict(args.data_option or [])
    if args.data.startswith("synthetic:") and not options:
        options = {"shape": [1, 1024, 1024], "seed": 2000}
    objects = list(open_dataset(args.data, **options).limit(args.limit, seed=0))
    height, width = objects[0].image.shape[:2]
    print(f"{time.strftime('%Y-%m-%d')}  {platform.processor() or platform.machine()}")
    print(f"{args.data}: {len(objects)} objects, {width} x {height} px, {args.clicks} clicks")
    half_side = max(height, width) // 2
    modes = {
        f"random walker, crop >= {half_side} px (base)": BaselineSettings(
            method="random_walker", min_crop=half_side
        ),
        "random walker, crop from clicks and mask": BaselineSettings(method="random_walker"),
        "watershed, crop from clicks and mask (default)": BaselineSettings(),
    }
    settings = EvaluationSettings(max_clicks=args.clicks, full_curve=True)
    ks = [k for k in (1, 3, 5, 10, 20) if k <= args.clicks]
    print(f"{'':48s} {'s/click':>8s} {'vs base':>8s}  " + " ".join(f"mIoU@{k:<2d}" for k in ks))
    base = None
    for label, config in modes.items():
        result = evaluate_dataset(ClickBaseline(config), objects, settings)
        seconds = result.seconds_per_click
        base = base or seconds
        curve = " ".join(f"{result.summary.miou_at(k):7.3f}" for k in ks)
        print(f"{label:48s} {seconds:8.4f} {base / seconds:7.2f}x  {curve}", flush=True)


if __name__ == "__main__":
    main()
