"""From clicks in the layers to masks in the "current object" layer.

Data flow of one click: the mouse (or napari's Points tools) puts a point into the positive or
negative click layer -> :class:`ClickSync` reads the clicks of each slice back from the layers ->
a job in :class:`~napari_clickseg._widgets.inference_worker.JobRunner` brings the slice's
session to those clicks (:class:`~napari_clickseg.engine.slice_sessions.SliceSessions`) -> the
mask is written into the current-object Labels layer. Undo and redo of clicks live here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from napari_clickseg._widgets.click_layers import ClickRecord
from napari_clickseg._widgets.inference_worker import Job
from napari_clickseg._widgets.layer_geometry import (
    GeometryError,
    current_slice,
    inside,
    layer_plane,
    layer_spatial_shape,
    world_to_plane,
)
from napari_clickseg.engine.planes import Plane

if TYPE_CHECKING:
    from napari_clickseg._widgets.annotation_dock import AnnotationDock

#: A press and release farther apart than this (canvas pixels) is a drag, not a click.
_DRAG_PIXELS = 5.0

SliceKey = tuple[int | None, int]


class ClickSync:
    """Keeps the current object's masks in step with the clicks in the layers.

    Parameters
    ----------
    dock : AnnotationDock
        The dock (its layers, sessions, runner and messages).
    """

    def __init__(self, dock: AnnotationDock) -> None:
        self.dock = dock
        self.click_mode = True
        #: Bumped for every new object or new sessions: older results are dropped.
        self.generation = 0
        #: (selected, count, scores) of the mask candidates shown on each slice.
        self.candidates: dict[SliceKey, tuple[int, int, Any]] = {}
        self._submitted: dict[SliceKey, tuple] = {}
        self._undone: list[ClickRecord] = []

    def reset(self, new_object: bool = False) -> None:
        """Forget what was submitted and shown (new sessions; with the undone clicks for a new
        object)."""
        self.generation += 1
        self._submitted = {}
        self.candidates = {}
        if new_object:
            self._undone.clear()

    # -- where the viewer is --------------------------------------------------------------
    def plane(self, axis: int | None) -> Plane:
        """The plane clicks of ``axis`` are read with (rows, cols in volume axis order)."""
        return Plane.canonical(len(layer_spatial_shape(self.dock.image_layer)), axis)

    def viewed(self) -> tuple[Plane, int]:
        """(displayed plane, slice index) the viewer shows of the image."""
        image, dims = self.dock.image_layer, self.dock.viewer.dims
        plane = layer_plane(image, dims)
        return plane, current_slice(image, dims, plane)

    def current_key(self) -> SliceKey | None:
        """(axis, index) of the viewed slice; None when nothing can be annotated."""
        if self.dock.image_layer is None:
            return None
        try:
            plane, index = self.viewed()
        except GeometryError:
            return None
        return plane.axis, index

    # -- mouse ----------------------------------------------------------------------------
    def on_mouse_drag(self, viewer: Any, event: Any):
        """napari mouse callback: a press and release without a drag is a click."""
        if not self._accepts_mouse(event):
            return
        press_pos = np.asarray(event.pos, float)
        position = tuple(event.position)
        positive = event.button == 1 and "Control" not in event.modifiers
        yield
        moved = False
        while event.type == "mouse_move":
            if np.linalg.norm(np.asarray(event.pos, float) - press_pos) > _DRAG_PIXELS:
                moved = True
            yield
        if not moved:
            self.add_click_at_world(position, positive)

    def _accepts_mouse(self, event: Any) -> bool:
        if not self.click_mode or self.dock.image_layer is None or event.button not in (1, 2):
            return False
        if "Shift" in event.modifiers or "Alt" in event.modifiers:
            return False
        active = self.dock.viewer.layers.selection.active
        # Layers in a drawing or editing mode (painting labels, adding points) keep the mouse.
        return active is None or getattr(active, "mode", "pan_zoom") == "pan_zoom"

    def add_click_at_world(self, position: Any, positive: bool) -> ClickRecord | None:
        """Add a click at a world position (what a mouse click does); None when off the image."""
        dock = self.dock
        if dock.image_layer is None or dock.clicks is None:
            dock.say("No image layer: open an image first.", "warning")
            return None
        try:
            plane, _ = self.viewed()
        except GeometryError as error:
            dock.say(str(error), "warning")
            return None
        index, row, col = world_to_plane(dock.image_layer, plane, position)
        if not inside(dock.image_layer, plane, index, row, col):
            dock.say("That click is outside the image: nothing added.")
            return None
        record = dock.clicks.add(plane.point(index, row, col), positive, plane.axis)
        self._undone.clear()
        self.request_sync()
        return record

    # -- undo and redo --------------------------------------------------------------------
    def undo(self) -> None:
        """Remove the latest click of the viewed slice."""
        key = self.current_key()
        clicks = self.dock.clicks
        if clicks is None or key is None:
            return
        mine = [r for r in clicks.records() if r.key() == key]
        if not mine:
            self.dock.say("No click to undo on this slice.")
            return
        clicks.remove(mine[-1])
        self._undone.append(mine[-1])
        self.request_sync()

    def redo(self) -> None:
        """Put back the latest undone click."""
        if self.dock.clicks is None or not self._undone:
            return
        record = self._undone.pop()
        self.dock.clicks.add(np.asarray(record.point), record.positive, record.axis)
        self.request_sync()

    # -- clicks -> jobs -> masks ----------------------------------------------------------
    def clicks_changed(self) -> None:
        """People edited the click layers."""
        self._undone.clear()
        self.request_sync()

    def request_sync(self) -> None:
        """Submit a job for every slice whose clicks differ from what was last submitted."""
        clicks = self.dock.clicks
        if clicks is None:
            return
        self._drop_off_image()
        groups = clicks.clicks_by_slice(self.plane)
        for key in set(groups) | set(self._submitted):
            wanted = tuple(groups.get(key, ()))
            if self._submitted.get(key) == wanted:
                continue
            self._submitted[key] = wanted
            self._submit(key, wanted)
        self.dock.files.schedule_autosave()

    def on_image(self, record: ClickRecord) -> bool:
        """Whether a click lies on the image (a real slice, inside the rows and columns)."""
        image = self.dock.image_layer
        ndim = len(layer_spatial_shape(image))
        point = np.asarray(record.point, float)
        axis_ok = record.axis is None if ndim == 2 else record.axis in range(ndim)
        if not axis_ok or point.shape != (ndim,) or not np.isfinite(point).all():
            return False
        plane = self.plane(record.axis)
        return inside(image, plane, *plane.locate(point))

    def _drop_off_image(self) -> None:
        """Remove clicks that are not on the image (typed in, dragged off, loaded), saying so.

        The engine refuses such clicks; left in the layers they would fail every later click
        on their slice.
        """
        clicks = self.dock.clicks
        off = [record for record in clicks.records() if not self.on_image(record)]
        if not off:
            return
        for record in off:
            clicks.remove(record)
        image = self.dock.image_layer
        where = ", ".join(
            "(" + ", ".join(f"{v:g}" for v in record.point) + ")" for record in off[:3]
        )
        more = f" and {len(off) - 3} more" if len(off) > 3 else ""
        self.dock.say(
            f"{len(off)} click(s) outside the image {image.name!r} dropped: {where}{more} "
            f"(pixel coordinates; the image has shape {layer_spatial_shape(image)}). Click on "
            "the image itself.",
            "warning",
        )

    def _submit(self, key: SliceKey, wanted: tuple) -> None:
        sessions = self.dock.sessions
        if sessions is None:
            return  # replayed once the model is ready
        generation = self.generation

        def run() -> Any:
            prediction = sessions.sync(key, wanted)
            return key, generation, prediction, sessions.mask(key)

        self.dock.runner.submit(
            Job(
                run,
                self.show_prediction,
                self.dock.models.prediction_failed,
                key=("slice", key),
                description=f"predicting {_slice_name(key)}",
            )
        )

    def show_prediction(self, result: tuple) -> None:
        """Write a job's mask into the current-object layer (results of old objects dropped)."""
        key, generation, prediction, mask = result
        current = self.dock.current_layer
        if generation != self.generation or current is None:
            return
        plane = self.plane(key[0])
        if mask is None:
            mask = np.zeros(plane.shape(layer_spatial_shape(self.dock.image_layer)), bool)
        if prediction is not None:
            count = prediction.candidates.shape[0]
            self.candidates[key] = (prediction.selected, count, prediction.scores)
        else:
            self.candidates.pop(key, None)
        current.data[plane.slicer(key[1])] = mask.astype(current.dtype)
        current.refresh()
        self.update_status()

    def update_status(self) -> None:
        """Clicks on the viewed slice and its candidate in the status line."""
        key = self.current_key()
        if key is None:
            return
        clicks = self.dock.clicks
        count = 0 if clicks is None else sum(1 for r in clicks.records() if r.key() == key)
        where = _slice_name(key)
        self.dock.status.setText(f"{where}: {count} click(s) on the current object.")
        selected, total, scores = self.candidates.get(key, (0, 1, None))
        if total > 1:
            score = "" if scores is None else f" (score {float(scores[selected]):.2f})"
            self.dock.candidate_label.setText(f"candidate {selected + 1}/{total}{score}")
        else:
            self.dock.candidate_label.setText("")

    def view_changed(self, *_: Any) -> None:
        """The viewer shows another slice or axis: show its clicks and status."""
        if self.dock.clicks is None:
            return
        try:
            plane, _ = self.viewed()
        except GeometryError as error:
            self.dock.status.setText(str(error))
            return
        self.dock.clicks.show_axis(plane.axis)
        self.update_status()


def _slice_name(key: SliceKey) -> str:
    """'image' for a 2D image, else 'axis <axis> slice <index>'."""
    axis, index = key
    return "image" if axis is None else f"axis {axis} slice {index}"
