"""Seconds per click of the predictor for every architecture and variant, against the plain path.

One click = ZoomIn crop + forward (with the flipped crop unless the mode says otherwise) +
flip average + paste back, timed end to end through ``Predictor.predict``. Every variant is
timed in several modes in the same run, and the ratio to the first, the plain path, is printed:

- ``plain``: eager float32, the official matrix-product attention, no image-encoding cache,
  flip averaging (what the official predictor does);
- ``exact``: fused scaled-dot-product attention and the image-encoding cache, still float32
  (outputs equal the plain path's up to rounding);
- ``default``: ``exact`` in precision 'auto', what the annotation dock runs: bfloat16 autocast
  on a GPU and on a CPU with AMX or AVX512-BF16, float32 elsewhere;
- ``fast``: ``default`` without flip averaging (the interactive fast mode);
- ``compiled`` (with ``--compile MODE``): ``default`` through ``torch.compile`` in that mode
  ('reduce-overhead' uses CUDA graphs on a GPU); compiling happens in the warm-up.

The clicks of a sequence stay on one object, as when a person refines a mask, so the ZoomIn
crop settles after the first clicks. Weights are random: speed does not depend on them. On a
GPU it also prints peak memory and the fraction of the card's peak throughput the forward
reaches (FLOPs of one click's forward / time / peak).

    python benchmarks/bench_predictor.py --variants xtiny vit_base --clicks 5 --device cpu
    python benchmarks/bench_predictor.py --variants --models default --device cpu   # shipped model
    python benchmarks/bench_predictor.py --all --device cuda
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import time
from dataclasses import dataclass

import numpy as np
import torch

from napari_clickseg.engine.compiled import COMPILE_MODES
from napari_clickseg.engine.predictor import Predictor
from napari_clickseg.models.checkpoints import load_model
from napari_clickseg.models.registry import VARIANTS, build_model, variant_config

#: Dense bf16 / fp32 peak TFLOP/s of the cards we use (vendor figures, SXM parts).
PEAK_TFLOPS = {"H100": (989.0, 67.0), "H200": (989.0, 67.0), "A100": (312.0, 19.5)}


@dataclass(frozen=True)
class Mode:
    name: str
    fused: bool
    cache: bool
    flip: bool
    precision: str
    compile_mode: str | None = None


MODES = (
    Mode("plain", fused=False, cache=False, flip=True, precision="float32"),
    Mode("exact", fused=True, cache=True, flip=True, precision="float32"),
    Mode("default", fused=True, cache=True, flip=True, precision="auto"),
    Mode("fast", fused=True, cache=True, flip=False, precision="auto"),
)


def object_image(size: tuple[int, int]) -> np.ndarray:
    """A noisy image with one bright ellipse in the middle."""
    height, width = size
    rng = np.random.default_rng(0)
    image = rng.normal(60, 15, (height, width, 3))
    rows, cols = np.mgrid[:height, :width]
    inside = ((rows - height / 2) / (height / 5)) ** 2 + ((cols - width / 2) / (width / 4)) ** 2
    image[inside < 1] += 120
    return np.clip(image, 0, 255).astype(np.uint8)


def click_sequence(size: tuple[int, int], count: int) -> list[tuple[float, float, bool]]:
    """Clicks on and around the central object: positives inside, negatives near its edge."""
    height, width = size
    rng = np.random.default_rng(1)
    clicks = [(height / 2, width / 2, True)]
    for index in range(count):
        angle = rng.uniform(0, 2 * np.pi)
        radius = rng.uniform(0.3, 0.8) if index % 2 == 0 else rng.uniform(1.05, 1.25)
        row = height / 2 + radius * height / 5 * np.sin(angle)
        col = width / 2 + radius * width / 4 * np.cos(angle)
        clicks.append((float(row), float(col), index % 2 == 0))
    return clicks


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def seconds_per_click(
    predictor: Predictor, image: np.ndarray, clicks: list[tuple[float, float, bool]]
) -> float:
    """Median seconds per click over the sequence, after one warm-up sequence."""
    for warm in (True, False):
        predictor.set_image(image)
        times = []
        for count in range(1, len(clicks) + 1):
            _sync(predictor.device)
            start = time.perf_counter()
            predictor.predict(clicks[:count])
            _sync(predictor.device)
            times.append(time.perf_counter() - start)
        if not warm:
            return float(np.median(times))
    raise AssertionError("unreachable")


def forward_flops(model: torch.nn.Module, device: torch.device, flip: bool) -> float:
    """FLOPs of one click's network forward at the model's input size."""
    from torch.utils.flop_counter import FlopCounterMode

    height, width = model.input_size
    batch = 2 if flip else 1
    image = torch.rand(batch, 3, height, width, device=device)
    prev = torch.zeros(batch, 1, height, width, device=device)
    points = torch.tensor([[[height / 2, width / 2, 0], [-1, -1, -1]]] * batch, device=device)
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(image, prev, points)
    return float(counter.get_total_flops())


def set_fused(model: torch.nn.Module, enabled: bool) -> None:
    """Fused or plain attention in every attention module of the model."""
    if hasattr(model, "backbone") and hasattr(model.backbone, "set_fused_attention"):
        model.backbone.set_fused_attention(enabled)
    for module in model.modules():
        if hasattr(module, "fused_attn"):
            module.fused_attn = enabled


def mode_predictor(model: torch.nn.Module, device: str | None, mode: Mode) -> Predictor:
    """A predictor running ``model`` as ``mode`` says (attention kind set on the model)."""
    predictor = Predictor(
        model,
        device,
        with_flip=mode.flip,
        precision=mode.precision,
        cache_image_encoding=mode.cache,
        compile_mode=mode.compile_mode,
    )
    set_fused(model, mode.fused)
    return predictor


def peak_tflops(device: torch.device, precision: str) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, (bf16, fp32) in PEAK_TFLOPS.items():
        if key in name:
            return bf16 if precision in ("bfloat16", "float16") else fp32
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", nargs="*", default=["xtiny", "vit_base"])
    parser.add_argument("--all", action="store_true", help="every registered variant")
    parser.add_argument(
        "--models",
        nargs="+",
        default=[],
        metavar="MODEL",
        help="also time these models: 'default' (the shipped one), files or registry names",
    )
    parser.add_argument("--clicks", type=int, default=5)
    parser.add_argument("--device", default=None)
    parser.add_argument("--size", type=int, nargs=2, default=(512, 512), metavar=("H", "W"))
    parser.add_argument("--modes", nargs="+", default=[m.name for m in MODES])
    parser.add_argument(
        "--compile",
        metavar="MODE",
        choices=COMPILE_MODES,
        help="also time the default mode through torch.compile in this mode",
    )
    args = parser.parse_args()

    modes = [m for m in MODES if m.name in args.modes]
    if args.compile:
        default = next(m for m in MODES if m.name == "default")
        modes.append(dataclasses.replace(default, name="compiled", compile_mode=args.compile))
    if not modes or modes[0].name != "plain":
        parser.error("the modes must start with 'plain', the baseline the ratios refer to")
    variants = sorted(VARIANTS) if args.all else args.variants
    builders = [(name, lambda name=name: build_model(variant_config(name))) for name in variants]
    builders += [(name, lambda name=name: load_model(name)) for name in args.models]
    size = tuple(args.size)
    image = object_image(size)
    clicks = click_sequence(size, args.clicks)
    device_probe = Predictor(build_model(variant_config("xtiny")), args.device).device
    card = torch.cuda.get_device_name(device_probe) if device_probe.type == "cuda" else ""
    cpu = platform.processor() or platform.machine()
    print(
        f"{time.strftime('%Y-%m-%d')}  {platform.node()}  {cpu}  torch {torch.__version__}"
        f"  threads {torch.get_num_threads()}  device {device_probe} {card}"
    )
    print(f"image {size[0]}x{size[1]}, {len(clicks)} clicks per sequence, median s/click")
    header = ("variant", "mode", "precision", "s/click", "vs plain", "peak MB", "% peak")
    print("{:22s} {:8s} {:9s} {:>9s} {:>9s} {:>8s} {:>7s}".format(*header))
    for name, build in builders:
        model = build()
        plain_time = None
        for mode in modes:
            predictor = mode_predictor(model, args.device, mode)
            precision = predictor.precision
            if predictor.device.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            seconds = seconds_per_click(predictor, image, clicks)
            plain_time = plain_time or seconds
            memory, utilisation = "", ""
            if predictor.device.type == "cuda":
                memory = f"{torch.cuda.max_memory_allocated() / 2**20:8.0f}"
                peak = peak_tflops(predictor.device, precision)
                if peak:
                    flops = forward_flops(model, predictor.device, mode.flip)
                    utilisation = f"{100 * flops / seconds / (peak * 1e12):6.1f}%"
            print(
                f"{name:22s} {mode.name:8s} {precision:9s} {seconds:9.4f} "
                f"{plain_time / seconds:8.2f}x "
                f"{memory:>8s} {utilisation:>7s}",
                flush=True,
            )
            del predictor
        del model


if __name__ == "__main__":
    main()
