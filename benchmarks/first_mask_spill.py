"""How far the first click's mask spills past the object: area ratios against the ground truth.

For each object the official clicker's first click (the object's most interior pixel) is given
to a fresh predictor, and the mask is compared with the object: its area over the object's,
and the share of its pixels outside the object. Prints the median area ratio, the shares of
masks over 1.5x and under 0.67x the object's area, the mean share of pixels outside, and
mIoU@1. The model card's first-mask diagnostics on the EPFL validation split:

    python benchmarks/first_mask_spill.py --model default \\
        --data epfl:../shared/data/epfl_lucchi_mito/train --slices 20 21 22 23 24 25 26 \\
        --limit 60 --seed 0
    python benchmarks/first_mask_spill.py --model baseline ...   # the watershed
    python benchmarks/first_mask_spill.py --model default --cfr 0 ...   # a single pass
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from napari_clickseg.cli_common import make_predictor
from napari_clickseg.data.registry import open_dataset
from napari_clickseg.engine.clicker import next_click


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default", help="'default', 'baseline' or a file")
    parser.add_argument("--data", required=True, help="KIND:PATH, as clickseg evaluate")
    parser.add_argument("--slices", type=int, nargs="*", help="the adapter's slices= option")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--first-view", type=int, default=None, metavar="PX")
    parser.add_argument(
        "--cfr",
        type=int,
        default=None,
        metavar="N",
        help="CFR-N on the first click (default: what the model's file recommends; 0: off)",
    )
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    options = {"slices": args.slices} if args.slices else {}
    dataset = open_dataset(args.data, **options)
    if args.limit:
        dataset = dataset.limit(args.limit, seed=args.seed)
    predictor = make_predictor(
        args.model, "cpu", args.cfr, False, True, first_view_max_side=args.first_view
    )
    ratios, outside, ious = [], [], []
    for obj in dataset:
        truth, valid = obj.gt == 1, obj.gt >= 0
        predictor.set_image(obj.image)
        mask = predictor.predict([next_click(truth, np.zeros_like(truth))]).mask & valid
        ratios.append(mask.sum() / truth.sum())
        outside.append((mask & ~truth).sum() / max(1, mask.sum()))
        ious.append((mask & truth).sum() / max(1, (mask | truth).sum()))
    ratio = np.asarray(ratios)
    print(
        f"{args.model}: {ratio.size} objects; first mask / object area: median "
        f"{np.median(ratio):.2f}, over 1.5x {np.mean(ratio > 1.5):.0%}, under 0.67x "
        f"{np.mean(ratio < 0.67):.0%}; pixels outside the object {np.mean(outside):.0%} "
        f"(mean); mIoU@1 {np.mean(ious):.3f}"
    )


if __name__ == "__main__":
    main()
