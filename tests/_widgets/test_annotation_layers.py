"""The dock's own layers: the scan's geometry travels with them into saved files, they follow
the image's transform, stay visible (colours, order, marker size)."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from dock_helpers import dock_on_volume, mouse_click, open_dock, volume, wait

from napari_clickseg._reader import read_nifti_file

pytestmark = pytest.mark.gui


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


def _scan(tmp_path):
    """A NIfTI scan stored (x, y, z) with BraTS' mirrored axes and an offset, opened by the
    plugin's reader."""
    affine = np.diag([-1.0, -1.0, 1.0, 1.0])
    affine[:3, 3] = (63.0, 47.0, -2.5)
    path = tmp_path / "scan.nii.gz"
    nib.save(nib.Nifti1Image(np.transpose(volume()).astype(np.float32), affine), path)
    [(data, meta, kind)] = read_nifti_file(path)
    assert kind == "image" and data.shape == (6, 48, 64)
    return affine, data, meta


def test_saved_dock_labels_keep_the_scan_geometry(qtbot, viewer, tmp_path):
    affine, data, meta = _scan(tmp_path)
    viewer.add_image(data, **meta)
    dock = open_dock(qtbot, viewer)
    mouse_click(viewer, (0, 20, 30))
    wait(qtbot, dock)
    assert dock.commit() == 1
    mouse_click(viewer, (0, 40, 10))
    wait(qtbot, dock)
    for layer in (dock.committed_layer, dock.current_layer):
        out = tmp_path / f"{layer.name.replace(' ', '_')}.nii.gz"
        layer.save(str(out), plugin="napari-clickseg")
        saved = nib.load(out)
        np.testing.assert_array_equal(saved.affine, affine, err_msg=layer.name)
        np.testing.assert_array_equal(np.asarray(saved.dataobj), np.transpose(layer.data))


def test_dock_layers_follow_the_image_transform(qtbot, viewer):
    dock = dock_on_volume(qtbot, viewer)
    mouse_click(viewer, (0, 20, 30))
    wait(qtbot, dock)
    own = [dock.current_layer, dock.committed_layer, dock.clicks.positive, dock.clicks.negative]
    dock.image_layer.scale = (40.0, 4.0, 4.0)
    dock.image_layer.translate = (0.0, 100.0, -8.0)
    for layer in own:
        np.testing.assert_allclose(layer.scale, (40.0, 4.0, 4.0), err_msg=layer.name)
        np.testing.assert_allclose(layer.translate, (0.0, 100.0, -8.0), err_msg=layer.name)
    matrix = np.diag([2.0, 1.0, 0.5, 1.0])
    dock.image_layer.affine = matrix
    for layer in own:
        np.testing.assert_allclose(layer.affine.affine_matrix, matrix, err_msg=layer.name)
    # a click where the image shows pixel (1, 30, 50) lands on that pixel
    world = dock.image_layer.data_to_world((1, 30, 50))
    viewer.dims.set_point(0, world[0])
    mouse_click(viewer, world)
    wait(qtbot, dock)
    assert dock.current_layer.data[1, 30, 50]
    np.testing.assert_allclose(dock.clicks.positive.data_to_world(dock.clicks.positive.data[-1]),
                               world)


def test_current_object_colour_differs_from_committed_objects(qtbot, viewer):
    dock = dock_on_volume(qtbot, viewer)
    current = np.asarray(dock.current_layer.get_color(1))[:3]
    for label in range(1, 31):
        committed = np.asarray(dock.committed_layer.get_color(label))[:3]
        assert np.abs(current - committed).sum() > 0.5, label


def test_dock_layers_stay_above_layers_opened_later(qtbot, viewer):
    dock = dock_on_volume(qtbot, viewer)
    viewer.add_labels(np.zeros((6, 48, 64), np.uint8), name="seg")
    viewer.add_image(np.zeros((6, 48, 64), np.uint8), name="t2")
    names = [layer.name for layer in viewer.layers]
    assert names[-4:] == ["committed objects", "current object", "positive clicks",
                          "negative clicks"]
    assert dock.image_layer.name == "volume"


def _marker_pixels(viewer):
    """Pixels of the positive click's green fill on the black image."""
    shot = viewer.screenshot(canvas_only=True, flash=False)
    return int(((shot[..., 1] > 150) & (shot[..., 0] < 100) & (shot[..., 2] < 100)).sum())


@pytest.mark.parametrize(
    "transform",
    [{}, {"affine": np.diag([40.0, 4.0, 4.0, 1.0])}, {"scale": (40.0, 4.0, 4.0)}, {"rotate": 30}],
)
def test_click_markers_stay_visible_under_any_transform(qtbot, make_napari_viewer, transform):
    viewer = make_napari_viewer(show=True)
    viewer.add_image(np.zeros((6, 240, 240), np.uint8), name="volume", **transform)
    dock = open_dock(qtbot, viewer)
    image = dock.image_layer
    viewer.dims.set_point(0, image.data_to_world((3, 0, 0))[0])
    assert dock.add_click_at_world(image.data_to_world((3, 120, 120)), True) is not None
    wait(qtbot, dock)
    dock.current_layer.visible = False
    viewer.reset_view()
    assert _marker_pixels(viewer) >= 15
    # set after the click: the marker follows too
    image.affine = np.diag([1.0, 3.0, 3.0, 1.0])
    viewer.dims.set_point(0, image.data_to_world((3, 0, 0))[0])
    viewer.reset_view()
    assert _marker_pixels(viewer) >= 15
    image.rotate = 40  # in the displayed plane
    viewer.dims.set_point(0, image.data_to_world((3, 0, 0))[0])
    viewer.reset_view()
    assert _marker_pixels(viewer) >= 15


def test_the_docks_save_writes_the_objects_on_the_scans_grid(qtbot, viewer, tmp_path):
    affine, data, meta = _scan(tmp_path)
    viewer.add_image(data, **meta)
    dock = open_dock(qtbot, viewer)
    mouse_click(viewer, (0, 20, 30))
    wait(qtbot, dock)
    dock.commit()
    written = dock.save_annotation(tmp_path / "out")
    assert {p.name for p in written} == {
        "scan_prompts.json", "scan_objects.tif", "scan_objects.nii.gz"
    }
    saved = nib.load(tmp_path / "out" / "scan_objects.nii.gz")
    np.testing.assert_array_equal(saved.affine, affine)
    np.testing.assert_array_equal(np.asarray(saved.dataobj),
                                  np.transpose(dock.committed_layer.data))
    dock.autosave_folder.setText(str(tmp_path / "auto"))
    dock.autosave_box.setChecked(True)
    names = {p.name for p in dock.autosave_now().result(timeout=10)}
    assert "scan_objects.nii.gz" in names


def test_masks_are_more_opaque_over_rgb_images(qtbot, viewer):
    viewer.add_image(np.zeros((40, 50, 3), np.uint8), name="photo")
    dock = open_dock(qtbot, viewer)
    assert dock.current_layer.opacity >= 0.7 and dock.committed_layer.opacity >= 0.6
