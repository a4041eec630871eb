"""The simulated user's cost per click against the model's, full-image rule vs bounding box.

The official next-click rule computes two distance transforms per click. Run literally on the
whole image (``next_click_full_image``, the baseline of this run) it costs more than the
default model on a 1024 x 1024 section; on the error pixels' bounding box (``next_click``, what
the protocol uses) it gives the same click at a small fraction of that. For every object the
protocol runs with the default model; at each click both rules are timed on the same state and
must agree. Printed: seconds per click of the model and of each rule, the clicker's share of a
protocol click, and the ratios.

    python benchmarks/bench_clicker.py                       # synthetic 1024 x 1024 sections
    python benchmarks/bench_clicker.py --data ../shared/data/epfl_lucchi_mito/train --limit 8
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from napari_clickseg.cli import parse_option
from napari_clickseg.data.registry import open_dataset
from napari_clickseg.engine.clicker import next_click, next_click_full_image
from napari_clickseg.engine.predictor import Predictor
from napari_clickseg.models.checkpoints import load_model


def _timed(function, *args):
    start = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="synthetic:em_mitochondria")
    parser.add_argument(
        "--data-option",
        type=parse_option,
        action="append",
        default=None,
        help="adapter option (default for the synthetic set: shape=1,1024,1024)",
    )
    parser.add_argument("--limit", type=int, default=6, help="objects")
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    options = dict(args.data_option or [])
    if args.data.startswith("synthetic:") and not options:
        options = {"shape": [1, 1024, 1024], "seed": 2000}
    objects = list(open_dataset(args.data, **options).limit(args.limit, seed=0))
    predictor = Predictor(load_model(args.model), "cpu", precision="float32")
    print(
        f"{time.strftime('%Y-%m-%d')}  {platform.processor() or platform.machine()}  "
        f"torch {torch.__version__}  threads {torch.get_num_threads()}"
    )
    shape = objects[0].image.shape[:2]
    print(f"{args.data}: {len(objects)} objects, {shape[1]} x {shape[0]} px, {args.clicks} clicks")
    model, full, box = [], [], []
    for obj in objects:
        predictor.set_image(obj.image)
        not_clicked = np.ones(obj.gt.shape, bool)
        clicks, mask = [], np.zeros(obj.gt.shape, bool)
        for _ in range(args.clicks):
            reference, seconds_full = _timed(next_click_full_image, obj.gt, mask, not_clicked)
            click, seconds_box = _timed(next_click, obj.gt, mask, not_clicked)
            if (click.row, click.col, click.is_positive) != (
                reference.row,
                reference.col,
                reference.is_positive,
            ):
                raise AssertionError(f"{obj.name}: the rules disagree: {click} vs {reference}")
            full.append(seconds_full)
            box.append(seconds_box)
            clicks.append(click)
            not_clicked[int(click.row), int(click.col)] = False
            prediction, seconds_model = _timed(predictor.predict, clicks)
            model.append(seconds_model)
            mask = prediction.mask
    model_s, full_s, box_s = np.mean(model), np.mean(full), np.mean(box)
    share_full, share_box = full_s / (full_s + model_s), box_s / (box_s + model_s)
    print(f"{'':28s} {'s/click':>9s} {'vs full':>8s} {'share of a click':>17s}")
    print(f"{'model (' + args.model + ')':28s} {model_s:9.4f}")
    print(f"{'clicker, full image (base)':28s} {full_s:9.4f} {1.0:7.2f}x {share_full:17.3f}")
    print(
        f"{'clicker, bounding box':28s} {box_s:9.4f} {full_s / box_s:7.2f}x {share_box:17.3f}"
    )
    print(f"clicker share: {share_box / share_full:.3f} of the full-image rule's")


if __name__ == "__main__":
    main()
