"""While the dock works it says so: status text, a busy bar, and Cancel for propagation."""

from __future__ import annotations

import threading

import pytest
from dock_helpers import dock_on_volume, mouse_click, wait
from widget_fakes import DiskModel

pytestmark = pytest.mark.gui

_HOLD = threading.Event()
_GO = threading.Event()


class _Held(DiskModel):
    """Waits for ``_GO`` before each prediction while ``_HOLD`` is set."""

    def forward(self, image, prev_mask, points):
        if _HOLD.is_set():
            _GO.wait(20)
        return super().forward(image, prev_mask, points)


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


def test_a_running_click_shows_a_busy_state(qtbot, viewer):
    dock = dock_on_volume(qtbot, viewer, model=_Held)
    viewer.dims.set_current_step(0, 0)
    assert dock.busy_bar.isHidden()
    _HOLD.set()
    _GO.clear()
    try:
        mouse_click(viewer, (0, 20, 30))
        qtbot.waitUntil(lambda: "predicting axis 0 slice 0" in dock.status.text(), timeout=5000)
        assert not dock.busy_bar.isHidden()
        assert "Model ready" not in dock.status.text()
    finally:
        _GO.set()
        _HOLD.clear()
    wait(qtbot, dock)
    assert dock.busy_bar.isHidden() and dock.cancel_button.isHidden()
    assert "1 click(s)" in dock.status.text()


def test_propagation_shows_cancel_and_cancel_stops_it(qtbot, viewer):
    dock = dock_on_volume(qtbot, viewer, model=_Held)
    mouse_click(viewer, (0, 20, 30))
    wait(qtbot, dock)
    _HOLD.set()
    _GO.clear()
    try:
        dock.propagate("mask+center")
        qtbot.waitUntil(lambda: "propagating" in dock.status.text(), timeout=5000)
        assert not dock.cancel_button.isHidden() and not dock.busy_bar.isHidden()
        dock.cancel_button.click()
    finally:
        _GO.set()
        _HOLD.clear()
    wait(qtbot, dock)
    assert "cancelled" in dock.status.text()
    assert dock.cancel_button.isHidden() and dock.busy_bar.isHidden()
