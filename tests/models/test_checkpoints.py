import sys
import types

import pytest
import torch

from napari_clickseg.models.checkpoints import (
    CheckpointMismatchError,
    load_model,
    official_config,
    read_own_metadata,
    save_model,
    write_inference_defaults,
)
from napari_clickseg.models.click_maps import points_tensor
from napari_clickseg.models.errors import CheckpointError, NotACheckpointError
from napari_clickseg.models.registry import build_model

LOSS_MODULE = "isegm.model.modeling.transformer_helper.cross_entropy_loss"


def _official_params(config):
    """The serialised config the official @serialize decorator writes, for a tiny model."""

    def entry(value, specified=True):
        return {"type": "builtin", "value": value, "specified": specified}

    loss_class = sys.modules[LOSS_MODULE].CrossEntropyLoss
    return {
        "class": "isegm.model.is_plainvit_model.PlainVitModel",
        "params": {
            "backbone_params": entry(
                {
                    "img_size": (config.img_size, config.img_size),
                    "patch_size": (config.patch_size, config.patch_size),
                    "in_chans": 3,
                    "embed_dim": config.embed_dim,
                    "depth": config.depth,
                    "num_heads": config.num_heads,
                    "mlp_ratio": 4,
                    "qkv_bias": True,
                }
            ),
            "neck_params": entry({"in_dim": config.embed_dim, "out_dims": config.neck_out_dims}),
            "head_params": entry(
                {
                    "in_channels": list(config.neck_out_dims),
                    "in_index": [0, 1, 2, 3],
                    "dropout_ratio": 0.1,
                    "num_classes": 1,
                    "loss_decode": loss_class(),
                    "align_corners": False,
                    "upsample": "x1",
                    "channels": config.head_channels,
                }
            ),
            "random_split": entry(False, False),
            "use_disks": entry(True),
            "norm_radius": entry(5),
            "with_prev_mask": entry(True),
            "with_aux_output": entry(False, False),
            "cpu_dist_maps": entry(False, False),
            "use_rgb_conv": entry(False, False),
            "use_leaky_relu": entry(False, False),
            "norm_mean_std": entry(([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]), False),
        },
    }


@pytest.fixture
def official_file(tmp_path, tiny_model):
    """A checkpoint in the official format, pickling a research-code class."""
    names = ["isegm", "isegm.model", "isegm.model.modeling"]
    names += ["isegm.model.modeling.transformer_helper", LOSS_MODULE]
    for name in names:
        sys.modules[name] = types.ModuleType(name)
    loss_class = type("CrossEntropyLoss", (), {"__module__": LOSS_MODULE})
    sys.modules[LOSS_MODULE].CrossEntropyLoss = loss_class
    try:
        path = tmp_path / "official.pth"
        checkpoint = {
            "state_dict": tiny_model.state_dict(),
            "config": _official_params(tiny_model.config),
        }
        torch.save(checkpoint, path)
    finally:
        for name in names:
            sys.modules.pop(name, None)
    return path


def _logits(model):
    torch.manual_seed(1)
    image, prev = torch.rand(1, 3, 448, 448), torch.rand(1, 1, 448, 448)
    with torch.no_grad():
        return model(image, prev, points_tensor([[(100, 200, True), (10, 10, False)]])).logits


def test_official_checkpoint_loads_without_isegm_installed(official_file, tiny_model):
    assert "isegm" not in sys.modules
    model = load_model(official_file)
    assert model.config == tiny_model.config
    assert torch.equal(_logits(model), _logits(tiny_model))
    assert not any(p.requires_grad for p in model.parameters())
    assert not model.training


def test_official_checkpoint_with_ddp_prefix_loads(tmp_path, official_file):
    from napari_clickseg.models.safe_pickle import load_pickled_checkpoint

    checkpoint = load_pickled_checkpoint(official_file)
    checkpoint["state_dict"] = {f"module.{k}": v for k, v in checkpoint["state_dict"].items()}
    checkpoint["config"] = None  # also exercise reading the architecture off the shapes
    path = tmp_path / "ddp.pth"
    torch.save(checkpoint, path)
    assert load_model(path).config.embed_dim == 16


def test_config_read_from_shapes_when_config_is_missing(tiny_model):
    config = official_config(None, tiny_model.state_dict())
    assert config.embed_dim == 16 and config.depth == 8 and config.patch_size == 16
    assert config.neck_out_dims == (8, 8, 8, 8) and config.head_channels == 8
    assert config.img_size == 448 and config.upsample == "x1"


def test_missing_and_unexpected_keys_are_named(tmp_path, tiny_model):
    state = dict(tiny_model.state_dict())
    del state["head.conv_seg.weight"]
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "broken.pth"
    torch.save({"state_dict": state, "config": None}, path)
    with pytest.raises(CheckpointMismatchError, match=r"missing .*conv_seg"):
        load_model(path)


def test_shape_mismatch_is_named(tmp_path, tiny_model):
    state = dict(tiny_model.state_dict())
    state["backbone.blocks.0.attn.qkv.weight"] = torch.zeros(3, 3)
    path = tmp_path / "broken.pth"
    torch.save({"state_dict": state, "config": None}, path)
    with pytest.raises(
        CheckpointMismatchError, match=r"blocks\.0\.attn\.qkv\.weight: file \(3, 3\)"
    ):
        load_model(path)


def test_unknown_model_class_is_refused(tmp_path, tiny_model):
    path = tmp_path / "other.pth"
    config = {"class": "isegm.model.is_hrnet_model.HRNetModel", "params": {}}
    torch.save({"state_dict": tiny_model.state_dict(), "config": config}, path)
    with pytest.raises(CheckpointError, match="HRNetModel"):
        load_model(path)


def test_dict_without_state_dict_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "weird.pth"
    torch.save({"model": {}}, path)
    with pytest.raises(NotACheckpointError, match="'state_dict'"):
        load_model(path)


def test_own_format_round_trip(tmp_path, tiny_model):
    path = save_model(tiny_model, tmp_path / "mine", metadata={"trained_on": "nothing"})
    assert path.name == "mine.safetensors"
    loaded = load_model(path)
    assert loaded.config == tiny_model.config
    assert torch.equal(_logits(loaded), _logits(tiny_model))


def test_inference_defaults_travel_in_the_file_and_nothing_else_changes(tmp_path, tiny_model):
    path = save_model(tiny_model, tmp_path / "m.safetensors", metadata={"trained_on": "nothing"})
    assert dict(load_model(path).inference_defaults) == {}
    values = {"cfr": {"steps": 4, "adaptive": True, "min_view_shrink": 3.0}}
    copy = write_inference_defaults(path, tmp_path / "rec.safetensors", values)
    loaded = load_model(copy)
    assert loaded.inference_defaults == values
    assert read_own_metadata(copy)["trained_on"] == "nothing"
    assert torch.equal(_logits(loaded), _logits(tiny_model))


def test_invalid_inference_metadata_is_a_clear_error(tmp_path, tiny_model):
    path = save_model(tiny_model, tmp_path / "m.safetensors", metadata={"inference": "[1, 2]"})
    with pytest.raises(CheckpointError, match="inference metadata: expected a JSON object"):
        load_model(path)
    path = save_model(tiny_model, tmp_path / "n.safetensors", metadata={"inference": "{cfr"})
    with pytest.raises(CheckpointError, match="invalid inference metadata"):
        load_model(path)


def test_own_format_detected_without_extension(tmp_path, tiny_model):
    path = save_model(tiny_model, tmp_path / "model.safetensors")
    renamed = path.rename(tmp_path / "model.bin")
    assert load_model(renamed).config == tiny_model.config


def test_foreign_safetensors_file_is_refused(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(NotACheckpointError, match="not a napari-clickseg model"):
        load_model(path)


def test_directory_is_refused(tmp_path):
    with pytest.raises(NotACheckpointError, match="directory"):
        load_model(tmp_path)


def test_built_model_matches_its_own_saved_config(tmp_path, tiny_config):
    model = build_model(tiny_config)
    assert load_model(save_model(model, tmp_path / "m.safetensors")).config == tiny_config
