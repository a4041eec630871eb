"""Clicks -> masks: points that are not on the image are dropped with a message and never
block later clicks."""

from __future__ import annotations

import numpy as np
import pytest
from dock_helpers import dock_on_volume, mouse_click, wait

pytestmark = pytest.mark.gui


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


@pytest.mark.parametrize(
    "point", [(2.0, 100.0, 30.0), (2.0, 20.0, -9.0), (9.0, 20.0, 30.0), (2.0, np.nan, 30.0)]
)
def test_a_point_off_the_image_is_dropped_and_later_clicks_work(qtbot, viewer, point):
    dock = dock_on_volume(qtbot, viewer)
    viewer.dims.set_current_step(0, 2)
    dock.clicks.positive.add(np.array([point]))
    wait(qtbot, dock)
    assert len(dock.clicks.positive.data) == 0
    assert "outside" in dock.last_error and "dropped" in dock.last_error
    dock.last_error = ""
    mouse_click(viewer, (2, 20, 30))
    wait(qtbot, dock)
    assert np.asarray(dock.current_layer.data)[2, 20, 30]
    assert dock.last_error == ""
    assert len(dock.clicks.records()) == 1


class _LoggedVolume:
    """An array-like that records which z slices are read (what dask asks of a zarr array)."""

    def __init__(self, data):
        self.data, self.shape, self.dtype, self.ndim = data, data.shape, data.dtype, data.ndim
        self.slices_read: list[int] = []

    def __getitem__(self, key):
        z = key[0] if isinstance(key, tuple) else key
        rows = range(*z.indices(self.shape[0])) if isinstance(z, slice) else [int(z)]
        self.slices_read.extend(rows)
        return self.data[key]


def test_a_click_on_a_lazy_volume_reads_only_its_slice(qtbot, viewer):
    da = pytest.importorskip("dask.array")
    from dock_helpers import open_dock, volume

    logged = _LoggedVolume(volume())
    viewer.add_image(da.from_array(logged, chunks=(1, 48, 64)), name="lazy",
                     contrast_limits=(0, 255))
    dock = open_dock(qtbot, viewer)
    viewer.dims.set_current_step(0, 4)
    qtbot.wait(50)
    logged.slices_read.clear()
    mouse_click(viewer, (4, 20, 30))
    wait(qtbot, dock)
    assert np.asarray(dock.current_layer.data)[4, 20, 30]
    assert set(logged.slices_read) == {4}
    logged.slices_read.clear()
    dock.commit()
    assert logged.slices_read == []


def test_a_mouse_click_beside_the_image_adds_nothing_and_says_so(qtbot, viewer):
    dock = dock_on_volume(qtbot, viewer)
    viewer.dims.set_current_step(0, 2)
    assert dock.add_click_at_world((2, 60, 30), True) is None
    assert dock.clicks.records() == []
    assert "outside the image" in dock.status.text()
