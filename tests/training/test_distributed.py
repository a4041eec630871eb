"""Data-parallel training: torchrun environment, and a 2-process Gloo run on the CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import io as skio

from napari_clickseg.training.distributed import init_distributed, resolve_device

WORKER = Path(__file__).with_name("ddp_worker.py")


def test_without_torchrun_the_context_is_single_process(monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    ctx = init_distributed("cpu")
    assert (ctx.rank, ctx.world_size, ctx.backend, ctx.is_main) == (0, 1, None, True)
    assert ctx.device == torch.device("cpu") and ctx.mean(3.5) == 3.5


def test_inconsistent_environment_is_explained(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "5")
    with pytest.raises(ValueError, match="RANK=5 lies outside WORLD_SIZE=2"):
        init_distributed("cpu")
    monkeypatch.setenv("RANK", "one")
    with pytest.raises(ValueError, match="RANK='one' is not an integer"):
        init_distributed("cpu")


def test_cuda_request_without_cuda_is_explained():
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda")


def _discs(root: Path) -> Path:
    rng = np.random.default_rng(1)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir(parents=True)
    for i in range(4):
        yy, xx = np.mgrid[:48, :48]
        disc = (yy - rng.integers(16, 32)) ** 2 + (xx - rng.integers(16, 32)) ** 2 <= 81
        image = (40 + 150 * disc + rng.normal(0, 10, disc.shape)).clip(0, 255).astype(np.uint8)
        skio.imsave(root / "images" / f"{i}.png", image, check_contrast=False)
        skio.imsave(
            root / "masks" / f"{i}.png", (disc * 255).astype(np.uint8), check_contrast=False
        )
    return root


CONFIG = """
output_dir = "{out}"
[model]
init = "xtiny"
[model.overrides]
img_size = 224
embed_dim = 16
depth = 4
num_heads = 2
neck_out_dims = [8, 8, 8, 8]
head_channels = 8
[data]
train = [{{ spec = "folder:{data}" }}]
augment = false
[optim]
lr = 1e-3
[loop]
epochs = 1
samples_per_epoch = 8
batch_size = 4
max_num_points = 4
max_extra_clicks = 1
log_every = 1
device = "cpu"
"""


def test_two_cpu_processes_keep_identical_replicas(tmp_path):
    data = _discs(tmp_path / "discs")
    out, dump = tmp_path / "run", tmp_path / "dump"
    dump.mkdir()
    config = tmp_path / "ddp.toml"
    config.write_text(CONFIG.format(out=out, data=data))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", str(WORKER), str(config), str(dump)]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [torch.load(dump / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert [r["rank"] for r in ranks] == [0, 1]
    assert all(r["world_size"] == 2 and r["backend"] == "gloo" for r in ranks)
    # the DistributedSampler splits the 8 samples of the epoch: 4 per process, 2 steps of 2
    assert [r["samples"] for r in ranks] == [4, 4] and [r["steps"] for r in ranks] == [2, 2]
    first, second = ranks[0]["after"], ranks[1]["after"]
    for name, value in first.items():
        assert torch.equal(value, second[name]), f"replicas differ in {name}"
    assert any(not torch.equal(v, ranks[0]["before"][k]) for k, v in first.items())
    # only rank 0 writes the run's files
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert sum(r["event"] == "start" for r in records) == 1
    assert records[0]["world_size"] == 2
    steps = [r for r in records if r["event"] == "step"]
    assert len(steps) == 2 and all(np.isfinite(r["loss"]) for r in steps)
    assert (out / "model_final.safetensors").is_file()
