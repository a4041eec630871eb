"""Choose the classical baseline's method and crop on validation data (never the held-out sets).

Runs the NoC protocol (full curves) with each candidate setting of
:class:`~napari_clickseg.engine.baseline.ClickBaseline` on the validation objects and prints
mIoU@k, NoC@85/90 and seconds per click (baseline and clicker). Validation, as fixed before
any held-out run (docs/results.md): ISBI 2012 slices 0-19 (cells, a seeded 60; mitochondria,
all), EPFL train (a seeded 60 mitochondria), BraTS ``Brats18_2013_2_1`` (whole tumour, a
seeded 30 of its slices), DAVIS (a seeded 20). Held out and never run here: ISBI slices 20-29,
the EPFL test split, ``Brats18_TCIA05_396_1``.

    python benchmarks/baseline_validation.py --data-root ../shared/data
    python benchmarks/baseline_validation.py --config method=random_walker,min_crop=128
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from napari_clickseg.data.registry import open_dataset
from napari_clickseg.engine.baseline import BaselineSettings, ClickBaseline
from napari_clickseg.engine.evaluation import EvaluationSettings, evaluate_dataset

KS = (1, 2, 3, 5, 10, 20)


def validation_sets(root: Path) -> dict[str, object]:
    """The validation objects, by set name (lazy data sets)."""
    isbi_mito = open_dataset(
        f"sstem:{root / 'isbi2012_em_mito'}", images="../isbi2012_em/image", name="ISBI-mito"
    )
    return {
        "ISBI cells 0-19": open_dataset(
            f"isbi:{root / 'isbi2012_em'}", slices=list(range(20))
        ).limit(60, seed=0),
        "ISBI mito 0-19": isbi_mito.select(slices=list(range(20))),
        "EPFL train": open_dataset(f"epfl:{root / 'epfl_lucchi_mito' / 'train'}").limit(60, seed=0),
        "BraTS 2013_2_1": open_dataset(
            f"brats:{root / 'brats2018_brainy' / 'Brats18_2013_2_1'}", slices="all"
        ).limit(30, seed=0),
        "DAVIS": open_dataset(f"folder:{root / 'davis'}").limit(20, seed=0),
    }


def parse_config(text: str) -> BaselineSettings:
    """``key=value,key=value`` into settings (numbers converted)."""
    values: dict[str, object] = {}
    for item in filter(None, text.split(",")):
        key, value = item.split("=")
        for kind in (int, float, str):
            try:
                values[key] = kind(value)
                break
            except ValueError:
                continue
    return BaselineSettings(**values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--config", action="append", help="key=value,... (repeatable)")
    parser.add_argument("--sets", nargs="*", help="only these validation sets")
    args = parser.parse_args()
    configs = [parse_config(c) for c in (args.config or [""])]
    sets = validation_sets(args.data_root)
    settings = EvaluationSettings(max_clicks=20, full_curve=True)
    header = " ".join(f"@{k:<5d}" for k in KS)
    for name, dataset in sets.items():
        if args.sets and name not in args.sets:
            continue
        objects = list(dataset)
        print(f"\n{name}: {len(objects)} objects", flush=True)
        print(f"{'config':60s} mIoU {header} NoC85 NoC90  s/click clicker", flush=True)
        for config in configs:
            start = time.perf_counter()
            result = evaluate_dataset(ClickBaseline(config), objects, settings)
            miou = " ".join(f"{result.summary.miou_at(k):.3f}" for k in KS)
            label = ",".join(
                f"{k}={v}" for k, v in vars(config).items() if v != getattr(BaselineSettings(), k)
            )
            print(
                f"{label or 'defaults':60s}      {miou} {result.summary.noc_at(85):5.2f} "
                f"{result.summary.noc_at(90):5.2f} {result.seconds_per_click:8.4f} "
                f"{result.clicker_seconds_per_click:.4f}  ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
            curve = np.array(result.summary.miou)
            if (np.diff(curve) < 0).any():
                print(f"{'':60s} mean curve not monotonic: drops at clicks "
                      f"{(np.flatnonzero(np.diff(curve) < 0) + 2).tolist()}")


if __name__ == "__main__":
    main()
