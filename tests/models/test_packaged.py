"""The default model that ships in the package: present, small, loadable by name, and trained."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from napari_clickseg.data.registry import open_dataset
from napari_clickseg.engine.evaluation import EvaluationSettings, evaluate_object
from napari_clickseg.engine.predictor import Predictor
from napari_clickseg.models import packaged
from napari_clickseg.models.checkpoints import load_model, read_own_metadata
from napari_clickseg.models.errors import UnknownWeightsError
from napari_clickseg.models.packaged import (
    DEFAULT_MODEL_FILE,
    DEFAULT_MODEL_NAME,
    default_model_path,
    packaged_weights,
)
from napari_clickseg.models.registry import build_model
from napari_clickseg.models.weights import resolve_weights

#: The model card's limit on the shipped file (docs/model_card.md).
MAX_BYTES = 20 * 2**20


def test_the_default_model_ships_small_and_first():
    path = default_model_path()
    assert path.name == DEFAULT_MODEL_FILE and path.stat().st_size < MAX_BYTES
    assert packaged_weights()[0] == path
    assert resolve_weights(DEFAULT_MODEL_NAME) == path


def test_it_loads_by_name_as_the_model_card_describes():
    model = load_model(DEFAULT_MODEL_NAME)
    assert type(model).__name__ == "SimpleClickModel"
    assert model.input_size == (224, 224)
    assert sum(p.numel() for p in model.parameters()) < 5_000_000
    metadata = read_own_metadata(default_model_path())
    # three stages: from scratch (examples/default_model.toml), fine-tuned with weighted
    # sources (examples/default_model_stage2.toml), then with the predictor's views
    # (examples/default_model_stage3.toml); all keep the project hold-out out
    stages = [*json.loads(metadata["previous_stages"]), {
        "training_config": json.loads(metadata["training_config"]),
        "steps_trained": int(metadata["steps_trained"]),
    }]  # fmt: skip
    assert stages[0]["training_config"]["model"]["init"] == "xtiny"
    assert len(stages) == 3
    for later in stages[1:]:
        assert later["training_config"]["model"]["init"].endswith("model_final.safetensors")
    assert stages[2]["training_config"]["data"]["zoom_view_prob"] > 0
    for stage in stages:
        recipe = stage["training_config"]
        assert recipe["data"]["project_holdout"] is True
        assert stage["steps_trained"] == recipe["loop"]["epochs"] * (
            recipe["loop"]["samples_per_epoch"] // recipe["loop"]["batch_size"]
        )
    assert int(metadata["total_steps_trained"]) == sum(s["steps_trained"] for s in stages)


def test_a_missing_default_model_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(packaged, "PACKAGED_WEIGHTS_DIR", tmp_path)
    assert packaged_weights() == []
    with pytest.raises(UnknownWeightsError, match=r"default model .* is missing .*reinstall"):
        resolve_weights(DEFAULT_MODEL_NAME)


@pytest.mark.parametrize(
    ("spec", "options"),
    [
        ("synthetic:brain", {"seed": 2000, "targets": "whole", "slice_step": 16}),
        ("synthetic:em_cells", {"seed": 2000, "slice_step": 8}),
    ],
)
def test_it_segments_held_out_objects_where_random_weights_do_not(spec, options):
    """Objects of seeds training never saw, through the papers' click protocol."""
    objects = sorted(open_dataset(spec, **options), key=lambda o: -o.area)[:3]
    settings = EvaluationSettings(max_clicks=5, full_curve=True)
    model = load_model(DEFAULT_MODEL_NAME)
    torch.manual_seed(0)
    untrained = build_model(model.config).eval()

    def final_iou(network):
        predictor = Predictor(network, "cpu", with_flip=False)
        curves = [evaluate_object(predictor, o.image, o.gt, settings, o.name).ious for o in objects]
        return float(np.mean([curve[-1] for curve in curves]))

    trained_iou, untrained_iou = final_iou(model), final_iou(untrained)
    assert trained_iou > 0.8 and trained_iou > untrained_iou + 0.3, (trained_iou, untrained_iou)
