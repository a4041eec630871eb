"""Reading and checking training configuration files."""

from __future__ import annotations

from pathlib import Path

import pytest

from napari_clickseg.training.config import (
    ConfigError,
    TrainConfig,
    config_to_dict,
    load_config,
    parse_config,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_default.toml"

MINIMAL = """
output_dir = "runs/a"
[model]
init = "xtiny"
[[data.train]]
spec = "synthetic:em_cells"
options = { seed = 3 }
"""


def _minimal(**sections):
    data = {"output_dir": "runs/a", "model": {"init": "xtiny"},
            "data": {"train": [{"spec": "synthetic:em_cells"}]}}  # fmt: skip
    for key, values in sections.items():
        data.setdefault(key, {}).update(values)
    return data


def test_minimal_toml_gets_the_official_defaults(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(MINIMAL)
    config = load_config(path)
    assert isinstance(config, TrainConfig)
    assert config.output_dir == Path("runs/a")
    assert config.data.train[0].spec == "synthetic:em_cells"
    assert config.data.train[0].options == {"seed": 3}
    assert (config.optim.optimizer, config.optim.lr, config.optim.gamma) == ("adam", 5e-5, 0.1)
    assert config.loop.max_num_points == 24 and config.loop.max_extra_clicks == 3
    assert config.data.project_holdout is True


def test_yaml_reads_like_toml(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "output_dir: runs/b\nmodel: {init: xtiny}\ndata:\n  train:\n    - spec: synthetic:knee\n"
        "optim: {lr: 1.0e-4, milestones: [3, 5]}\nloop: {batch_size: 4, precision: float32}\n"
    )
    config = load_config(path)
    assert config.optim.lr == 1e-4 and config.optim.milestones == [3, 5]
    assert config.loop.batch_size == 4 and config.loop.precision == "float32"


def test_round_trip_through_a_plain_dict():
    config = parse_config(_minimal(optim={"betas": [0.8, 0.99]}))
    again = parse_config(config_to_dict(config))
    assert again == config and again.optim.betas == (0.8, 0.99)


def test_example_file_is_valid():
    config = load_config(EXAMPLE)
    assert config.model.init == "xtiny" and len(config.data.train) == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"optim": {"lrr": 1e-4}}, r"unknown field 'optim.lrr'; did you mean 'lr'"),
        ({"optim": {"lr": "fast"}}, r"optim.lr must be a number"),
        ({"optim": {"lr": -1.0}}, r"optim.lr must be > 0"),
        ({"optim": {"milestones": [5, 3]}}, r"milestones must be increasing"),
        ({"loop": {"batch_size": 0}}, r"loop.batch_size must be >= 1"),
        ({"loop": {"epochs": 2.5}}, r"loop.epochs must be an integer"),
        ({"loop": {"precision": "half"}}, r"loop.precision must be one of"),
        ({"loop": {"iterative_loss": True, "iterloss_weights": [1.0]}}, r"one weight per pass"),
        ({"data": {"exclude": ["isbi slices 20-29"]}}, r"data.exclude: hold-out rule"),
        ({"data": {"copy_paste_prob": 1.5}}, r"copy_paste_prob must lie in \[0, 1\]"),
        ({"data": {"zoom_view_prob": -0.1}}, r"zoom_view_prob must lie in \[0, 1\]"),
        (
            {"data": {"whole_view_prob": 0.6, "zoom_view_prob": 0.6}},
            r"whole_view_prob \+ data.zoom_view_prob must be at most 1, got 1.2",
        ),
        ({"data": {"train": []}}, r"data.train must list at least one source"),
        ({"validation": {"metric": "miou"}}, r"validation.metric must be"),
        ({"loop": {"samples_per_epoch": 4, "batch_size": 8}}, r"at least batch_size x"),
        (
            {"data": {"train": [{"spec": "a", "weight": 1.0}, {"spec": "b"}]}},
            r"data.train\[1\].weight is missing: when one training source sets a weight",
        ),
        (
            {"data": {"train": [{"spec": "a", "weight": -1}]}},
            r"data.train\[0\].weight must be >= 0",
        ),
        ({"data": {"train": [{"spec": "a", "weight": 0}]}}, r"weights are all 0"),
        (
            {"data": {"train": [{"spec": "a"}], "val": [{"spec": "b", "weight": 2.0}]}},
            r"data.val\[0\].weight: weights share out training samples",
        ),
    ],
)
def test_bad_values_name_the_field(change, message):
    data = _minimal()
    for section, values in change.items():
        data.setdefault(section, {}).update(values)
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_missing_model_and_output_are_explained():
    with pytest.raises(ConfigError, match=r"model\.init must name a variant"):
        parse_config({"output_dir": "x", "data": {"train": [{"spec": "a"}]}})
    with pytest.raises(ConfigError, match="output_dir must name a folder"):
        parse_config({"model": {"init": "xtiny"}, "data": {"train": [{"spec": "a"}]}})


def test_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="training config not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("output_dir = [")
    with pytest.raises(ConfigError, match=r"bad.toml is not valid TOML"):
        load_config(bad)
    other = tmp_path / "c.json"
    other.write_text("{}")
    with pytest.raises(ConfigError, match=r"unknown config format '.json'"):
        load_config(other)
