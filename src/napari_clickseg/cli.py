"""``clickseg``: the command line.

Sub-commands so far:

- ``clickseg demo``: segment a synthetic EM section from clicks and write a PNG;
- ``clickseg segment``: segment an image file from clicks and write the mask;
- ``clickseg evaluate``: the NoC protocol on data sets (table, per-object CSV, mIoU plot);
- ``clickseg models``: list the model variants, the known official weights and the cache.
- ``clickseg propagate``: propagate an annotated slice mask through a volume.
- ``clickseg train``: train or fine-tune a model from a TOML/YAML config (``torchrun`` for DDP).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from napari_clickseg.cli_common import (  # noqa: F401 - part of this module's interface
    BASELINE,
    PRECISION_CHOICES,
    ProgressBar,
    add_model_options,
    make_predictor,
    parse_click,
    predictor_from_options,
    split_negative_values,
)
from napari_clickseg.models.packaged import DEFAULT_MODEL_NAME


def _run_clicks(predictor, image: np.ndarray, clicks, truth: np.ndarray | None, channels=None):
    predictor.set_image(image, channels=channels)
    prediction = None
    for count in range(1, len(clicks) + 1):
        start = time.perf_counter()
        prediction = predictor.predict(clicks[:count])
        seconds = time.perf_counter() - start
        line = f"click {count} {clicks[count - 1]}: {seconds:.2f} s, {prediction.mask.sum()} px"
        if truth is not None:
            union = np.logical_or(prediction.mask, truth).sum()
            line += f", IoU {np.logical_and(prediction.mask, truth).sum() / max(union, 1):.3f}"
        if prediction.passes > 1:
            line += f", {prediction.passes} passes (CFR)"
        print(line)
    return prediction


def overlay(image: np.ndarray, mask: np.ndarray, clicks) -> np.ndarray:
    """RGB picture of the mask (tinted) and the clicks (green +, red -) over the image."""
    from skimage.draw import disk
    from skimage.segmentation import find_boundaries

    rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    out = rgb[..., :3].astype(np.float32).copy()
    out[mask] = 0.6 * out[mask] + 0.4 * np.array([255, 200, 0])
    out[find_boundaries(mask, mode="inner")] = (255, 200, 0)
    radius = max(2, round(min(mask.shape) / 100))
    for row, col, positive in clicks:
        rr, cc = disk((row, col), radius, shape=mask.shape)
        out[rr, cc] = (0, 220, 0) if positive else (230, 0, 0)
    return out.clip(0, 255).astype(np.uint8)


def cmd_demo(args: argparse.Namespace) -> int:
    """Segment a synthetic EM section from clicks and write a PNG."""
    from skimage.io import imsave

    from napari_clickseg.data.synthetic import make_2d_sample

    image, truth, first_click = make_2d_sample(seed=args.seed)
    clicks = args.click or [(*first_click, True)]
    predictor = predictor_from_options(args)
    name = "classical baseline (watershed, no weights)" if args.model == BASELINE else args.model
    print(f"model: {name}; image {image.shape[1]}x{image.shape[0]} synthetic EM section")
    prediction = _run_clicks(predictor, image, clicks, truth)
    picture = np.concatenate([image, overlay(image, prediction.mask, clicks)], axis=1)
    imsave(args.out, picture, check_contrast=False)
    print(f"wrote {args.out} (left: image, right: mask and clicks)")
    return 0


def cmd_segment(args: argparse.Namespace) -> int:
    """Segment an image file from clicks; write the mask (PNG/TIFF) and optionally an overlay."""
    from skimage.io import imsave

    from napari_clickseg.io.images import read_image

    image = read_image(args.image)  # the napari reader's checks and messages
    predictor = predictor_from_options(args)
    channels = tuple(args.channels) if args.channels else None
    prediction = _run_clicks(predictor, image, args.click, None, channels)
    imsave(args.out, (prediction.mask * 255).astype(np.uint8), check_contrast=False)
    print(f"wrote mask {args.out}")
    if args.overlay:
        from napari_clickseg.engine.image_input import to_rgb01

        display = (to_rgb01(image, channels) * 255).round().astype(np.uint8)
        imsave(args.overlay, overlay(display, prediction.mask, args.click), check_contrast=False)
        print(f"wrote overlay {args.overlay}")
    return 0


def parse_option(text: str) -> tuple[str, object]:
    """Parse KEY=VALUE; values become int, float, a list (comma-separated) or str."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"option {text!r}: expected KEY=VALUE")
    key, value = text.split("=", 1)

    def convert(item: str) -> object:
        for kind in (int, float):
            try:
                return kind(item)
            except ValueError:
                pass
        return item

    parts = [convert(v) for v in value.split(",")] if "," in value else convert(value)
    return key.strip(), parts


def cmd_evaluate(args: argparse.Namespace) -> int:
    """The NoC protocol on one or more data sets; shards them over ``torchrun`` processes."""
    from napari_clickseg.data.registry import open_dataset
    from napari_clickseg.engine.evaluation import EvaluationSettings
    from napari_clickseg.engine.evaluation_report import (
        plot_miou,
        results_table,
        summary_dict,
        write_csv,
        write_summary_json,
    )
    from napari_clickseg.engine.evaluation_shards import evaluate_sharded
    from napari_clickseg.training.distributed import DistributedContext, init_distributed

    settings = EvaluationSettings(
        max_clicks=args.max_clicks,
        target_iou=args.target_iou,
        full_curve=not args.stop_at_target,
        selection=args.selection,
    )
    if args.min_crop is not None and args.min_crop < 1:
        raise ValueError(f"--min-crop must be a positive number of pixels, got {args.min_crop}")
    # under torchrun (WORLD_SIZE > 1) join the process group; a plain run stays as it was
    under_torchrun = int(os.environ.get("WORLD_SIZE", "1") or 1) > 1
    context = init_distributed(args.device or "auto") if under_torchrun else DistributedContext()
    device = str(context.device) if context.distributed else args.device
    predictor = predictor_from_options(
        args, device, min_crop_size=args.min_crop, first_view_max_side=args.first_view
    )
    if args.cfr_every_click and hasattr(predictor, "cfr"):
        predictor.cfr = dataclasses.replace(predictor.cfr, max_clicks=None)
    options = dict(args.data_option or [])
    model_name = Path(args.model).stem if args.model != BASELINE else BASELINE
    model_info = _model_identity(args, predictor)
    out = Path(args.out)
    if context.is_main:
        out.mkdir(parents=True, exist_ok=True)
    results = {}
    try:
        for spec in args.data:
            dataset = open_dataset(spec, **options)
            if args.limit:
                dataset = dataset.limit(args.limit, seed=args.seed)
            label = f"{dataset.name}"
            where = f" rank 0 of {context.world_size}" if context.distributed else ""
            result = evaluate_sharded(
                predictor,
                dataset,
                context.rank,
                context.world_size,
                settings,
                progress=ProgressBar(f"{label} / {model_name}{where}") if context.is_main else None,
                batch_size=args.batch_size,
            )
            if result is None:
                continue
            results[label] = result
            print(
                f"\n{label} ({result.summary.objects} objects), model {model_name}, "
                f"{'full curves' if settings.full_curve else 'stop at ' + str(args.target_iou)}"
                + (f", {context.world_size} processes" if context.distributed else "")
            )
            print(results_table(result, tuple(args.noc), tuple(args.miou)))
            stem = out / f"{_slug(label)}__{_slug(model_name)}"
            csv_path = write_csv(result, stem.with_suffix(".csv"))
            summary = summary_dict(
                result,
                model=model_info,
                dataset=_dataset_identity(spec, dataset, options, args),
                extra=_run_identity(context.world_size),
            )
            json_path = write_summary_json(summary, stem.with_suffix(".json"))
            print(f"per-object results: {csv_path}\nsummary (JSON): {json_path}")
        if results:
            plot_path = plot_miou(results, out / f"miou__{_slug(model_name)}.png", title=model_name)
            print(f"mIoU plot: {plot_path}")
    finally:
        context.shutdown()
    return 0


def _model_identity(args: argparse.Namespace, predictor) -> dict[str, object]:
    """What identifies the evaluated model: name, file, SHA-256 and predictor settings."""
    info: dict[str, object] = {"name": args.model, "class": type(predictor).__name__}
    if args.model == BASELINE:
        info.update(predictor.describe())
        return info
    from napari_clickseg.models.weights import resolve_weights, sha256_of_file

    path = Path(args.model) if Path(args.model).exists() else resolve_weights(args.model)
    info.update(
        file=str(path),
        sha256=sha256_of_file(path),
        device=str(getattr(predictor, "device", "")),
        precision=str(getattr(predictor, "precision", "")),
        flip=not args.no_flip,
        cfr=dataclasses.asdict(predictor.cfr),
        cfr_from="option --cfr" if args.cfr is not None else "the model file's recommendation",
        min_crop=args.min_crop,
        first_view=args.first_view,
        batch_size=args.batch_size,
    )
    return info


def _dataset_identity(spec: str, dataset, options: dict, args: argparse.Namespace) -> dict:
    """What identifies the evaluated objects: spec, adapter, layout, options, subset."""
    return {
        "spec": str(spec),
        "name": dataset.name,
        "adapter": type(getattr(dataset, "parent", dataset)).__name__,
        "layout": getattr(getattr(dataset, "parent", dataset), "layout", None),
        "options": {k: v for k, v in options.items()},
        "limit": args.limit or None,
        "seed": args.seed,
    }


def _run_identity(processes: int) -> dict[str, object]:
    """Package version, date and the number of processes of this run."""
    import platform

    from napari_clickseg import __version__

    return {
        "napari_clickseg_version": __version__,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host": platform.node(),
        "processes": processes,
    }


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def cmd_models(args: argparse.Namespace) -> int:
    """List model variants, known weights and the cache directory."""
    from napari_clickseg.models.packaged import DEFAULT_MODEL_FILE, packaged_weights
    from napari_clickseg.models.registry import VARIANTS
    from napari_clickseg.models.weights import KNOWN_WEIGHTS, cache_dir

    print("variants:")
    for name, config in VARIANTS.items():
        print(
            f"  {name:20s} {config.architecture:11s} patch {config.patch_size}, "
            f"width {config.embed_dim}, depth {config.depth}, heads {config.num_heads}"
        )
    print("shipped in the package:")
    for path in packaged_weights():
        name = DEFAULT_MODEL_NAME if path.name == DEFAULT_MODEL_FILE else path.stem
        print(f"  {name:24s} {path} ({path.stat().st_size / 1e6:.1f} MB); docs/model_card.md")
    cache = cache_dir()
    print(f"known weights (cache: {cache}):")
    for name, info in KNOWN_WEIGHTS.items():
        cached = "cached" if (cache / info.filename).exists() else "not cached"
        how = "download" if info.downloadable else "manual download"
        source = f"{info.architecture}/{info.variant}, {info.training_data}"
        print(f"  {name:24s} {source}; {how}, {cached}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``clickseg``."""
    parser = argparse.ArgumentParser(prog="clickseg", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="segment a synthetic EM section and write a PNG")
    add_model_options(demo, DEFAULT_MODEL_NAME)
    demo.add_argument("--out", default="demo_output.png", help="PNG to write")
    demo.add_argument("--seed", type=int, default=0, help="seed of the synthetic section")
    demo.add_argument(
        "--click", type=parse_click, action="append", help="row,col,+ or row,col,- (repeatable)"
    )
    demo.set_defaults(func=cmd_demo)

    segment = sub.add_parser("segment", help="segment an image file from clicks")
    add_model_options(segment, DEFAULT_MODEL_NAME)
    segment.add_argument("image", help="image file (PNG, JPEG, TIFF)")
    segment.add_argument(
        "--click",
        type=parse_click,
        action="append",
        required=True,
        help="row,col,+ or row,col,- in pixels (repeatable; --click -5,10,+ works too)",
    )
    segment.add_argument("--out", required=True, help="mask file to write (PNG or TIFF)")
    segment.add_argument("--overlay", help="also write a PNG of the mask over the image")
    segment.add_argument(
        "--channels", type=int, nargs=3, metavar="C", help="three channels to use as R, G, B"
    )
    segment.set_defaults(func=cmd_segment)

    evaluate = sub.add_parser(
        "evaluate", help="NoC protocol on data sets: table, per-object CSV and mIoU plot"
    )
    add_model_options(evaluate, DEFAULT_MODEL_NAME, default_precision="float32")
    evaluate.add_argument(
        "--data",
        action="append",
        required=True,
        metavar="KIND:PATH",
        help="data set: brats:, oai_zib:, sstem:, isbi:, folder: or slices: followed by a "
        "path, a path alone (layout detected), or synthetic:em_cells / em_mitochondria / "
        "brain / knee (seeded generators; --data-option seed=N); repeatable",
    )
    evaluate.add_argument(
        "--data-option",
        type=parse_option,
        action="append",
        metavar="KEY=VALUE",
        help="adapter option, e.g. slices=20,21,22 or target=core (repeatable)",
    )
    evaluate.add_argument("--max-clicks", type=int, default=20)
    evaluate.add_argument("--target-iou", type=float, default=0.90)
    evaluate.add_argument(
        "--stop-at-target",
        action="store_true",
        help="stop each object at the target IoU (faster; mIoU@k then covers fewer clicks)",
    )
    evaluate.add_argument("--noc", type=int, nargs="+", default=[85, 90], metavar="P")
    evaluate.add_argument("--miou", type=int, nargs="+", default=[1, 3, 5, 10, 20], metavar="K")
    evaluate.add_argument("--limit", type=int, default=0, help="objects per data set (0: all)")
    evaluate.add_argument("--seed", type=int, default=None, help="random object subset seed")
    evaluate.add_argument("--cfr-every-click", action="store_true", help="CFR on every click")
    evaluate.add_argument(
        "--min-crop",
        type=int,
        default=None,
        metavar="PX",
        help="ZoomIn's minimum crop side in pixels (default: the official 200 px scaled by the "
        "model's input size over 448 px, 100 px for the default model; 200 is the official "
        "code's value for any input)",
    )
    evaluate.add_argument(
        "--first-view",
        type=int,
        default=None,
        metavar="PX",
        help="largest side of the first click's view: a window of at most PX pixels around "
        "the click instead of the whole image (default: the whole image, the official rule)",
    )
    evaluate.add_argument(
        "--batch-size",
        type=int,
        default=1,
        metavar="N",
        help="objects that advance click by click together in one batched forward pass "
        "(networks only; same results, higher throughput on a GPU)",
    )
    evaluate.add_argument(
        "--selection",
        choices=["model", "oracle"],
        default="model",
        help="multi-candidate models: the model's pick (default) or the official oracle",
    )
    evaluate.add_argument(
        "--out", default="clickseg_eval", help="folder for the CSV, the JSON summary and the plot"
    )
    evaluate.set_defaults(func=cmd_evaluate)

    from napari_clickseg.cli_propagate import add_propagate_parser

    add_propagate_parser(sub, add_model_options)

    from napari_clickseg.cli_train import add_train_parser

    add_train_parser(sub)

    models = sub.add_parser("models", help="list variants, known weights and the cache")
    models.set_defaults(func=cmd_models)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``clickseg``."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(split_negative_values(argv))
    try:
        return args.func(args)
    except (ValueError, RuntimeError, OSError, LookupError) as error:
        print(f"clickseg {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
