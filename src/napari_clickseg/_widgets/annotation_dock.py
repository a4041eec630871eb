"""The annotation dock: click on a slice, see the mask, commit objects, save everything.

The dock wires its parts together, each in its own module:

- :mod:`annotation_panel`: the widgets and their layout;
- :mod:`annotation_layers`: the chosen image layer and the dock's own layers over it;
- :mod:`annotation_model`: loading the model, the per-slice sessions of the current object;
- :mod:`click_sync`: clicks in the layers -> jobs -> masks, undo and redo of clicks;
- :mod:`annotation_candidates`: cycling PiClick's mask candidates;
- :mod:`annotation_propagation`: propagating the object through the volume;
- :mod:`annotation_files`: saving, loading prompts and autosave;
- :mod:`annotation_busy`: the busy state while a job runs (status, bar, Cancel).

Committing an object (and starting the next one) and the hooks into the viewer live here.
Everything computed lives in ``engine``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QWidget

from napari_clickseg._widgets import keybindings
from napari_clickseg._widgets.annotation_busy import BusyDisplay
from napari_clickseg._widgets.annotation_candidates import step_candidate
from napari_clickseg._widgets.annotation_files import AnnotationFiles
from napari_clickseg._widgets.annotation_layers import (
    COMMITTED_NAME,
    CURRENT_NAME,
    NO_IMAGE,
    OwnLayers,
)
from napari_clickseg._widgets.annotation_model import ModelKeeper
from napari_clickseg._widgets.annotation_panel import AnnotationPanel
from napari_clickseg._widgets.annotation_propagation import Propagation
from napari_clickseg._widgets.click_layers import ClickLayers, ClickRecord
from napari_clickseg._widgets.click_sync import ClickSync
from napari_clickseg._widgets.inference_worker import JobRunner
from napari_clickseg.engine.object_store import plan_commit
from napari_clickseg.engine.planes import Plane
from napari_clickseg.engine.prompts_io import Prompts

__all__ = ["COMMITTED_NAME", "CURRENT_NAME", "NO_IMAGE", "AnnotationDock"]


class AnnotationDock(QWidget):
    """Click-based annotation of 2D slices of an image layer.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        The viewer (npe2 passes it by this name).
    """

    download_progress = Signal(int, int)

    def __init__(self, napari_viewer: Any) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.runner = JobRunner(self)
        self.committed_prompts: dict[int, list[ClickRecord]] = {}
        self.last_error = ""
        panel = AnnotationPanel(
            {
                "undo_click": self.undo_click,
                "redo_click": self.redo_click,
                "commit": self.commit,
                "discard_object": self.discard_object,
                "previous_candidate": self.previous_candidate,
                "next_candidate": self.next_candidate,
                "propagate": self._propagate_or_cancel,
                "save": lambda: self.files.ask_save(),
                "load": lambda: self.files.ask_load(),
                "choose_autosave_folder": lambda: self.files.choose_autosave_folder(),
                "autosave": self.schedule_autosave,
                "cancel": lambda: self.propagation.cancel(),
            }
        )
        self.panel = panel
        self.image_combo = panel.image_combo
        self.channel_map = panel.channel_map
        self.model_choice = panel.model_choice
        self.click_mode_box = panel.click_mode_box
        self.overwrite_box = panel.overwrite_box
        self.buttons = panel.buttons
        self.candidate_label = panel.candidate_label
        self.status = panel.status
        self.autosave_box = panel.autosave_box
        self.autosave_folder = panel.autosave_folder
        self.propagation_mode = panel.propagation_mode
        self.propagate_button = panel.propagate_button
        self.busy_bar = panel.busy_bar
        self.cancel_button = panel.cancel_button
        self.setLayout(panel.layout)

        self.own = OwnLayers(
            self.viewer,
            self.image_combo,
            self._on_image_attached,
            self._on_image_detached,
            self._on_clicks_changed,
            self.say,
        )
        self.models = ModelKeeper(self, self._on_sessions_restarted)
        self.click_sync = ClickSync(self)
        self.propagation = Propagation(self)
        self.files = AnnotationFiles(self)
        self.busy = BusyDisplay(
            self.runner, panel, lambda: self.propagation.running, self.click_sync.update_status
        )

        self.channel_map.changed.connect(self.models.channels_changed)
        self.model_choice.changed.connect(self.models.load)
        self.click_mode_box.toggled.connect(self._set_click_mode)
        self._uninstall_keys = keybindings.install(self.viewer, self)
        self.viewer.mouse_drag_callbacks.append(self.click_sync.on_mouse_drag)
        for emitter, slot in self._viewer_hooks():
            emitter.connect(slot)
        self.download_progress.connect(self._show_download_progress)
        self._on_layers_changed()
        self.models.load()

    # -- shared state, for the parts and for scripts ---------------------------------------
    @property
    def image_layer(self) -> Any:
        """The image layer being annotated (None when there is none)."""
        return self.own.image_layer

    @property
    def clicks(self) -> ClickLayers | None:
        """The click layers of the image."""
        return self.own.clicks

    @property
    def current_layer(self) -> Any:
        """The current object's Labels layer."""
        return self.own.current_layer

    @property
    def committed_layer(self) -> Any:
        """The committed objects' Labels layer."""
        return self.own.committed_layer

    @property
    def predictor(self) -> Any:
        """The loaded predictor (None while loading or after a failure)."""
        return self.models.predictor

    @property
    def sessions(self) -> Any:
        """The current object's per-slice sessions (None without a model or image)."""
        return self.models.sessions

    @property
    def model_input(self) -> Any:
        """How the image layers feed the model's channels."""
        return self.models.model_input

    @property
    def click_mode(self) -> bool:
        """Whether mouse clicks on the canvas annotate."""
        return self.click_sync.click_mode

    def plane(self, axis: int | None) -> Plane:
        """The plane clicks made while slicing ``axis`` are read with."""
        return self.click_sync.plane(axis)

    _plane = plane

    def say(self, text: str, level: str = "info") -> None:
        """Show a message in the status line and, for problems, as a napari notification."""
        self.status.setText(text)
        if level == "info":
            return
        from napari.utils.notifications import show_error, show_warning

        self.last_error = text
        (show_error if level == "error" else show_warning)(text)


    # -- viewer and layers ------------------------------------------------------------------
    def _viewer_hooks(self) -> list[tuple[Any, Any]]:
        layers, dims = self.viewer.layers.events, self.viewer.dims.events
        return [
            (layers.inserted, self._on_layers_changed),
            (layers.removed, self._on_layers_changed),
            (dims.current_step, self.click_sync.view_changed),
            (dims.order, self.click_sync.view_changed),
            (dims.ndisplay, self.click_sync.view_changed),
        ]

    def _on_layers_changed(self, *_: Any) -> None:
        if self.own.refresh_choices():
            self.channel_map.set_layers(self.image_layer, self.viewer.layers)

    def _on_image_attached(self, layer: Any) -> None:
        self.channel_map.set_layers(layer, self.viewer.layers)
        self.models.channels_changed()
        self.click_sync.view_changed()
        self.say(f"Annotating {layer.name!r}: left click = object, right click = background.")

    def _on_image_detached(self, name: str) -> None:
        self.propagation.image_detached(name)
        self.committed_prompts = {}
        self.new_object()

    def _on_sessions_restarted(self) -> None:
        self.click_sync.reset()
        if self.sessions is not None:
            self.click_sync.request_sync()

    def _on_clicks_changed(self) -> None:
        self.click_sync.clicks_changed()

    def _show_download_progress(self, done: int, total: int) -> None:
        megabytes = f"{done / 1e6:.0f} of {total / 1e6:.0f} MB" if total else f"{done / 1e6:.0f} MB"
        self.status.setText(f"Downloading weights: {megabytes}")

    # -- actions (buttons and keys) ---------------------------------------------------------
    def _set_click_mode(self, on: bool) -> None:
        self.click_sync.click_mode = bool(on)

    def toggle_click_mode(self) -> None:
        """Turn click-to-annotate on or off (key G)."""
        self.click_mode_box.setChecked(not self.click_mode)

    def add_click_at_world(self, position: Any, positive: bool) -> ClickRecord | None:
        """Add a click at a world position (what a mouse click does).

        Parameters
        ----------
        position : sequence of float
            World coordinates (the viewer's dimensionality).
        positive : bool
            Object (True) or background click.

        Returns
        -------
        ClickRecord or None
            None when the position is off the image or the view cannot be annotated.
        """
        return self.click_sync.add_click_at_world(position, positive)

    def undo_click(self) -> None:
        """Remove the latest click of the viewed slice (Ctrl+Z)."""
        self.click_sync.undo()

    def redo_click(self) -> None:
        """Put back the latest undone click (Ctrl+Shift+Z)."""
        self.click_sync.redo()

    def next_candidate(self) -> None:
        """Show the next mask candidate of the viewed slice (PiClick; key K)."""
        step_candidate(self, +1)

    def previous_candidate(self) -> None:
        """Show the previous mask candidate of the viewed slice (PiClick; key J)."""
        step_candidate(self, -1)

    def commit(self) -> int | None:
        """Write the current object into the committed layer with a new id (key N).

        Returns
        -------
        int or None
            The new object's id; None when there was nothing to commit.
        """
        if self.current_layer is None or self.committed_layer is None:
            self.say("No image layer: nothing to commit.", "warning")
            return None
        if not self.runner.idle:
            self.say("Still predicting: commit again when the mask is shown.")
            return None
        mask = np.asarray(self.current_layer.data) > 0
        if not mask.any():
            self.say("The current object is empty: click on it first.")
            return None
        overwrite = self.overwrite_box.isChecked()
        plan = plan_commit(self.committed_layer.data, mask, overwrite=overwrite)
        with self.committed_layer.block_history():
            self.committed_layer.data_setitem(plan.indices, plan.label)
        self.committed_prompts[plan.label] = list(self.clicks.records()) if self.clicks else []
        kept = f"; {plan.kept_pixels} pixel(s) kept by other objects" if plan.kept_pixels else ""
        self.new_object()
        self.schedule_autosave()
        self.say(
            f"Committed object {plan.label} ({plan.written_pixels} pixels{kept}). "
            "Next object: click on it."
        )
        return plan.label

    def discard_object(self) -> None:
        """Clear the current object's clicks and mask (Shift+N)."""
        self.new_object()
        self.schedule_autosave()
        self.say("Current object cleared.")

    def new_object(self) -> None:
        """Start the next object: no clicks, an empty mask, fresh sessions."""
        self.runner.cancel_pending()
        self.click_sync.reset(new_object=True)
        if self.clicks is not None:
            self.clicks.clear()
        if self.current_layer is not None:
            self.current_layer.data[...] = 0
            self.current_layer.refresh()
        self.models.new_object()


    def propagate(self, mode: str | None = None) -> None:
        """Propagate the current object from its annotated slices through the volume."""
        self.propagation.start(mode)

    def _propagate_or_cancel(self) -> None:
        self.propagation.start_or_cancel()

    # -- files --------------------------------------------------------------------------------
    def prompts(self) -> Prompts:
        """The clicks of the current and committed objects, ready to save."""
        return self.files.prompts()

    def save_annotation(self, folder: str | Path) -> list[Path]:
        """Save prompts (JSON) and committed objects (TIFF) into ``folder`` now."""
        return self.files.save(folder)

    def load_prompts(self, path: str | Path) -> None:
        """Load clicks (and committed objects saved beside them) from a prompts file."""
        self.files.load(path)

    def schedule_autosave(self) -> None:
        """Autosave soon (changes in quick succession are saved once)."""
        self.files.schedule_autosave()

    def autosave_now(self) -> Any:
        """Write the autosave files now, in a background thread (a Future, or None)."""
        return self.files.autosave_now()

    # -- teardown -----------------------------------------------------------------------------
    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        """Unbind keys and mouse callbacks and save what is unsaved."""
        self.close_dock()
        super().closeEvent(event)

    def close_dock(self) -> None:
        """Undo every hook into the viewer (also called when the dock closes)."""
        if self._uninstall_keys is None:
            return
        self._uninstall_keys()
        self._uninstall_keys = None
        with contextlib.suppress(ValueError):
            self.viewer.mouse_drag_callbacks.remove(self.click_sync.on_mouse_drag)
        for emitter, slot in self._viewer_hooks():
            emitter.disconnect(slot)
        if self.clicks is not None:
            self.clicks.disconnect()
        self.files.close()
        self.runner.close()
