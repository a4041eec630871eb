"""What the ``clickseg`` sub-commands share: click syntax, model options, predictors, progress.

One layer below :mod:`napari_clickseg.cli` and its sub-command modules
(:mod:`~napari_clickseg.cli_propagate`, :mod:`~napari_clickseg.cli_train`), which all import
from here and never from each other's parents, so there is no import cycle.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "BASELINE",
    "PRECISION_CHOICES",
    "ProgressBar",
    "add_model_options",
    "make_predictor",
    "parse_click",
    "predictor_from_options",
    "split_negative_values",
]

#: ``engine.device.PRECISION_CHOICES``, spelled out so that ``--help`` does not import torch.
PRECISION_CHOICES = ("auto", "float32", "bfloat16", "float16")

BASELINE = "baseline"


def parse_click(text: str) -> tuple[float, float, bool]:
    """Parse 'row,col,+' or 'row,col,-' into (row, col, is_positive)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 3 or parts[2] not in {"+", "-", "pos", "neg"}:
        raise argparse.ArgumentTypeError(
            f"click {text!r}: expected 'row,col,+' or 'row,col,-' (pixels, + positive, - negative)"
        )
    try:
        row, col = float(parts[0]), float(parts[1])
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"click {text!r}: row and col must be numbers") from error
    return row, col, parts[2] in {"+", "pos"}


def split_negative_values(argv: Sequence[str], options: Sequence[str] = ("--click",)) -> list[str]:
    """Join ``--click -5,10,+`` into ``--click=-5,10,+`` so that argparse takes the value.

    argparse reads a value that starts with ``-`` (and is not a plain number) as an option and
    fails with "expected one argument". Both spellings then work; the click itself is checked
    against the image later (a negative row or column lies outside it).

    Parameters
    ----------
    argv : sequence of str
        Command-line arguments.
    options : sequence of str
        Options whose next argument is always their value.
    """
    out: list[str] = []
    items = list(argv)
    index = 0
    while index < len(items):
        item = items[index]
        if item in options and index + 1 < len(items) and items[index + 1].startswith("-"):
            value = items[index + 1]
            if not value.startswith("--"):
                out.append(f"{item}={value}")
                index += 2
                continue
        out.append(item)
        index += 1
    return out


def _print_progress(done: int, total: int) -> None:
    if total:
        print(f"\rdownloading: {100 * done / total:5.1f}% of {total / 1e6:.1f} MB", end="")
        if done >= total:
            print()


def make_predictor(
    model: str,
    device: str | None,
    cfr_steps: int | None,
    adaptive: bool,
    flip: bool,
    precision: str = "float32",
    min_crop_size: int | None = None,
    first_view_max_side: int | None = None,
    cfr_min_view_shrink: float = 0.0,
):
    """A predictor for a model path or registry name, or the weight-free baseline.

    ``cfr_steps`` None runs the CFR the model's file recommends (off for official
    checkpoints); a number runs CFR-N with ``adaptive`` and ``cfr_min_view_shrink``.
    ``min_crop_size`` is ZoomIn's minimum crop side (None: scaled with the model's input);
    ``first_view_max_side`` caps the first click's view (None: the whole image).
    """
    if cfr_steps is None and (adaptive or cfr_min_view_shrink):
        raise ValueError(
            "--adaptive and --cfr-min-shrink set up CFR-N and need --cfr N "
            "(without --cfr the model's recommended CFR runs)"
        )
    if model == BASELINE:
        from napari_clickseg.engine.baseline import ClickBaseline

        return ClickBaseline()
    from napari_clickseg.engine.predictor import CFRSettings, Predictor
    from napari_clickseg.engine.zoom_in import ZoomInSettings
    from napari_clickseg.models.checkpoints import load_model
    from napari_clickseg.models.weights import resolve_weights

    source = model if Path(model).exists() else resolve_weights(model, progress=_print_progress)
    return Predictor(
        load_model(source),
        device,
        with_flip=flip,
        cfr=None
        if cfr_steps is None
        else CFRSettings(steps=cfr_steps, adaptive=adaptive, min_view_shrink=cfr_min_view_shrink),
        precision=precision,
        zoom_in=ZoomInSettings(
            min_crop_size=min_crop_size, first_view_max_side=first_view_max_side
        ),
    )


def predictor_from_options(
    args: argparse.Namespace,
    device: str | None = None,
    min_crop_size: int | None = None,
    first_view_max_side: int | None = None,
):
    """:func:`make_predictor` from the options :func:`add_model_options` defines.

    ``device`` replaces ``args.device`` when given (a torchrun rank's own GPU).
    """
    return make_predictor(
        args.model,
        device if device is not None else args.device,
        args.cfr,
        args.adaptive,
        not args.no_flip,
        args.precision,
        min_crop_size=min_crop_size,
        first_view_max_side=first_view_max_side,
        cfr_min_view_shrink=args.cfr_min_shrink,
    )


class ProgressBar:
    """A text progress bar on standard error for long runs."""

    def __init__(self, label: str, width: int = 30) -> None:
        self.label = label
        self.width = width
        self.start = time.perf_counter()

    def __call__(self, done: int, total: int, message: str = "") -> None:
        """Redraw the bar; ends the line when done == total."""
        elapsed = time.perf_counter() - self.start
        if total:
            filled = round(self.width * done / total)
            bar = "#" * filled + "." * (self.width - filled)
            left = f"{elapsed / done * (total - done):5.0f} s left" if done else "   ? s left"
            text = (
                f"\r{self.label} [{bar}] {done}/{total} {elapsed:5.0f} s, {left} {message[:40]:40s}"
            )
        else:
            text = f"\r{self.label} {done} {elapsed:5.0f} s {message[:40]:40s}"
        print(text, end="", file=sys.stderr, flush=True)
        if total and done >= total:
            print(file=sys.stderr)


def add_model_options(
    parser: argparse.ArgumentParser, default_model: str, default_precision: str = "auto"
) -> None:
    parser.add_argument(
        "--model",
        default=default_model,
        help="'default' (the model shipped in the package), a checkpoint path, a registry "
        "name (see `clickseg models`) or 'baseline' (classical watershed, no weights); "
        f"default: {default_model}",
    )
    parser.add_argument("--device", default=None, help="cuda, mps, cpu (default: best available)")
    parser.add_argument(
        "--cfr",
        type=int,
        default=None,
        metavar="N",
        help="CFR-N on the first click; 0 turns CFR off (default: what the model's file "
        "recommends: adaptive CFR-4 where the first view shrinks the image over 3x for the "
        "packaged default model, off for official checkpoints)",
    )
    parser.add_argument("--adaptive", action="store_true", help="adaptive CFR (stop at <= 20 px)")
    parser.add_argument(
        "--cfr-min-shrink",
        type=float,
        default=0.0,
        metavar="X",
        help="with --cfr N: refine only where the first view shrinks the image at least X "
        "times into the network input (default 0: always, the official rule)",
    )
    parser.add_argument("--no-flip", action="store_true", help="skip horizontal-flip averaging")
    parser.add_argument(
        "--precision",
        choices=PRECISION_CHOICES,
        default=default_precision,
        help="network precision: float32 is the official, exact path; auto runs bfloat16 where "
        "the hardware has it (CUDA GPUs, CPUs with AMX or AVX512-BF16), about 2-4x faster on "
        f"such CPUs; default: {default_precision}",
    )
