"""The training loop on CPU with a tiny SimpleClick: learning, resuming, fine-tuning, outputs."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import io as skio

from napari_clickseg.models.checkpoints import load_model, read_own_metadata, save_model
from napari_clickseg.models.registry import build_model
from napari_clickseg.models.simpleclick import SimpleClickConfig
from napari_clickseg.training.checkpointing import load_training_state
from napari_clickseg.training.config import ConfigError, parse_config
from napari_clickseg.training.trainer import Trainer, training_lineage

#: The smallest SimpleClick that runs: 224 px (one 224-px attention window), width 16.
TINY = {"img_size": 224, "embed_dim": 16, "depth": 4, "num_heads": 2,
        "neck_out_dims": [8, 8, 8, 8], "head_channels": 8}  # fmt: skip


@pytest.fixture(autouse=True)
def _one_thread():
    """The test machines are small and shared: one intra-op thread is fastest and repeatable."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def discs(tmp_path) -> Path:
    """An easy task: one bright disc per image on a dark, noisy background."""
    rng = np.random.default_rng(0)
    root = tmp_path / "discs"
    for i in range(6):
        yy, xx = np.mgrid[:64, :64]
        r, c, radius = rng.integers(20, 44), rng.integers(20, 44), rng.integers(8, 14)
        disc = (yy - r) ** 2 + (xx - c) ** 2 <= radius**2
        image = (40 + 150 * disc + rng.normal(0, 10, disc.shape)).clip(0, 255).astype(np.uint8)
        (root / "images").mkdir(parents=True, exist_ok=True)
        (root / "masks").mkdir(parents=True, exist_ok=True)
        skio.imsave(root / "images" / f"{i}.png", image, check_contrast=False)
        skio.imsave(
            root / "masks" / f"{i}.png", (disc * 255).astype(np.uint8), check_contrast=False
        )
    return root


def _config(output: Path, source: Path, init="xtiny", **sections):
    data = {
        "output_dir": str(output),
        "model": {"init": init, "overrides": TINY} if init == "xtiny" else {"init": init},
        "data": {"train": [{"spec": f"folder:{source}"}], "augment": False},
        "optim": {"lr": 1e-3},
        "loop": {"epochs": 1, "samples_per_epoch": 8, "batch_size": 2, "log_every": 1,
                 "max_num_points": 4, "max_extra_clicks": 0},
    }  # fmt: skip
    for key, values in sections.items():
        data.setdefault(key, {}).update(values)
    return parse_config(data)


def _steps(output: Path) -> list[dict]:
    lines = (output / "log.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if r["event"] == "step"]


def test_short_run_lowers_the_loss(tmp_path, discs):
    config = _config(
        tmp_path / "run", discs, optim={"lr": 3e-3}, loop={"samples_per_epoch": 64, "batch_size": 2}
    )
    result = Trainer(config).fit()
    losses = [r["loss"] for r in _steps(tmp_path / "run")]
    assert len(losses) == 32 and result.steps == 32
    first, last = np.mean(losses[:6]), np.mean(losses[-6:])
    assert last < 0.7 * first, (first, last)


def _model_and_optimizer_state(trainer: Trainer):
    return trainer.model.state_dict(), trainer.optimizer.state_dict()


class _InterruptedError(Exception):
    pass


def _interrupt_after(steps: int, config) -> None:
    """Run until ``steps`` optimiser steps are done, then stop as Ctrl-C would."""

    def stop(done, total):
        if done == steps:
            raise _InterruptedError

    with pytest.raises(_InterruptedError):
        Trainer(config, progress=stop).fit()


def test_resume_mid_epoch_reproduces_the_uninterrupted_run(tmp_path, discs):
    # 2 epochs x 2 optimiser steps, 2 micro-batches each (accumulation), 1-2 simulated clicks
    sections = {
        "loop": {"epochs": 2, "samples_per_epoch": 8, "accumulate": 2, "max_extra_clicks": 2},
        "optim": {"milestones": [1]},
        "checkpoint": {"every_steps": 1},
    }
    whole = Trainer(_config(tmp_path / "whole", discs, **sections))
    whole.fit()
    broken = tmp_path / "broken"
    _interrupt_after(3, _config(broken, discs, **sections))
    state = load_training_state(broken / "checkpoints" / "last.pt")
    assert (state["epoch"], state["global_step"], state["micro_done"]) == (1, 3, 2)
    with pytest.raises(FileExistsError, match="already holds a training run"):
        Trainer(_config(broken, discs, **sections))

    resumed = Trainer(_config(broken, discs, **sections), resume=broken / "checkpoints" / "last.pt")
    resumed.fit()
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    opt_a, opt_b = whole.optimizer.state_dict(), resumed.optimizer.state_dict()
    for key, slot in opt_a["state"].items():
        for name, tensor in slot.items():
            assert torch.equal(tensor, opt_b["state"][key][name]), (key, name)
    assert (
        whole.scheduler.state_dict()["last_epoch"] == resumed.scheduler.state_dict()["last_epoch"]
    )
    assert [g["lr"] for g in opt_b["param_groups"]] == [g["lr"] for g in opt_a["param_groups"]]
    assert [r["loss"] for r in whole.history] == [r["loss"] for r in resumed.history]
    assert whole.global_step == resumed.global_step == 4


def test_resume_may_move_future_milestones_and_equals_a_run_with_them(tmp_path, discs):
    sections = {
        "loop": {"epochs": 3, "samples_per_epoch": 4, "max_extra_clicks": 0},
        "checkpoint": {"every_steps": 1},
    }
    whole = Trainer(_config(tmp_path / "whole", discs, optim={"milestones": [2]}, **sections))
    whole.fit()
    broken = tmp_path / "broken"
    _interrupt_after(3, _config(broken, discs, optim={"milestones": [3]}, **sections))
    state = broken / "checkpoints" / "last.pt"
    with pytest.raises(ConfigError, match=r"epoch\(s\) \[1\].*only milestones after epoch 1"):
        Trainer(_config(broken, discs, optim={"milestones": [1]}, **sections), resume=state)
    messages = []
    resumed = Trainer(
        _config(broken, discs, optim={"milestones": [2]}, **sections),
        resume=state,
        log=messages.append,
    )
    assert any("milestones changed on resume: [3] -> [2]" in m for m in messages)
    resumed.fit()
    for name, value in whole.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[name]), name
    lrs = [r["lr"] for r in resumed.history]
    assert lrs == [r["lr"] for r in whole.history] and lrs[0] > lrs[-1]


@pytest.mark.parametrize("iterative_loss", [False, True])
def test_click_passes_follow_the_official_modes(tmp_path, discs, iterative_loss):
    config = _config(
        tmp_path / "run", discs,
        loop={"iterative_loss": iterative_loss, "max_extra_clicks": 3, "samples_per_epoch": 8},
    )  # fmt: skip
    trainer = Trainer(config)
    passes = []
    trainer.model.register_forward_hook(
        lambda module, args, out: passes.append((torch.is_grad_enabled(), module.training))
    )
    trainer.fit()
    if iterative_loss:  # CFR-ICL: 1-3 passes per step, all with gradients, in train mode
        assert set(passes) == {(True, True)} and 4 <= len(passes) <= 12
    else:  # SimpleClick: 0-3 no-grad passes in eval mode, then one with gradients
        assert passes.count((True, True)) == 4
        assert set(passes) <= {(True, True), (False, False)}
        assert len(passes) > 4  # some steps simulated clicks (seeded draw)
    assert all(np.isfinite(r["loss"]) for r in _steps(tmp_path / "run"))


def test_fine_tune_from_an_official_checkpoint_with_validation_and_outputs(tmp_path, discs):
    start = build_model(SimpleClickConfig(**{**TINY, "neck_out_dims": (8, 8, 8, 8)}))
    official = tmp_path / "official.pth"
    # an official-layout file as DDP training writes it: 'module.' prefixes, config inferred
    state = {f"module.{k}": v for k, v in start.state_dict().items()}
    torch.save({"state_dict": state, "config": None}, official)
    config = _config(
        tmp_path / "ft", discs, init=str(official),
        data={"val": [{"spec": f"folder:{discs}"}], "val_max_objects": 2},
        validation={"max_clicks": 2, "flip": False, "before_training": True},
    )  # fmt: skip
    result = Trainer(config).fit()
    out = tmp_path / "ft"
    for name in ("config.json", "log.jsonl", "epochs.csv", "curves.png", "checkpoints/last.pt"):
        assert (out / name).is_file(), name
    assert result.final_model == out / "model_final.safetensors"
    assert result.best_model == out / "model_best.safetensors"
    tuned = load_model(result.final_model)
    # the head count is not in the shapes: the loader's guess is saved with the weights
    assert dataclasses.replace(tuned.config, num_heads=2) == start.config
    changed = [not torch.equal(v, start.state_dict()[k]) for k, v in tuned.state_dict().items()]
    assert any(changed)
    with open(out / "epochs.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # epoch 0: the starting model, then the trained epoch; NoC within the 2-click budget
    assert [r["epoch"] for r in rows] == ["0", "1"] and rows[0]["loss"] == ""
    assert all(1.0 <= float(r["noc90"]) <= 2.0 for r in rows)


def test_fine_tune_from_own_safetensors(tmp_path, discs):
    start = build_model(SimpleClickConfig(**{**TINY, "neck_out_dims": (8, 8, 8, 8)}))
    path = save_model(start, tmp_path / "mine.safetensors")
    trainer = Trainer(_config(tmp_path / "run", discs, init=str(path)))
    assert trainer.model.config == start.config and trainer.model.training
    assert all(p.requires_grad for n, p in trainer.model.named_parameters() if n.startswith("neck"))


def test_a_fine_tuned_model_records_the_stages_before_it(tmp_path, discs):
    first = Trainer(_config(tmp_path / "one", discs, loop={"samples_per_epoch": 4}))
    first.fit()
    assert (
        training_lineage(str(tmp_path / "one" / "model_final.safetensors"))[0]["steps_trained"] == 2
    )
    second = _config(
        tmp_path / "two",
        discs,
        init=str(tmp_path / "one" / "model_final.safetensors"),
        loop={"epochs": 2},
    )
    Trainer(second).fit()
    metadata = read_own_metadata(tmp_path / "two" / "model_final.safetensors")
    stages = json.loads(metadata["previous_stages"])
    assert [s["steps_trained"] for s in stages] == [2]
    assert stages[0]["training_config"]["model"]["init"] == "xtiny"
    assert (metadata["steps_trained"], metadata["total_steps_trained"]) == ("8", "10")
    third = training_lineage(str(tmp_path / "two" / "model_final.safetensors"))
    assert [s["steps_trained"] for s in third] == [2, 8]
    assert training_lineage("xtiny") == [] and training_lineage(str(tmp_path / "nope.pth")) == []


def test_bad_model_init_is_explained(tmp_path, discs):
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        Trainer(_config(tmp_path / "x", discs, init="weights/missing.pth"))
    config = _config(tmp_path / "y", discs, init="xtiny")
    bad = parse_config({**_as_dict(config), "model": {"init": "xtiny", "overrides": {"nope": 1}}})
    with pytest.raises(ConfigError, match=r"model\.overrides do not fit variant 'xtiny'"):
        Trainer(bad)


def _as_dict(config):
    from napari_clickseg.training.config import config_to_dict

    return config_to_dict(config)


def test_reduced_precision_on_cpu_and_uneven_batches_are_refused(tmp_path, discs):
    from napari_clickseg.training.distributed import DistributedContext

    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="needs a CUDA GPU"):
            Trainer(_config(tmp_path / "a", discs, loop={"precision": "bfloat16"}))
    two = DistributedContext(rank=0, world_size=2)
    with pytest.raises(ConfigError, match=r"batch_size 3 must be divisible .* \(2\)"):
        Trainer(_config(tmp_path / "b", discs, loop={"batch_size": 3}), context=two)


def test_random_generator_states_round_trip_and_state_files_are_checked(tmp_path):
    import random

    from napari_clickseg.training.checkpointing import (
        capture_rng_state,
        restore_rng_state,
        save_training_state,
    )

    state = capture_rng_state()
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    path = save_training_state(tmp_path / "s.pt", {"rng": state})
    restore_rng_state(load_training_state(path)["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first
    torch.save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a napari-clickseg training state"):
        load_training_state(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a readable training state"):
        load_training_state(tmp_path / "junk.pt")


def test_fine_tuning_at_another_input_size_resizes_the_positional_embedding(tmp_path):
    from napari_clickseg.training.trainer import build_initial_model

    torch.manual_seed(0)
    source = build_model(SimpleClickConfig(**{**TINY, "neck_out_dims": (8, 8, 8, 8)}))
    path = tmp_path / "tiny224.safetensors"
    save_model(source, path)
    model = build_initial_model(str(path), {"img_size": 320})
    assert model.input_size == (320, 320) and model.training
    pos = model.backbone.pos_embed
    assert pos.shape == (1, 1 + 20 * 20, 16) and pos.requires_grad
    # the class slot kept; the patch grid is what inference at 320 px would have used
    assert torch.equal(pos[:, :1], source.backbone.pos_embed[:, :1])
    assert torch.allclose(pos[:, 1:], source.backbone.positional_embedding((20, 20)))
    before, after = source.state_dict(), model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k != "backbone.pos_embed")
    points = torch.tensor([[[100.0, 100.0, 0.0], [-1.0, -1.0, -1.0]]])
    output = model(torch.rand(1, 3, 320, 320), torch.zeros(1, 1, 320, 320), points)
    assert output.logits.shape == (1, 1, 320, 320)

    with pytest.raises(ConfigError, match="multiple of the patch size 16"):
        build_initial_model(str(path), {"img_size": 300})
    with pytest.raises(ConfigError, match=r"only img_size may change"):
        build_initial_model(str(path), {"embed_dim": 32})
