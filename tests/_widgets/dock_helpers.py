"""Shared steps of the annotation dock's GUI tests: a volume, a dock with a tiny model, clicks."""

from __future__ import annotations

import numpy as np
from napari.utils._test_utils import read_only_mouse_event
from napari.utils.interactions import mouse_press_callbacks, mouse_release_callbacks
from widget_fakes import DiskModel, predictor_factory

from napari_clickseg._widgets.annotation_dock import AnnotationDock

SHAPE = (6, 48, 64)


def volume():
    """A (6, 48, 64) uint8 volume with a bright box."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 60, SHAPE).astype(np.uint8)
    image[:, 10:30, 20:40] += 150
    return image


def wait(qtbot, dock, timeout=20000):
    """Until the dock's jobs are done."""
    qtbot.waitUntil(lambda: dock.runner.idle, timeout=timeout)


def open_dock(qtbot, viewer, model=DiskModel):
    """The dock on the viewer's image layers, with ``model`` loaded (None: the default)."""
    dock = AnnotationDock(viewer)
    viewer.window.add_dock_widget(dock)
    wait(qtbot, dock)
    if model is not None:
        dock.model_choice.add_model(model.__name__, predictor_factory(model))
        wait(qtbot, dock)
    assert dock.predictor is not None, dock.status.text()
    return dock


def dock_on_volume(qtbot, viewer, model=DiskModel, **image_kwargs):
    """:func:`volume` as layer "volume" and the dock on it."""
    viewer.add_image(volume(), name="volume", **image_kwargs)
    return open_dock(qtbot, viewer, model)


def mouse_click(viewer, world, button=1, modifiers=()):
    """A press and a release at one world position, as the canvas sends them."""
    for kind, send in (("mouse_press", mouse_press_callbacks),
                       ("mouse_release", mouse_release_callbacks)):
        event = read_only_mouse_event(type=kind, button=button, modifiers=list(modifiers),
                                      position=tuple(world), dims_displayed=[1, 2])
        send(viewer, event)
