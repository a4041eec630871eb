"""The benchmark scripts run and print their tables (speed itself is never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
