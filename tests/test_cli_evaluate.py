"""``clickseg evaluate``: the JSON summary, the timing split and the sharded (torchrun) run."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from skimage.io import imsave

from napari_clickseg.cli import main
from napari_clickseg.models.packaged import default_model_path
from napari_clickseg.models.weights import sha256_of_file

TIMING_COLUMNS = {"seconds", "clicker_seconds"}


def _discs(folder: Path, count: int) -> Path:
    """An image/mask folder of bright discs of different sizes, one object per image."""
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    rng = np.random.default_rng(3)
    for index in range(count):
        rows, cols = np.ogrid[:56, :64]
        radius = 6 + 2 * index
        mask = (rows - 28) ** 2 + (cols - 20 - 3 * index) ** 2 <= radius**2
        image = (50 + 140 * mask + rng.normal(0, 12, mask.shape)).clip(0, 255).astype(np.uint8)
        imsave(folder / "images" / f"im{index}.png", image, check_contrast=False)
        imsave(
            folder / "masks" / f"im{index}.png", (mask * 255).astype(np.uint8), check_contrast=False
        )
    return folder


def _rows(out: Path) -> list[dict[str, str]]:
    with next(out.glob("*.csv")).open() as handle:
        return [
            {k: v for k, v in row.items() if k not in TIMING_COLUMNS}
            for row in csv.DictReader(handle)
        ]


def test_evaluate_writes_a_json_summary_beside_the_table(tmp_path, capsys):
    folder = _discs(tmp_path / "data", 2)
    out = tmp_path / "out"
    args = ["evaluate", "--data", f"folder:{folder}", "--max-clicks", "3", "--out", str(out)]
    assert main([*args, "--device", "cpu", "--data-option", "name=discs"]) == 0
    text = capsys.readouterr().out
    assert "clicker s/click" in text and "mIoU@20" in text  # mIoU@20 shown by default
    summary = json.loads(next(out.glob("*.json")).read_text())
    rows = _rows(out)
    assert summary["metrics"]["objects"] == 2 and len(summary["objects"]) == 2
    assert set(summary["metrics"]["noc"]) == {"80", "85", "90", "95"}
    curve = [float(row["iou@1"]) for row in rows]
    assert summary["metrics"]["miou"]["1"] == pytest.approx(np.mean(curve), abs=1e-6)
    timing = summary["timing"]
    assert timing["clicks"] == 6 and timing["clicker_seconds_per_click"] > 0
    assert timing["model_seconds_per_click"] > 0
    assert summary["model"]["sha256"] == sha256_of_file(default_model_path())
    assert summary["model"]["flip"] is True and summary["settings"]["max_clicks"] == 3
    assert summary["dataset"]["adapter"] == "ImageMaskFolder"
    assert summary["dataset"]["options"] == {"name": "discs"}
    assert summary["processes"] == 1 and summary["napari_clickseg_version"]


def test_without_cfr_the_run_uses_and_records_the_model_files_recommendation(tmp_path, capsys):
    folder = _discs(tmp_path / "data", 1)
    base = ["evaluate", "--data", f"folder:{folder}", "--max-clicks", "2", "--device", "cpu"]
    assert main([*base, "--out", str(tmp_path / "rec")]) == 0
    model = json.loads(next((tmp_path / "rec").glob("*.json")).read_text())["model"]
    recommended = {"steps": 4, "adaptive": True, "max_clicks": 1, "min_view_shrink": 3.0}
    assert model["cfr"] == recommended
    assert model["cfr_from"] == "the model file's recommendation"
    assert main([*base, "--cfr", "0", "--out", str(tmp_path / "off")]) == 0
    model = json.loads(next((tmp_path / "off").glob("*.json")).read_text())["model"]
    assert model["cfr"]["steps"] == 0 and model["cfr_from"] == "option --cfr"
    capsys.readouterr()
    assert main([*base, "--adaptive", "--out", str(tmp_path / "bad")]) == 2
    assert "need --cfr N" in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_sharded_run_over_two_processes_equals_the_one_process_run(tmp_path):
    folder = _discs(tmp_path / "data", 5)  # 5 objects over 2 ranks: shares of 3 and 2
    common = ["evaluate", "--data", f"folder:{folder}", "--max-clicks", "3", "--device", "cpu"]
    assert main([*common, "--out", str(tmp_path / "one")]) == 0
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    launcher += ["--master_addr", "127.0.0.1", "--master_port", str(_free_port())]
    command = [*launcher, "-m", "napari_clickseg.cli", *common, "--out", str(tmp_path / "two")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 processes" in done.stdout
    assert _rows(tmp_path / "two") == _rows(tmp_path / "one")
    one = json.loads(next((tmp_path / "one").glob("*.json")).read_text())
    two = json.loads(next((tmp_path / "two").glob("*.json")).read_text())
    assert two["metrics"] == one["metrics"] and two["processes"] == 2


def test_the_progress_bar_shows_the_time_left(capsys, monkeypatch):
    from napari_clickseg import cli

    times = iter([0.0, 30.0])
    monkeypatch.setattr(cli.time, "perf_counter", lambda: next(times))
    cli.ProgressBar("set")(1, 4, "obj1")
    text = capsys.readouterr().err
    assert "1/4" in text and "30 s," in text and "90 s left" in text
