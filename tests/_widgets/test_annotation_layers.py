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
