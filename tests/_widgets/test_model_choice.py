"""ModelChoice: the entries it offers and the predictors it builds."""

from __future__ import annotations

import pytest

from napari_clickseg._widgets.model_choice import (
    BASELINE_LABEL,
    CHECKPOINT_FILE_LABEL,
    ModelChoice,
    ModelLoadError,
)
from napari_clickseg.engine.baseline import ClickBaseline
from napari_clickseg.engine.predictor import Predictor
from napari_clickseg.models import packaged
from napari_clickseg.models.packaged import DEFAULT_MODEL_FILE, default_model_path
from napari_clickseg.models.weights import KNOWN_WEIGHTS


@pytest.fixture
def choice(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("CLICKSEG_CACHE_DIR", str(tmp_path / "cache"))
    widget = ModelChoice()
    qtbot.addWidget(widget)
    return widget


def test_default_is_the_shipped_model(choice):
    assert choice.spec.kind == "packaged"
    assert choice.spec.source == str(default_model_path())
    assert choice.spec.label == f"Default: {DEFAULT_MODEL_FILE.removesuffix('.safetensors')}"
    assert not choice.note.isVisibleTo(choice)
    predictor = choice.build_predictor()
    assert isinstance(predictor, Predictor) and predictor.model.input_size == (224, 224)
    assert choice.cfr_steps.isEnabled()
    # CFR starts at "model's": the shipped model's own recommendation (coarse-to-fine first
    # click on large sections), 0 turns it off
    assert choice.cfr_steps.text() == "model's" and choice.spec.cfr_steps is None
    assert predictor.cfr.steps == 4 and predictor.cfr.min_view_shrink == 3.0
    choice.cfr_steps.setValue(0)
    assert choice.build_predictor().cfr.steps == 0


def test_without_a_shipped_model_the_classical_baseline_is_the_default(
    qtbot, tmp_path, monkeypatch
):
    monkeypatch.setattr(packaged, "PACKAGED_WEIGHTS_DIR", tmp_path / "no_weights")
    widget = ModelChoice()
    qtbot.addWidget(widget)
    assert widget.spec.label == BASELINE_LABEL
    assert "classical watershed baseline" in widget.note.text()
    assert isinstance(widget.build_predictor(), ClickBaseline)
    # device, CFR and flip mean nothing for the classical baseline
    assert not widget.cfr_steps.isEnabled()


def test_entries_list_every_registered_weights_file(choice):
    labels = choice.model_labels()
    for name in KNOWN_WEIGHTS:
        assert any(label.startswith(f"{name} (") for label in labels)
    assert choice.model_combo.itemText(choice.model_combo.count() - 1) == CHECKPOINT_FILE_LABEL


def test_changed_signal_and_settings_reach_the_predictor(choice, qtbot, tiny_model):
    choice.add_model("tiny", lambda device: tiny_model)
    with qtbot.waitSignal(choice.changed):
        choice.cfr_steps.setValue(2)
    choice.flip.setChecked(False)
    choice.set_device("cpu")
    predictor = choice.build_predictor()
    assert isinstance(predictor, Predictor)
    assert predictor.cfr.steps == 2 and not predictor.with_flip
    assert predictor.device.type == "cpu"


def test_file_that_is_not_a_checkpoint_fails_with_a_clear_message(choice, tmp_path):
    bad = tmp_path / "notes.pth"
    bad.write_text("this is not a model")
    choice.set_checkpoint_path(bad)
    assert choice.spec.kind == "file"
    with pytest.raises(ModelLoadError, match="failed to load"):
        choice.build_predictor()


def test_missing_file_and_manual_download_are_explained(choice, tmp_path):
    with pytest.raises(ModelLoadError, match="not a file"):
        choice.set_checkpoint_path(tmp_path / "absent.pth")
    choice.select_model("sbd_vit_base (manual download)")
    with pytest.raises(ModelLoadError, match=r"not available.*by hand"):
        choice.build_predictor()


def test_precision_reaches_the_predictor_and_impossible_ones_are_explained(
    choice, tiny_model, monkeypatch
):
    from napari_clickseg.engine import device as device_module

    choice.add_model("tiny", lambda device: tiny_model)
    choice.set_device("cpu")
    assert choice.spec.precision == "auto"  # annotation: fast where the hardware allows
    choice.set_precision("float32")
    assert choice.build_predictor().precision == "float32"
    monkeypatch.setattr(device_module, "cpu_has_native_bfloat16", lambda: True)
    choice.set_precision("bfloat16")
    assert choice.build_predictor().precision == "bfloat16"
    monkeypatch.setattr(device_module, "cpu_has_native_bfloat16", lambda: False)
    with pytest.raises(ModelLoadError, match=r"emulated.*choose another precision"):
        choice.build_predictor()
    choice.set_precision("auto")
    assert choice.build_predictor().precision == "float32"
    with pytest.raises(ValueError, match="unknown precision 'half'"):
        choice.set_precision("half")


def test_the_evaluation_protocol_starts_in_float32(qtbot):
    widget = ModelChoice(precision="float32")
    qtbot.addWidget(widget)
    assert widget.spec.precision == "float32"
    widget.select_model(BASELINE_LABEL)
    assert not widget.precision_combo.isEnabled()
