"""The reader and writer through a real napari viewer (``viewer.open`` / ``layers.save``).

Run under a virtual display:
``xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/pytest tests/test_reader_viewer.py -q``
"""

from __future__ import annotations

import os
import sys

import nibabel as nib
import numpy as np
import pytest

if sys.platform.startswith("linux") and not (
    os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
):
    pytest.skip("no display: run under xvfb-run", allow_module_level=True)

pytestmark = pytest.mark.gui

PLUGIN = "napari-clickseg"


@pytest.fixture
def scan(tmp_path):
    affine = np.diag([-0.9, 1.1, 2.5, 1.0])
    affine[:3, 3] = (30.0, -12.0, 5.0)
    image = np.random.default_rng(0).normal(100, 15, (9, 8, 6)).astype(np.float32)
    seg = np.zeros(image.shape, np.uint8)
    seg[2:5, 3:6, 1:4] = 1
    nib.save(nib.Nifti1Image(image, affine), tmp_path / "knee.nii.gz")
    nib.save(nib.Nifti1Image(seg, affine), tmp_path / "knee_seg.nii.gz")
    return tmp_path, affine, seg


def test_open_nifti_gives_scaled_image_and_labels(make_napari_viewer, scan):
    folder, affine, seg = scan
    viewer = make_napari_viewer()
    [image] = viewer.open(str(folder / "knee.nii.gz"), plugin=PLUGIN)
    [labels] = viewer.open(str(folder / "knee_seg.nii.gz"), plugin=PLUGIN)
    assert type(image).__name__ == "Image" and type(labels).__name__ == "Labels"
    np.testing.assert_allclose(image.scale, (2.5, 1.1, 0.9), rtol=1e-6)
    np.testing.assert_allclose(labels.scale, image.scale)
    assert image.data.shape == (6, 8, 9)
    np.testing.assert_allclose(image.metadata["nifti"]["affine"], affine)
    # the slider runs over the file's last axis (k), in voxels of 2.5 mm
    assert viewer.dims.range[0].step == pytest.approx(2.5)
    np.testing.assert_array_equal(labels.data, seg.transpose(2, 1, 0))


def test_open_brats_case_folder(make_napari_viewer, scan):
    folder, affine, seg = scan
    case = folder / "Case_7"
    case.mkdir()
    for kind in ("t1", "t1ce", "t2", "flair"):
        volume = np.random.default_rng(1).normal(400, 60, seg.shape).astype(np.int16)
        nib.save(nib.Nifti1Image(volume, affine), case / f"Case_7_{kind}.nii.gz")
    nib.save(nib.Nifti1Image(seg, affine), case / "Case_7_seg.nii.gz")
    viewer = make_napari_viewer()
    layers = viewer.open(str(case), plugin=PLUGIN)
    assert [layer.name for layer in layers] == [
        f"Case_7_{k}" for k in ("t1", "t1ce", "t2", "flair", "seg")
    ]
    assert [type(layer).__name__ for layer in layers] == ["Image"] * 4 + ["Labels"]
    assert [layer.visible for layer in layers] == [False, False, False, True, True]


def test_painted_labels_save_back_on_the_source_grid(make_napari_viewer, scan):
    folder, affine, seg = scan
    viewer = make_napari_viewer()
    [labels] = viewer.open(str(folder / "knee_seg.nii.gz"), plugin=PLUGIN)
    labels.data[0, 0, 0] = 3  # an edit made in the viewer
    viewer.layers.selection.active = labels
    out = folder / "knee_seg_edited.nii.gz"
    written = viewer.layers.save(str(out), selected=True, plugin=PLUGIN)
    assert written == [str(out)]
    saved = nib.load(out)
    np.testing.assert_allclose(saved.affine, affine)
    expected = seg.copy()
    expected[0, 0, 0] = 3
    np.testing.assert_array_equal(np.asanyarray(saved.dataobj), expected)


# ---- which reader napari picks when none is named (docs/files.md, docs/bad_inputs.md) ----------


@pytest.fixture
def fresh_settings(monkeypatch):
    """napari settings of this test only (never saved to the user's settings file)."""
    import napari.settings
    from napari.settings import NapariSettings

    settings = NapariSettings(config_path=None)
    monkeypatch.setattr(napari.settings, "_SETTINGS", settings)
    return settings


@pytest.mark.parametrize("name", ["case.nii.gz", "case.nii", "CASE.NII.GZ", "sub-01.v2.nii.gz"])
def test_napari_lists_this_reader_for_nifti_names(name):
    from napari.plugins import _npe2

    assert PLUGIN in _npe2.get_readers(name)


def test_plain_open_of_nifti_uses_this_reader_after_activation(
    make_napari_viewer, scan, fresh_settings
):
    from napari.errors import MultipleReaderError
    from npe2 import PluginManager

    from napari_clickseg._reader_preference import activate

    folder, affine, _ = scan
    viewer = make_napari_viewer()
    # napari's own reader also claims *.nii.gz; without a preference napari cannot choose
    with pytest.raises(MultipleReaderError):
        viewer.open(str(folder / "knee.nii.gz"), plugin=None)
    # the manifest runs the activation hook the first time napari uses the plugin
    manifest = PluginManager.instance().get_manifest(PLUGIN)
    assert manifest.on_activate == "napari_clickseg._reader_preference:activate"
    activate()
    assert fresh_settings.plugins.extension2reader == {"*.nii": PLUGIN, "*.nii.gz": PLUGIN}
    for name in ("knee.nii.gz", "knee_seg.nii.gz"):
        [layer] = viewer.open(str(folder / name), plugin=None)  # `napari knee.nii.gz` does this
        np.testing.assert_allclose(layer.metadata["nifti"]["affine"], affine)
    assert [type(layer).__name__ for layer in viewer.layers] == ["Image", "Labels"]


def test_activation_keeps_the_users_reader_choice(fresh_settings, monkeypatch):
    from napari.plugins import _npe2

    from napari_clickseg._reader_preference import prefer_for_nifti

    fresh_settings.plugins.extension2reader = {"*.gz": "napari"}  # remembered in napari's dialog
    assert prefer_for_nifti() == ["*.nii"]
    assert fresh_settings.plugins.extension2reader == {"*.gz": "napari", "*.nii": PLUGIN}
    # a third NIfTI reader installed: the choice is the user's, nothing is recorded
    fresh_settings.plugins.extension2reader = {}
    readers = {PLUGIN: "ClickSeg", "napari": "napari builtins", "napari-nifti": "NIfTI"}
    monkeypatch.setattr(_npe2, "get_readers", lambda path=None: readers)
    assert prefer_for_nifti() == []
    assert fresh_settings.plugins.extension2reader == {}
