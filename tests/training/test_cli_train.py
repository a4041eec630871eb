"""``clickseg train`` on a tiny config: a run, a refused restart, a resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from skimage import io as skio

from napari_clickseg.cli import main

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
[loop]
epochs = {epochs}
samples_per_epoch = 2
batch_size = 2
max_num_points = 4
max_extra_clicks = 0
log_every = 1
"""


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_train_command_runs_refuses_a_restart_and_resumes(tmp_path, capsys):
    data = tmp_path / "discs"
    (data / "images").mkdir(parents=True)
    (data / "masks").mkdir(parents=True)
    disc = (np.mgrid[:40, :40] - 20) ** 2
    mask = disc.sum(axis=0) <= 64
    skio.imsave(data / "images" / "a.png", (50 + 150 * mask).astype(np.uint8), check_contrast=False)
    skio.imsave(data / "masks" / "a.png", (255 * mask).astype(np.uint8), check_contrast=False)
    out = tmp_path / "run"
    config = tmp_path / "run.toml"
    config.write_text(CONFIG.format(out=out, data=data, epochs=1))

    assert main(["train", "--config", str(config)]) == 0
    assert "final model:" in capsys.readouterr().out
    assert (out / "model_final.safetensors").is_file()

    assert main(["train", "--config", str(config)]) == 2
    assert "already holds a training run" in capsys.readouterr().err

    config.write_text(CONFIG.format(out=out, data=data, epochs=2))
    assert main(["train", "--config", str(config), "--resume"]) == 0
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records if r["event"] == "epoch"] == [1, 2]

    bad = tmp_path / "bad.toml"
    bad.write_text('output_dir = "x"\n[model]\ninit = "xtiny"\n')
    assert main(["train", "--config", str(bad)]) == 2
    assert "data.train must list at least one source" in capsys.readouterr().err
