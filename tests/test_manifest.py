"""The npe2 manifest validates and everything it names exists and works."""

from __future__ import annotations

import importlib
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from npe2 import PluginManifest

import napari_clickseg

MANIFEST = Path(napari_clickseg.__file__).parent / "napari.yaml"


@pytest.fixture(scope="module")
def manifest() -> PluginManifest:
    return PluginManifest.from_file(MANIFEST)


def _resolve(python_name: str):
    module, _, attr = python_name.partition(":")
    return getattr(importlib.import_module(module), attr)


def test_manifest_validates(manifest):
    assert manifest.name == "napari-clickseg"
    assert manifest.display_name == "ClickSeg"
    manifest.validate_imports()


def test_commands_import_and_are_callable(manifest):
    commands = manifest.contributions.commands or []
    assert commands
    for command in commands:
        assert command.python_name, command.id
        assert callable(_resolve(command.python_name)), command.python_name


def test_contributions_reference_declared_commands(manifest):
    ids = {c.id for c in manifest.contributions.commands or []}
    samples = manifest.contributions.sample_data or []
    assert {s.key for s in samples} == {"em_stack", "brain_mri", "knee_mri"}
    for sample in samples:
        assert sample.command in ids


def test_installed_distribution_uses_this_manifest():
    try:
        metadata.distribution("napari-clickseg")
    except metadata.PackageNotFoundError:
        pytest.skip("napari-clickseg is not installed")
    installed = PluginManifest.from_distribution("napari-clickseg")
    assert installed.name == "napari-clickseg"


def _sample_layers(manifest, key):
    sample = next(s for s in manifest.contributions.sample_data if s.key == key)
    command = next(c for c in manifest.contributions.commands if c.id == sample.command)
    layers = _resolve(command.python_name)()
    assert isinstance(layers, list) and layers
    for layer in layers:
        assert isinstance(layer, tuple) and len(layer) == 3
        data, meta, layer_type = layer
        assert isinstance(data, np.ndarray)
        assert isinstance(meta, dict) and isinstance(meta.get("name"), str)
        assert layer_type in {"image", "labels"}
        if layer_type == "labels":
            assert np.issubdtype(data.dtype, np.integer)
    return layers


def test_em_stack_sample(manifest):
    layers = _sample_layers(manifest, "em_stack")
    types = [t for _, _, t in layers]
    assert types == ["image", "labels", "labels"]
    assert layers[0][0].shape == layers[1][0].shape == layers[2][0].shape


def test_brain_mri_sample(manifest):
    layers = _sample_layers(manifest, "brain_mri")
    names = [m["name"] for _, m, _ in layers]
    assert names == ["t1", "t1ce", "t2", "flair", "seg"]
    assert [t for _, _, t in layers] == ["image"] * 4 + ["labels"]
    assert {d.shape for d, _, _ in layers} == {layers[-1][0].shape}


def test_knee_mri_sample(manifest):
    layers = _sample_layers(manifest, "knee_mri")
    assert [t for _, _, t in layers] == ["image", "labels"]
    assert set(np.unique(layers[1][0])) == {0, 1, 2}


@pytest.mark.parametrize("key", ["em_stack", "brain_mri", "knee_mri"])
def test_sample_metadata_builds_napari_layers(manifest, key):
    """The metadata is accepted by napari's layer classes (no viewer or display needed)."""
    layers_mod = pytest.importorskip("napari.layers")
    for data, meta, layer_type in _sample_layers(manifest, key):
        layer = getattr(layers_mod, layer_type.capitalize())(data, **meta)
        assert layer.name == meta["name"]


def test_reader_and_writers_are_declared(manifest):
    ids = {c.id for c in manifest.contributions.commands or []}
    [reader] = manifest.contributions.readers or []
    assert reader.command in ids and reader.accepts_directories
    assert {"*.nii", "*.nii.gz", "*.tif", "*.tiff"} <= set(reader.filename_patterns)
    writers = {w.command: w for w in manifest.contributions.writers or []}
    assert set(writers) <= ids
    assert writers["napari-clickseg.write_labels_nifti"].filename_extensions[0] == ".nii.gz"
    tiff = writers["napari-clickseg.write_labels_tiff"]
    assert {".tif", ".tiff"} <= set(tiff.filename_extensions)
    assert all(w.layer_types == ["labels"] for w in writers.values())


def test_npe2_routes_paths_and_layers_to_this_plugin(manifest, tmp_path):
    """npe2's own matching (patterns, folders, writer extensions) picks our contributions."""
    from npe2 import PluginManager

    pm = PluginManager()
    pm.register(manifest)
    (tmp_path / "v.nii.gz").write_bytes(b"")
    commands = {r.command for r in pm.iter_compatible_readers([str(tmp_path / "v.nii.gz")])}
    assert commands == {"napari-clickseg.get_reader"}
    assert {r.command for r in pm.iter_compatible_readers([str(tmp_path)])} == commands
    assert not list(pm.iter_compatible_readers([str(tmp_path / "photo.png")]))
    writer, path = pm.get_writer(str(tmp_path / "seg"), ["labels"], "napari-clickseg")
    assert writer.command == "napari-clickseg.write_labels_nifti" and path.endswith("seg.nii.gz")
    writer, _ = pm.get_writer(str(tmp_path / "seg.TIF"), ["labels"], "napari-clickseg")
    assert writer.command == "napari-clickseg.write_labels_tiff"
    assert pm.get_writer(str(tmp_path / "img.nii.gz"), ["image"], "napari-clickseg")[0] is None
