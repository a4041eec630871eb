"""The benchmark scripts run and print their tables (speed itself is never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def _run(script: str, *args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize(
    ("script", "args", "first_column"),
    [
        ("bench_predictor.py", ["--variants", "--models", "default", "--clicks", "1"], 1),
        ("bench_propagation.py", ["--slices", "5"], 0),
    ],
)
def test_every_mode_is_timed_against_the_plain_path(script, args, first_column):
    lines = _run(script, *args, "--device", "cpu")
    rows = [line.split() for line in lines]
    modes = {row[first_column]: row for row in rows if len(row) > first_column + 1}
    assert {"plain", "exact", "default", "fast"} <= set(modes)
    assert "1.00x" in modes["plain"]
    assert modes["exact"][first_column + 1] == "float32"


def test_clicker_benchmark_times_both_rules_against_the_model():
    lines = _run(
        "bench_clicker.py", "--limit", "1", "--clicks", "2", "--data-option", "shape=1,256,256"
    )
    table = "\n".join(lines)
    assert "clicker, full image (base)" in table and "1.00x" in table
    assert "clicker, bounding box" in table and "clicker share:" in table


def test_process_benchmark_compares_sharded_rows_with_one_process():
    lines = _run(
        "bench_evaluation_processes.py", "--processes", "2", "--limit", "3", "--clicks", "2"
    )
    rows = [line.split() for line in lines if line.split() and line.split()[0].isdigit()]
    assert [row[0] for row in rows] == ["1", "2"]
    assert rows[0][3] == "1.00x" and all(row[-1] == "yes" for row in rows)


def test_first_mask_spill_compares_first_masks_with_the_objects(tmp_path):
    from skimage import io as skio

    # bright discs on a dark background: the watershed's first mask is the disc itself
    for name in ("images", "masks"):
        (tmp_path / name).mkdir()
    rows, cols = np.ogrid[:96, :96]
    for i, radius in enumerate((10, 16, 22)):
        disc = (rows - 48) ** 2 + (cols - 48) ** 2 <= radius**2
        skio.imsave(tmp_path / "images" / f"{i}.png", np.where(disc, 200, 40).astype(np.uint8))
        skio.imsave(tmp_path / "masks" / f"{i}.png", (disc * 255).astype(np.uint8))
    (line,) = _run(
        "first_mask_spill.py", "--model", "baseline", "--data", f"folder:{tmp_path}",
    )  # fmt: skip
    assert line.startswith("baseline: 3 objects; first mask / object area: median ")
    median = float(line.split("median ", 1)[1].split(",")[0])
    assert 0.9 < median < 1.1 and "over 1.5x 0%, under 0.67x 0%" in line
    assert float(line.rsplit("mIoU@1 ", 1)[1]) > 0.9


def test_em_mosaic_tiles_four_sections_and_their_mitochondria(tmp_path):
    from skimage import io as skio

    from napari_clickseg.data.registry import open_dataset

    root = tmp_path / "data"
    (root / "isbi2012_em" / "image").mkdir(parents=True)
    (root / "isbi2012_em_mito" / "mitochondria").mkdir(parents=True)
    rows, cols = np.ogrid[:64, :64]
    for section in range(4):  # one disc per section, each at its own place
        disc = (rows - 12 - 10 * section) ** 2 + (cols - 30) ** 2 <= 36
        image = np.where(disc, 60, 180 + section).astype(np.uint8)
        skio.imsave(root / "isbi2012_em" / "image" / f"{section}.png", image)
        skio.imsave(
            root / "isbi2012_em_mito" / "mitochondria" / f"{section}.png",
            (disc * 255).astype(np.uint8),
            check_contrast=False,
        )
    out = tmp_path / "mosaic"
    args = ["--data-root", str(root), "--out", str(out), "--slices", "0", "1", "2", "3"]
    (line,) = _run("em_mosaic.py", *args, "--arrangements", "2")
    assert line == f"wrote 2 mosaics of 128 x 128 to {out}"
    first = skio.imread(out / "raw" / "0.png")
    second = skio.imread(out / "raw" / "1.png")
    assert first.shape == (128, 128)
    assert first[0, 127] == 181 and first[127, 127] == 183  # tiles 1 and 3, row-major
    assert second[0, 0] == 181  # the next arrangement starts with the next section
    objects = list(open_dataset(f"sstem:{out}"))
    assert len(objects) == 8 and all(obj.gt.sum() > 0 for obj in objects)
