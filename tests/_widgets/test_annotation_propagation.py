"""Propagation in the dock: what the user is told when the image goes away meanwhile."""

from __future__ import annotations

import pytest
from dock_helpers import dock_on_volume, mouse_click, wait

pytestmark = pytest.mark.gui


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


def test_removing_the_image_during_propagation_says_what_happened(qtbot, viewer):
    dock = dock_on_volume(qtbot, viewer)
    mouse_click(viewer, (0, 20, 30))
    wait(qtbot, dock)
    dock.propagate("mask+center")
    viewer.layers.remove(viewer.layers["volume"])
    wait(qtbot, dock)
    message = dock.status.text()
    assert "did not continue" not in message
    assert "'volume'" in message and "removed" in message and "nothing was written" in message
    assert dock.propagate_button.text() == "Propagate"


def test_the_dock_preselects_the_engines_default_mode(qtbot, viewer):
    from napari_clickseg.engine.propagation import DEFAULT_MODE

    dock = dock_on_volume(qtbot, viewer)
    assert dock.propagation_mode.currentText() == DEFAULT_MODE == "points"
