"""Evaluation throughput: clicks per second over a data set, one object at a time vs batched.

The NoC protocol runs on the same objects twice in the same process: first one object at a time
(the baseline, ``batch_size=1``), then with many objects advancing click by click together in
one batched forward pass per click (``engine.batching``). It prints clicks per second, the ratio
to the baseline, and the largest difference of the IoU curves (they must agree).

    python benchmarks/bench_evaluation.py --model default --data synthetic:em_cells \
        --data-option seed=2000 --data-option slice_step=4 --limit 32 --batch 8
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from napari_clickseg.cli import parse_option
from napari_clickseg.data.registry import open_dataset
from napari_clickseg.engine.evaluation import EvaluationSettings, evaluate_dataset
from napari_clickseg.engine.predictor import Predictor
from napari_clickseg.models.checkpoints import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--data", default="synthetic:em_cells")
    parser.add_argument("--data-option", type=parse_option, action="append", default=[])
    parser.add_argument("--limit", type=int, default=32)
    parser.add_argument("--batch", type=int, nargs="+", default=[8])
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--device", default=None)
    parser.add_argument("--no-flip", action="store_true")
    parser.add_argument(
        "--precision", default="float32", help="float32 (the protocol's), auto or bfloat16"
    )
    args = parser.parse_args()

    objects = list(open_dataset(args.data, **dict(args.data_option)).limit(args.limit, seed=0))
    predictor = Predictor(
        load_model(args.model),
        args.device,
        with_flip=not args.no_flip,
        precision=args.precision,
    )
    settings = EvaluationSettings(max_clicks=args.clicks, full_curve=True)
    print(
        f"{time.strftime('%Y-%m-%d')}  {platform.node()}  torch {torch.__version__}  "
        f"threads {torch.get_num_threads()}  device {predictor.device}"
    )
    print(
        f"model {args.model}, {args.data}, {len(objects)} objects x {args.clicks} clicks, "
        f"flip {not args.no_flip}, precision {predictor.precision}"
    )
    print(f"{'batch':>5s} {'seconds':>9s} {'clicks/s':>9s} {'vs batch 1':>10s} {'max |dIoU|':>10s}")
    evaluate_dataset(predictor, objects[:2], settings)  # warm-up
    reference, base_rate = None, None
    for batch in [1, *args.batch]:
        start = time.perf_counter()
        result = evaluate_dataset(predictor, objects, settings, batch_size=batch)
        seconds = time.perf_counter() - start
        clicks = sum(len(o.ious) for o in result.objects)
        rate = clicks / seconds
        curves = np.array([o.ious for o in result.objects])
        reference = curves if reference is None else reference
        base_rate = base_rate or rate
        print(
            f"{batch:5d} {seconds:9.2f} {rate:9.2f} {rate / base_rate:9.2f}x "
            f"{np.abs(curves - reference).max():10.2e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
