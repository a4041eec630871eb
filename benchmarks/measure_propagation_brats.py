"""3D Dice of slice-by-slice propagation on the BraTS 2018 cases beside the project.

Per case (whole tumour, axial slices): the seed is one click sequence with the official
next-click rule on the slice with the largest whole-tumour area, until IoU 0.9 or 20 clicks
(:func:`napari_clickseg.engine.propagation_seed.simulate_seed`); the seed is then propagated
up and down the volume (:func:`napari_clickseg.engine.propagation.propagate`) in each asked
mode, and the propagated whole tumour is scored against the ground truth (3D Dice,
:func:`napari_clickseg.engine.scoring.score_masks`). "seed only" is the Dice of the seed slice
alone, the floor that propagation starts from.

    python benchmarks/measure_propagation_brats.py                       # random walker
    python benchmarks/measure_propagation_brats.py --model <name or checkpoint> --device cuda

Without the data (../shared/data/brats2018_brainy) it says so and measures nothing.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
import warnings
from pathlib import Path

from napari_clickseg.cli import make_predictor
from napari_clickseg.data.objects3d import brats_objects_3d
from napari_clickseg.engine.propagation import MODES, PropagationSettings, propagate
from napari_clickseg.engine.propagation_seed import simulate_seed
from napari_clickseg.engine.scoring import score_masks

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "brats2018_brainy"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="BraTS case folders")
    parser.add_argument("--model", default="baseline", help="registry name, checkpoint, baseline")
    parser.add_argument("--device", default=None)
    parser.add_argument(
        "--modality", default="flair", help="one modality or three, comma-separated"
    )
    parser.add_argument(
        "--modes", nargs="+", default=["center", "points", "mask+center", "mask+points"]
    )
    parser.add_argument("--negatives", type=int, nargs="+", default=[0, 8])
    parser.add_argument("--negative-margin", type=float, default=0.5)
    parser.add_argument("--iou-threshold", type=float, default=0.5)
    parser.add_argument("--max-empty", type=int, default=2)
    parser.add_argument("--seed-clicks", type=int, default=20)
    parser.add_argument("--seed-iou", type=float, default=0.9)
    parser.add_argument(
        "--zoom-min-crop",
        default=str(PropagationSettings.zoom_min_crop),
        metavar="PX",
        help="ZoomIn's minimum crop side while propagating, or 'model' for the predictor's "
        "own (default: %(default)s, the official value)",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.data.is_dir():
        print(f"BraTS data not found at {args.data}: nothing measured (skipped)")
        return 0
    bad = [m for m in args.modes if m not in MODES]
    if bad:
        print(f"unknown mode(s) {bad}; choose from {MODES}", file=sys.stderr)
        return 2
    # The random walker divides by a zero standard deviation on blank crops (it then returns
    # an empty mask, which propagation counts as empty); keep the table readable.
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="skimage")
    zoom_min_crop = None if args.zoom_min_crop == "model" else int(args.zoom_min_crop)
    predictor = make_predictor(args.model, args.device, 0, False, True)
    modality = args.modality.split(",") if "," in args.modality else args.modality
    print(
        f"# propagation on {args.data} ({args.modality}), model {args.model}, "
        f"ZoomIn minimum crop while propagating: {args.zoom_min_crop}"
    )
    print(
        f"date {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {platform.machine()}, "
        f"{os.cpu_count()} CPU(s) visible; python {platform.python_version()}"
    )
    print(
        f"stop rules: IoU with previous slice < {args.iou_threshold}, "
        f"{args.max_empty} empty slices, volume end\n"
    )
    print("| case | mode | negatives | slices written | stops (down; up) | 3D Dice | seconds |")
    print("|---|---|---|---|---|---|---|")
    dice_by_setting: dict[tuple[str, int], list[float]] = {}
    for obj in brats_objects_3d(args.data, "whole", modality):
        start = time.perf_counter()
        seed = simulate_seed(
            predictor, obj.image, obj.gt, max_clicks=args.seed_clicks, target_iou=args.seed_iou
        )
        seed_seconds = time.perf_counter() - start
        seed_dice = score_masks(obj.gt, seed.mask).dice
        name = obj.name.split("/")[0]
        print(
            f"| {name} | seed only (slice {seed.slice}, {len(seed.clicks)} clicks, "
            f"IoU {seed.ious[-1]:.3f}; tumour on slices {obj.slices[0]}-{obj.slices[-1]}) "
            f"| | 1 | | {seed_dice:.4f} | {seed_seconds:.1f} |"
        )
        dice_by_setting.setdefault(("seed only", 0), []).append(seed_dice)
        for mode in args.modes:
            for negatives in args.negatives if mode != "mask" else [0]:
                settings = PropagationSettings(
                    mode=mode,
                    iou_threshold=args.iou_threshold,
                    max_empty=args.max_empty,
                    negatives=negatives,
                    negative_margin=args.negative_margin,
                    zoom_min_crop=zoom_min_crop,
                )
                start = time.perf_counter()
                result = propagate(predictor, obj.image, seed.mask, settings=settings)
                seconds = time.perf_counter() - start
                dice = score_masks(obj.gt, result.mask).dice
                dice_by_setting.setdefault((mode, negatives), []).append(dice)
                stops = "; ".join(f"{f.last_written} {f.reason.value}" for f in result.fronts)
                print(
                    f"| {name} | {mode} | {negatives} | {len(result.written)} | {stops} "
                    f"| {dice:.4f} | {seconds:.1f} |"
                )
    print("\n| mode | negatives | mean 3D Dice |")
    print("|---|---|---|")
    for (mode, negatives), values in dice_by_setting.items():
        print(f"| {mode} | {negatives} | {sum(values) / len(values):.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
