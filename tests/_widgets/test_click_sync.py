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
