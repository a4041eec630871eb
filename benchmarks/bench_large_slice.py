"""Seconds and memory per click on a huge slice against a 512 x 512 one, and a lazy volume.

Every click is timed end to end as the dock and the CLI use it: ``Predictor.predict`` and the
boolean mask of the result (``Prediction.mask``). The 512 x 512 baseline runs first, in the
same process; the large slices' times are printed as ratios to it. Memory is the process's
peak resident set (``ru_maxrss``) after each stage and its growth over the baseline stage.

The last section propagates a mask through a sparse zarr volume of several GB nominal (a disc
on a few slices) opened with :func:`napari_clickseg.io.zarr_volumes.open_lazy_volume`, and
prints the peak traced allocation (tracemalloc) against the volume's nominal size.

    python benchmarks/bench_large_slice.py                     # default model, 512 vs 8000 px
    python benchmarks/bench_large_slice.py --sizes 4000 8000 --repeats 5
    python benchmarks/bench_large_slice.py --engine-only   # a stub network: the engine's own cost
    python benchmarks/bench_large_slice.py --cfr 0   # without the default model's first-click CFR
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

from napari_clickseg.engine.predictor import CFRSettings, Predictor
from napari_clickseg.engine.propagation import PropagationSettings, propagate
from napari_clickseg.io.zarr_volumes import create_zarr_labels, open_lazy_volume
from napari_clickseg.models.checkpoints import load_model


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _slice(size: int, seed: int = 0) -> np.ndarray:
    """A uint8 EM-like section: a bright cell of 120 px radius in the middle, noise around."""
    rng = np.random.default_rng(seed)
    image = rng.integers(20, 70, (size, size), dtype=np.uint8)
    centre, radius = size // 2, min(120, size // 4)
    image[centre - radius : centre + radius, centre - radius : centre + radius] += 120
    return image


CLICKS = ("click 1", "click 2", "click 3")


def _time_clicks(predictor: Predictor, image: np.ndarray) -> dict[str, float]:
    """Seconds of set_image and of each click of one sequence (predict + mask)."""
    size = image.shape[0]
    centre = size // 2
    clicks = [
        (centre, centre, True),
        (centre + 20, centre - 15, True),
        (centre - 60, centre, False),
    ]
    start = time.perf_counter()
    predictor.set_image(image)
    times = {"set_image": time.perf_counter() - start}
    for count in range(1, len(clicks) + 1):
        start = time.perf_counter()
        mask = predictor.predict(clicks[:count]).mask
        times[f"click {count}"] = time.perf_counter() - start
        assert mask.shape == (size, size)
    return times


def _stub_network():
    """A 224 px 'network' that thresholds its input: what is left is the engine's own work."""
    from napari_clickseg.models.interface import ClickSegModel, ModelOutput

    class Threshold(ClickSegModel):
        input_size = (224, 224)

        def forward(self, image, prev_mask, points):
            return ModelOutput(logits=12.0 * (image[:, :1] - 0.45) + 3.0 * prev_mask)

    return Threshold()


def _lazy_volume_peak(shape: tuple[int, int, int]) -> tuple[float, float, int]:
    """(nominal GB, peak traced MB, slices written) of a propagation through a sparse zarr."""
    import zarr

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        chunks = (1, 1024, 1024)
        image = zarr.create_array(
            store=str(root / "v.zarr"), shape=shape, chunks=chunks, dtype="u1"
        )
        seed = zarr.create_array(store=str(root / "s.zarr"), shape=shape, chunks=chunks, dtype="u1")
        rows, cols = np.ogrid[:512, :512]
        disc = np.where((rows - 256) ** 2 + (cols - 256) ** 2 < 120**2, 220, 30).astype(np.uint8)
        middle = shape[0] // 2
        for z in range(middle - 10, middle + 10):
            image[z, 1024:1536, 1024:1536] = disc
        seed[middle, 1024:1536, 1024:1536] = disc > 100
        volume = open_lazy_volume(root / "v.zarr")
        out = create_zarr_labels(root / "out.zarr", shape, chunks, np.uint8)
        tracemalloc.start()
        result = propagate(
            Predictor(_stub_network(), "cpu"),
            volume.data,
            open_lazy_volume(root / "s.zarr").data,
            seed_slices=[middle],
            settings=PropagationSettings(max_empty=1),
            out=out,
        )
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return volume.nbytes / 1e9, peak / 1e6, len(result.written)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="default", help="model to load (default: shipped)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[8000], help="large slice sides")
    parser.add_argument("--baseline", type=int, default=512, help="baseline slice side")
    parser.add_argument("--repeats", type=int, default=5, help="runs per size (median)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument(
        "--volume",
        type=int,
        nargs=3,
        default=[512, 4096, 4096],
        metavar=("Z", "Y", "X"),
        help="lazy zarr volume shape for the propagation memory figure (0 0 0: skip)",
    )
    parser.add_argument(
        "--engine-only", action="store_true", help="a stub network instead of --model"
    )
    parser.add_argument(
        "--cfr",
        type=int,
        default=None,
        metavar="N",
        help="CFR-N on the first click (default: what the model's file recommends; 0: off)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    name = "stub (engine only)" if args.engine_only else args.model
    print(f"CPU: {_cpu_name()}; torch threads {torch.get_num_threads()}; model {name}")
    model = _stub_network() if args.engine_only else load_model(args.model)
    predictor = Predictor(model, "cpu", cfr=None if args.cfr is None else CFRSettings(args.cfr))
    print(f"CFR: {predictor.cfr}")
    sizes = [args.baseline, *args.sizes]
    images = {size: _slice(size) for size in sizes}
    _time_clicks(predictor, images[args.baseline])  # warm-up (allocator, kernels)
    runs: dict[int, list[dict[str, float]]] = {size: [] for size in sizes}
    peaks: dict[int, float] = {}
    # Interleaved (baseline, large, baseline, large, ...) so that a busy machine slows both.
    for _ in range(args.repeats):
        for size in sizes:
            runs[size].append(_time_clicks(predictor, images[size]))
            peaks[size] = _peak_rss_mb()
    medians = {
        size: {name: statistics.median(run[name] for run in runs[size]) for name in runs[size][0]}
        for size in sizes
    }
    base = medians[args.baseline]
    names = list(base)
    print(f"median of {args.repeats} interleaved runs; a click = predict + mask")
    print(f"{'slice':>11s} " + " ".join(f"{n:>16s}" for n in names) + "  peak RSS")
    for size in sizes:
        row = " ".join(
            f"{medians[size][n]:8.3f} s {medians[size][n] / base[n]:5.2f}x" for n in names
        )
        print(f"{size:>5d}x{size:<5d} {row}  {peaks[size]:6.0f} MB")
    print(
        f"peak RSS growth over the {args.baseline} px runs (includes the "
        f"{images[max(sizes)].nbytes / 1e6:.0f} MB test image): "
        f"{_peak_rss_mb() - peaks[args.baseline]:.0f} MB"
    )
    if all(args.volume):
        nominal, peak, written = _lazy_volume_peak(tuple(args.volume))
        shape = "x".join(map(str, args.volume))
        print(
            f"lazy zarr volume {shape} uint8 ({nominal:.1f} GB nominal): propagation wrote "
            f"{written} slices, peak traced allocation {peak:.0f} MB "
            f"({peak / 1e3 / nominal:.3f}x the volume)"
        )


if __name__ == "__main__":
    main()
