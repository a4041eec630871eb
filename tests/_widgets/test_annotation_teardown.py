"""Closing napari while the dock's work runs: no callback touches a deleted widget."""

from __future__ import annotations

import threading

import pytest
from dock_helpers import dock_on_volume, mouse_click
from widget_fakes import DiskModel

pytestmark = pytest.mark.gui

_ARMED = threading.Event()
_RELEASE = threading.Event()


class _FailsWhenReleased(DiskModel):
    """Predicts normally until armed; then waits for the release and fails."""

    def forward(self, image, prev_mask, points):
        if _ARMED.is_set():
            _RELEASE.wait(20)
            raise RuntimeError("simulated failure after the viewer closed")
        return super().forward(image, prev_mask, points)


def test_closing_napari_while_a_prediction_fails_touches_no_deleted_widget(
    qtbot, make_napari_viewer
):
    viewer = make_napari_viewer()
    dock = dock_on_volume(qtbot, viewer, model=_FailsWhenReleased)
    _ARMED.set()
    try:
        mouse_click(viewer, (0, 20, 30))
        worker = dock.runner._worker
        assert worker is not None
        viewer.close()
        _RELEASE.set()
        # the failure arrives after the dock's widgets are gone; any exception raised in the
        # callbacks fails the test (pytest-qt captures exceptions in Qt slots)
        qtbot.waitUntil(lambda: not worker.is_running, timeout=20000)
        qtbot.wait(300)
    finally:
        _ARMED.clear()
        _RELEASE.set()
