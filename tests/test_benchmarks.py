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
