"""The annotation dock: click on a slice, see the mask, commit objects, save everything.

Data flow of one click: the mouse (or napari's Points tools) puts a point into the positive or
negative click layer -> the dock reads the clicks of that slice back from the layers ->
a job in :class:`~napari_clickseg._widgets.inference_worker.JobRunner` brings the slice's
session to those clicks (:class:`~napari_clickseg.engine.slice_sessions.SliceSessions`) ->
the mask is written into the "current object" Labels layer. Everything computed lives in
``engine``; this module only wires layers, keys, jobs and files together.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from pathlib import Path
from typing import Any

import numpy as np
from qtpy.QtCore import QObject, QTimer, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from napari_clickseg._widgets import keybindings
from napari_clickseg._widgets.channel_map import ChannelMap
from napari_clickseg._widgets.click_layers import ClickLayers, ClickRecord
from napari_clickseg._widgets.inference_worker import Job, JobRunner
from napari_clickseg._widgets.layer_geometry import (
    GeometryError,
    check_annotatable,
    current_slice,
    inside,
    layer_plane,
    layer_spatial_shape,
    transform_kwargs,
    world_to_plane,
)
from napari_clickseg._widgets.model_choice import GpuOutOfMemoryError, ModelChoice
from napari_clickseg.engine.autosave import load_annotation, save_annotation
from napari_clickseg.engine.object_store import plan_commit
from napari_clickseg.engine.planes import Plane
from napari_clickseg.engine.prompts_io import Prompts, PromptsFileError, load_prompts

CURRENT_NAME = "current object"
COMMITTED_NAME = "committed objects"
#: A press and release farther apart than this (canvas pixels) is a drag, not a click.
_DRAG_PIXELS = 5.0
_AUTOSAVE_DELAY_MS = 1000
NO_IMAGE = "No image layer: open an image or a volume (File > Open, or a sample)."

SliceKey = tuple[int | None, int]


class AnnotationDock(QWidget):
    """Click-based annotation of 2D slices of an image layer.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        The viewer (npe2 passes it by this name).
    """

    _download_progress = Signal(int, int)

    def __init__(self, napari_viewer: Any) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.runner = JobRunner(self)
        self.image_layer: Any = None
        self.clicks: ClickLayers | None = None
        self.current_layer: Any = None
        self.committed_layer: Any = None
        self.predictor: Any = None
        self.sessions: Any = None
        self.model_input: Any = None
        self.click_mode = True
        self.committed_prompts: dict[int, list[ClickRecord]] = {}
        self.last_error = ""
        self._attaching = False
        self._generation = 0
        self._submitted: dict[SliceKey, tuple] = {}
        self._candidates: dict[SliceKey, tuple[int, int, Any]] = {}
        self._undone: list[ClickRecord] = []
        self._propagation_stop: Any = None
        self._saver = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(_AUTOSAVE_DELAY_MS)
        self._autosave_timer.timeout.connect(self.autosave_now)

        self._build_ui()
        self._uninstall_keys = keybindings.install(self.viewer, self)
        self.viewer.mouse_drag_callbacks.append(self._on_mouse_drag)
        self.viewer.layers.events.inserted.connect(self._refresh_image_choices)
        self.viewer.layers.events.removed.connect(self._refresh_image_choices)
        self.viewer.dims.events.current_step.connect(self._on_view_changed)
        self.viewer.dims.events.order.connect(self._on_view_changed)
        self.viewer.dims.events.ndisplay.connect(self._on_view_changed)
        self._download_progress.connect(self._show_download_progress)
        self._refresh_image_choices()
        self._load_model()

    # ======================================================================================
    # UI
    # ======================================================================================
    def _build_ui(self) -> None:
        self.image_combo = QComboBox()
        self.image_combo.setToolTip("The image layer to annotate (2D or 3D, gray or RGB)")
        self.image_combo.currentIndexChanged.connect(self._on_image_choice)
        self.channel_map = ChannelMap()
        self.channel_map.changed.connect(self._on_channels_changed)
        self.model_choice = ModelChoice()
        self.model_choice.changed.connect(self._load_model)

        self.click_mode_box = QCheckBox("click to annotate")
        self.click_mode_box.setChecked(True)
        self.click_mode_box.toggled.connect(self._set_click_mode)
        self.overwrite_box = QCheckBox("commit overwrites other objects")
        self.overwrite_box.setToolTip("Off: pixels of committed objects keep their object")

        buttons = {
            "Undo click": self.undo_click,
            "Redo click": self.redo_click,
            "Commit (N)": self.commit,
            "Discard (Shift+N)": self.discard_object,
        }
        self.buttons: dict[str, QPushButton] = {}
        edit_row = QHBoxLayout()
        for text, slot in buttons.items():
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, slot=slot: slot())
            self.buttons[text] = button
            edit_row.addWidget(button)

        self.candidate_label = QLabel("")
        candidate_row = QHBoxLayout()
        for text, slot in (
            ("< candidate (J)", self.previous_candidate),
            ("candidate (K) >", self.next_candidate),
        ):
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, slot=slot: slot())
            self.buttons[text] = button
            candidate_row.addWidget(button)
        candidate_row.addWidget(self.candidate_label)

        self.status = QLabel("")
        self.status.setWordWrap(True)

        annotate = QGroupBox("Annotate")
        form = QFormLayout()
        form.addRow("Image", self.image_combo)
        form.addRow(self.channel_map)
        form.addRow(self.model_choice)
        form.addRow(self.click_mode_box)
        form.addRow(self.overwrite_box)
        annotate.setLayout(form)

        files = QGroupBox("Save")
        self.autosave_box = QCheckBox("autosave to")
        self.autosave_box.toggled.connect(lambda _=False: self.schedule_autosave())
        self.autosave_folder = QLineEdit()
        self.autosave_folder.setPlaceholderText("folder for prompts + objects")
        browse = QPushButton("...")
        browse.clicked.connect(self._choose_autosave_folder)
        autosave_row = QHBoxLayout()
        autosave_row.addWidget(self.autosave_box)
        autosave_row.addWidget(self.autosave_folder)
        autosave_row.addWidget(browse)
        save_button = QPushButton("Save...")
        save_button.clicked.connect(self._ask_save)
        load_button = QPushButton("Load prompts...")
        load_button.clicked.connect(self._ask_load)
        save_row = QHBoxLayout()
        save_row.addWidget(save_button)
        save_row.addWidget(load_button)
        files_layout = QVBoxLayout()
        files_layout.addLayout(autosave_row)
        files_layout.addLayout(save_row)
        files.setLayout(files_layout)

        propagate = QGroupBox("Propagate through the volume")
        self.propagation_mode = QComboBox()
        self.propagate_button = QPushButton("Propagate")
        self.propagate_button.clicked.connect(self._propagate_or_cancel)
        propagate_row = QHBoxLayout()
        propagate_row.addWidget(self.propagation_mode)
        propagate_row.addWidget(self.propagate_button)
        propagate.setLayout(propagate_row)
        try:
            from napari_clickseg.engine.propagation import MODES

            self.propagation_mode.addItems(MODES)
            self.propagation_mode.setCurrentText("mask+center")
        except ImportError:
            propagate.setVisible(False)

        keys = QLabel(
            "<table>"
            + "".join(
                f"<tr><td><b>{k}</b>&nbsp;</td><td>{w}</td></tr>"
                for k, w in keybindings.help_rows()
            )
            + "</table>"
        )
        keys_box = QGroupBox("Mouse and keys")
        keys_layout = QVBoxLayout()
        keys_layout.addWidget(keys)
        keys_box.setLayout(keys_layout)

        layout = QVBoxLayout()
        layout.addWidget(annotate)
        layout.addLayout(edit_row)
        layout.addLayout(candidate_row)
        layout.addWidget(self.status)
        layout.addWidget(propagate)
        layout.addWidget(files)
        layout.addWidget(keys_box)
        layout.addStretch(1)
        self.setLayout(layout)

    def _say(self, text: str, level: str = "info") -> None:
        """Show a message in the status line and, for problems, as a napari notification."""
        self.status.setText(text)
        if level == "info":
            return
        from napari.utils.notifications import show_error, show_warning

        self.last_error = text
        (show_error if level == "error" else show_warning)(text)

    # ======================================================================================
    # Image layer and its layers
    # ======================================================================================
    def _image_layers(self) -> list[Any]:
        return [layer for layer in self.viewer.layers if type(layer).__name__ == "Image"]

    def _refresh_image_choices(self, *_: Any) -> None:
        if self._attaching:
            return  # our own layers being added
        names = [layer.name for layer in self._image_layers()]
        current = self.image_combo.currentText() or self._preferred_image_name()
        self.image_combo.blockSignals(True)
        self.image_combo.clear()
        self.image_combo.addItems(names)
        if current in names:
            self.image_combo.setCurrentText(current)
        self.image_combo.blockSignals(False)
        chosen = self.image_combo.currentText()
        if self.image_layer is not None and self._own_layer_deleted():
            # Made anew once the event loop runs again, not inside the removal: while napari
            # clears all layers (closing the viewer) a layer made here would be removed next.
            QTimer.singleShot(0, self._restore_own_layers)
        if self.image_layer is None or self.image_layer.name != chosen:
            self._on_image_choice()
        elif self.image_layer is not None:
            self.channel_map.set_layers(self.image_layer, self.viewer.layers)
        if not names:
            self._say(NO_IMAGE)

    def _preferred_image_name(self) -> str:
        """The selected image layer, else the top visible one, else ''."""
        active = self.viewer.layers.selection.active
        if active is not None and type(active).__name__ == "Image":
            return active.name
        visible = [layer for layer in self._image_layers() if layer.visible]
        return visible[-1].name if visible else ""

    def _on_image_choice(self, *_: Any) -> None:
        name = self.image_combo.currentText()
        layer = next((lyr for lyr in self._image_layers() if lyr.name == name), None)
        if layer is self.image_layer:
            return
        self._detach_image()
        if layer is not None:
            self._attach(layer)

    def _restore_own_layers(self) -> None:
        """Make a deleted dock layer anew, keeping the clicks and masks that still exist."""
        layer = self.image_layer
        if layer is None or layer not in self.viewer.layers or not self._own_layer_deleted():
            return
        self._detach_image()
        self._attach(layer)

    def _own_layer_deleted(self) -> bool:
        own = [self.current_layer, self.committed_layer]
        if self.clicks is not None:
            own += [self.clicks.positive, self.clicks.negative]
        return any(layer is None or layer not in self.viewer.layers for layer in own)

    def _attach(self, layer: Any) -> None:
        try:
            check_annotatable(layer)
        except GeometryError as error:
            self._say(str(error), "warning")
            return
        self._attaching = True
        try:
            self._attach_layers(layer)
        finally:
            self._attaching = False
        self._on_channels_changed()
        self._on_view_changed()
        self._say(f"Annotating {layer.name!r}: left click = object, right click = background.")

    def _attach_layers(self, layer: Any) -> None:
        self.image_layer = layer
        self.channel_map.set_layers(layer, self.viewer.layers)
        # Labels first, so that the click layers are drawn on top of the masks.
        self.committed_layer = self._labels_layer(COMMITTED_NAME, np.uint32, opacity=0.4)
        self.current_layer = self._labels_layer(CURRENT_NAME, np.uint8, opacity=0.5)
        self.clicks = ClickLayers(self.viewer, layer, self._on_clicks_changed)
        self.viewer.layers.selection.active = layer

    def _detach_image(self) -> None:
        if self.clicks is not None:
            self.clicks.disconnect()
        self.image_layer = None
        self.clicks = None
        self.current_layer = None
        self.committed_layer = None
        self.committed_prompts = {}
        self._new_object()

    def _labels_layer(self, name: str, dtype: Any, opacity: float) -> Any:
        shape = layer_spatial_shape(self.image_layer)
        for layer in self.viewer.layers:
            if (
                layer.name == name
                and type(layer).__name__ == "Labels"
                and tuple(layer.data.shape) == shape
            ):
                return layer
        return self.viewer.add_labels(
            np.zeros(shape, dtype), name=name, opacity=opacity, **transform_kwargs(self.image_layer)
        )

    def _on_channels_changed(self, *_: Any) -> None:
        if self.image_layer is None:
            return
        try:
            self.model_input = self.channel_map.model_input()
        except ValueError as error:
            self._say(str(error), "warning")
            return
        self._restart_sessions()

    # ======================================================================================
    # Model
    # ======================================================================================
    def _load_model(self, *_: Any) -> None:
        spec = self.model_choice.spec
        self._say(f"Loading {spec.label} ...")

        def run() -> Any:
            return self.model_choice.build_predictor(self._download_progress.emit, spec)

        self.runner.submit(
            Job(
                run,
                self._on_model_loaded,
                self._on_model_error,
                key="model",
                description="loading the model",
            )
        )

    def _show_download_progress(self, done: int, total: int) -> None:
        megabytes = f"{done / 1e6:.0f} of {total / 1e6:.0f} MB" if total else f"{done / 1e6:.0f} MB"
        self.status.setText(f"Downloading weights: {megabytes}")

    def _on_model_loaded(self, predictor: Any) -> None:
        self.predictor = predictor
        device = getattr(predictor, "device", "cpu")
        missing = "" if self.image_layer is not None else f" {NO_IMAGE}"
        self._say(f"Model ready: {self.model_choice.spec.label} on {device}.{missing}")
        self._restart_sessions()

    def _on_model_error(self, error: BaseException) -> None:
        self.predictor = None
        self.sessions = None
        if self._is_out_of_memory(error) and self.model_choice.spec.device != "cpu":
            self._say(f"{error} Switching to the CPU.", "warning")
            self.model_choice.set_device("cpu")
            return
        self._say(f"The model could not be loaded: {error}", "error")

    @staticmethod
    def _is_out_of_memory(error: BaseException) -> bool:
        if isinstance(error, GpuOutOfMemoryError):
            return True
        return type(error).__name__ == "OutOfMemoryError" or "out of memory" in str(error)

    def _restart_sessions(self) -> None:
        """New predictor or new input channels: start the sessions afresh and replay clicks."""
        from napari_clickseg.engine.slice_sessions import SliceSessions

        self._generation += 1
        self._submitted = {}
        self._candidates = {}
        if self.predictor is None or self.model_input is None:
            self.sessions = None
            return
        model_input, current = self.model_input, self.current_layer
        self.sessions = SliceSessions(
            self.predictor,
            lambda key: model_input.image(self._plane(key[0]), key[1]),
            lambda key: (
                None
                if current is None
                else np.asarray(current.data[self._plane(key[0]).slicer(key[1])]) > 0
            ),
        )
        self._request_sync()

    # ======================================================================================
    # Clicks
    # ======================================================================================
    def _plane(self, axis: int | None) -> Plane:
        """The plane clicks of ``axis`` are read with (rows, cols in volume axis order)."""
        return Plane.canonical(layer_spatial_shape(self.image_layer).__len__(), axis)

    def _viewed(self) -> tuple[Plane, int]:
        """(displayed plane, slice index) the viewer shows of the image."""
        plane = layer_plane(self.image_layer, self.viewer.dims)
        return plane, current_slice(self.image_layer, self.viewer.dims, plane)

    def _current_key(self) -> SliceKey | None:
        if self.image_layer is None:
            return None
        try:
            plane, index = self._viewed()
        except GeometryError:
            return None
        return plane.axis, index

    def _on_mouse_drag(self, viewer: Any, event: Any):
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
        if not self.click_mode or self.image_layer is None or event.button not in (1, 2):
            return False
        if "Shift" in event.modifiers or "Alt" in event.modifiers:
            return False
        active = self.viewer.layers.selection.active
        # Layers in a drawing or editing mode (painting labels, adding points) keep the mouse.
        return active is None or getattr(active, "mode", "pan_zoom") == "pan_zoom"

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
        if self.image_layer is None or self.clicks is None:
            self._say("No image layer: open an image first.", "warning")
            return None
        try:
            plane, _ = self._viewed()
        except GeometryError as error:
            self._say(str(error), "warning")
            return None
        index, row, col = world_to_plane(self.image_layer, plane, position)
        if not inside(self.image_layer, plane, index, row, col):
            return None
        record = self.clicks.add(plane.point(index, row, col), positive, plane.axis)
        self._undone.clear()
        self._request_sync()
        return record

    def _on_clicks_changed(self) -> None:
        self._undone.clear()
        self._request_sync()

    def _request_sync(self) -> None:
        """Submit a job for every slice whose clicks differ from what was last submitted."""
        if self.clicks is None:
            return
        groups = self.clicks.clicks_by_slice(self._plane)
        for key in set(groups) | set(self._submitted):
            wanted = tuple(groups.get(key, ()))
            if self._submitted.get(key) == wanted:
                continue
            self._submitted[key] = wanted
            self._submit_sync(key, wanted)
        self.schedule_autosave()

    def _submit_sync(self, key: SliceKey, wanted: tuple) -> None:
        if self.sessions is None:
            return  # replayed once the model is ready
        sessions, generation = self.sessions, self._generation

        def run() -> Any:
            prediction = sessions.sync(key, wanted)
            return key, generation, prediction, sessions.mask(key)

        self.runner.submit(
            Job(
                run,
                self._show_prediction,
                self._on_predict_error,
                key=("slice", key),
                description=f"slice {key[1]}",
            )
        )

    def _show_prediction(self, result: tuple) -> None:
        key, generation, prediction, mask = result
        if generation != self._generation or self.current_layer is None:
            return
        plane = self._plane(key[0])
        if mask is None:
            mask = np.zeros(plane.shape(layer_spatial_shape(self.image_layer)), bool)
        if prediction is not None:
            count = prediction.candidates.shape[0]
            self._candidates[key] = (prediction.selected, count, prediction.scores)
        else:
            self._candidates.pop(key, None)
        self.current_layer.data[plane.slicer(key[1])] = mask.astype(self.current_layer.dtype)
        self.current_layer.refresh()
        self._update_status()

    def _on_predict_error(self, error: BaseException) -> None:
        if self._is_out_of_memory(error) and self.model_choice.spec.device != "cpu":
            self._say(
                "The GPU ran out of memory: switching to the CPU (slower). Try a smaller "
                "model or image to stay on the GPU.",
                "warning",
            )
            self.model_choice.set_device("cpu")
            return
        self._say(f"Prediction failed: {error}", "error")

    def _update_status(self) -> None:
        key = self._current_key()
        if key is None:
            return
        count = (
            0 if self.clicks is None else sum(1 for r in self.clicks.records() if r.key() == key)
        )
        where = "image" if key[0] is None else f"axis {key[0]} slice {key[1]}"
        self.status.setText(f"{where}: {count} click(s) on the current object.")
        selected, total, scores = self._candidates.get(key, (0, 1, None))
        if total > 1:
            score = "" if scores is None else f" (score {float(scores[selected]):.2f})"
            self.candidate_label.setText(f"candidate {selected + 1}/{total}{score}")
        else:
            self.candidate_label.setText("")

    def _on_view_changed(self, *_: Any) -> None:
        if self.clicks is None:
            return
        try:
            plane, _ = self._viewed()
        except GeometryError as error:
            self.status.setText(str(error))
            return
        self.clicks.show_axis(plane.axis)
        self._update_status()

    # ======================================================================================
    # Actions (buttons and keys)
    # ======================================================================================
    def _set_click_mode(self, on: bool) -> None:
        self.click_mode = bool(on)

    def toggle_click_mode(self) -> None:
        """Turn click-to-annotate on or off (key G)."""
        self.click_mode_box.setChecked(not self.click_mode)

    def undo_click(self) -> None:
        """Remove the latest click of the viewed slice (Ctrl+Z)."""
        key = self._current_key()
        if self.clicks is None or key is None:
            return
        mine = [r for r in self.clicks.records() if r.key() == key]
        if not mine:
            self._say("No click to undo on this slice.")
            return
        self.clicks.remove(mine[-1])
        self._undone.append(mine[-1])
        self._request_sync()

    def redo_click(self) -> None:
        """Put back the latest undone click (Ctrl+Shift+Z)."""
        if self.clicks is None or not self._undone:
            return
        record = self._undone.pop()
        self.clicks.add(np.asarray(record.point), record.positive, record.axis)
        self._request_sync()

    def next_candidate(self) -> None:
        """Show the next mask candidate of the viewed slice (PiClick; key K)."""
        self._step_candidate(+1)

    def previous_candidate(self) -> None:
        """Show the previous mask candidate of the viewed slice (PiClick; key J)."""
        self._step_candidate(-1)

    def _step_candidate(self, step: int) -> None:
        key = self._current_key()
        if key is None or key not in self._candidates or self.sessions is None:
            return
        selected, total, scores = self._candidates[key]
        if total < 2:
            self._say("This model gives one mask per click; there are no candidates to cycle.")
            return
        choice = (selected + step) % total
        # Key presses faster than the worker step from the candidate asked for last.
        self._candidates[key] = (choice, total, scores)
        sessions, generation = self.sessions, self._generation

        def run() -> Any:
            prediction = sessions.select_candidate(key, choice)
            return key, generation, prediction, prediction.mask

        self.runner.submit(
            Job(
                run,
                self._show_prediction,
                self._on_predict_error,
                key=("slice", key),
                description="candidate",
            )
        )

    def commit(self) -> int | None:
        """Write the current object into the committed layer with a new id (key N).

        Returns
        -------
        int or None
            The new object's id; None when there was nothing to commit.
        """
        if self.current_layer is None or self.committed_layer is None:
            self._say("No image layer: nothing to commit.", "warning")
            return None
        if not self.runner.idle:
            self._say("Still predicting: commit again when the mask is shown.")
            return None
        mask = np.asarray(self.current_layer.data) > 0
        if not mask.any():
            self._say("The current object is empty: click on it first.")
            return None
        overwrite = self.overwrite_box.isChecked()
        plan = plan_commit(self.committed_layer.data, mask, overwrite=overwrite)
        with self.committed_layer.block_history():
            self.committed_layer.data_setitem(plan.indices, plan.label)
        self.committed_prompts[plan.label] = list(self.clicks.records()) if self.clicks else []
        kept = f"; {plan.kept_pixels} pixel(s) kept by other objects" if plan.kept_pixels else ""
        self._new_object()
        self.schedule_autosave()
        self._say(
            f"Committed object {plan.label} ({plan.written_pixels} pixels{kept}). "
            "Next object: click on it."
        )
        return plan.label

    def discard_object(self) -> None:
        """Clear the current object's clicks and mask (Shift+N)."""
        self._new_object()
        self.schedule_autosave()
        self._say("Current object cleared.")

    def _new_object(self) -> None:
        self.runner.cancel_pending()
        self._generation += 1
        self._submitted = {}
        self._candidates = {}
        self._undone.clear()
        if self.clicks is not None:
            self.clicks.clear()
        if self.current_layer is not None:
            self.current_layer.data[...] = 0
            self.current_layer.refresh()
        if self.sessions is not None:
            from napari_clickseg.engine.slice_sessions import SliceSessions

            old = self.sessions
            self.sessions = SliceSessions(old.predictor, old._image_for_slice, old._prior_for_slice)

    # ======================================================================================
    # Propagation
    # ======================================================================================
    def _propagate_or_cancel(self) -> None:
        if self._propagation_stop is not None:
            self._propagation_stop.set()
            return
        self.propagate()

    def propagate(self, mode: str | None = None) -> None:
        """Propagate the current object from its annotated slices through the volume."""
        import threading

        from napari_clickseg.engine.propagation import PropagationSettings, propagate

        if self.current_layer is None or self.sessions is None:
            self._say("Load an image and a model first.", "warning")
            return
        try:
            plane, _ = self._viewed()
        except GeometryError as error:
            self._say(str(error), "warning")
            return
        if plane.axis is None:
            self._say("Propagation needs a 3D volume.", "warning")
            return
        seed = np.asarray(self.current_layer.data) > 0
        if not seed.any():
            self._say("Annotate the object on at least one slice before propagating.")
            return
        settings = PropagationSettings(mode=mode or self.propagation_mode.currentText())
        canonical = Plane.canonical(3, plane.axis)
        model_input, predictor, sessions = self.model_input, self.predictor, self.sessions
        stop = threading.Event()
        self._propagation_stop = stop
        self.propagate_button.setText("Cancel propagation")
        from napari.utils import progress

        bar = progress(total=plane.slice_count(seed.shape), desc="propagating")
        updates = _ProgressRelay(self)
        updates.step.connect(lambda done, total: _advance(bar, done, total))

        def run() -> Any:
            try:
                return propagate(
                    predictor,
                    lambda index: model_input.image(canonical, index),
                    seed,
                    axis=plane.axis,
                    settings=settings,
                    progress=updates.step.emit,
                    should_stop=stop.is_set,
                )
            finally:
                sessions.invalidate()

        def done(result: Any) -> None:
            bar.close()
            self._end_propagation()
            self._write_propagation(result, seed)

        def failed(error: BaseException) -> None:
            bar.close()
            self._end_propagation()
            self._say(f"Propagation failed: {error}", "error")

        self.runner.submit(Job(run, done, failed, description="propagating"))

    def _end_propagation(self) -> None:
        self._propagation_stop = None
        self.propagate_button.setText("Propagate")

    def _write_propagation(self, result: Any, seed: np.ndarray) -> None:
        # Only slices propagation wrote change; the annotated (seed) slices stay as they are.
        new = result.mask & ~seed
        if self.current_layer is None or not new.any():
            self._say("Propagation added nothing (the object did not continue).")
            return
        with self.current_layer.block_history():
            self.current_layer.data_setitem(np.nonzero(new), 1)
        how = "cancelled after" if result.cancelled else "done:"
        self._say(
            f"Propagation {how} {len(result.written)} slice(s) added "
            "(Ctrl+Z with the current object layer selected undoes it)."
        )

    # ======================================================================================
    # Saving and loading
    # ======================================================================================
    def prompts(self) -> Prompts:
        """The clicks of the current and committed objects, ready to save."""
        if self.image_layer is None:
            raise ValueError("no image layer chosen")
        current = [r.to_prompt() for r in self.clicks.records()] if self.clicks else []
        committed = {
            label: [r.to_prompt() for r in records]
            for label, records in self.committed_prompts.items()
        }
        return Prompts(
            self.image_layer.name, layer_spatial_shape(self.image_layer), current, committed
        )

    def save_annotation(self, folder: str | Path) -> list[Path]:
        """Save prompts (JSON) and committed objects (TIFF) into ``folder`` now."""
        labels = None if self.committed_layer is None else np.asarray(self.committed_layer.data)
        written = save_annotation(folder, self.prompts(), labels)
        self._say(f"Saved {', '.join(p.name for p in written)} to {folder}.")
        return written

    def load_prompts(self, path: str | Path) -> None:
        """Load clicks (and committed objects saved beside them) from a prompts file.

        The current object's clicks are replaced and recomputed. Committed objects are loaded
        only into an empty committed layer, so no object is ever overwritten.
        """
        if self.image_layer is None or self.clicks is None:
            self._say("Choose the image layer before loading its prompts.", "warning")
            return
        try:
            prompts = load_prompts(path)
        except PromptsFileError as error:
            self._say(str(error), "error")
            return
        shape = layer_spatial_shape(self.image_layer)
        if tuple(prompts.image_shape) != shape:
            self._say(
                f"{path} holds prompts for an image of shape {prompts.image_shape}, but "
                f"{self.image_layer.name!r} has shape {shape}.",
                "error",
            )
            return
        self._new_object()
        records = [ClickRecord(c.point, c.positive, c.order, c.axis) for c in prompts.current]
        self.clicks.set_records(records)
        self.committed_prompts = {
            label: [ClickRecord(c.point, c.positive, c.order, c.axis) for c in clicks]
            for label, clicks in prompts.committed.items()
        }
        message = f"Loaded {len(records)} click(s) from {Path(path).name}."
        with contextlib.suppress(PromptsFileError, FileNotFoundError, OSError):
            _, labels = load_annotation(Path(path).parent, prompts.image_name)
            if labels is not None and labels.shape == shape:
                if np.any(self.committed_layer.data):
                    message += " Committed objects not loaded: the committed layer is not empty."
                else:
                    with self.committed_layer.block_history():
                        self.committed_layer.data_setitem(np.nonzero(labels), labels[labels > 0])
                    message += f" Loaded {len(np.unique(labels)) - 1} committed object(s)."
        self._request_sync()
        self._say(message)

    def schedule_autosave(self) -> None:
        """Autosave soon (changes in quick succession are saved once)."""
        if self.autosave_box.isChecked() and self.autosave_folder.text().strip():
            self._autosave_timer.start()

    def autosave_now(self) -> concurrent.futures.Future | None:
        """Write the autosave files now, in a background thread (atomic writes)."""
        folder = self.autosave_folder.text().strip()
        if not (self.autosave_box.isChecked() and folder) or self.image_layer is None:
            return None
        prompts = self.prompts()
        labels = None if self.committed_layer is None else np.array(self.committed_layer.data)
        return self._saver.submit(save_annotation, folder, prompts, labels)

    def _choose_autosave_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Autosave folder")
        if folder:
            self.autosave_folder.setText(folder)
            self.autosave_box.setChecked(True)

    def _ask_save(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save prompts and objects to")
        if folder:
            try:
                self.save_annotation(folder)
            except (OSError, ValueError) as error:
                self._say(f"Saving failed: {error}", "error")

    def _ask_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load prompts", "", "Prompts (*.json)")
        if path:
            self.load_prompts(path)

    # ======================================================================================
    # Teardown
    # ======================================================================================
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
            self.viewer.mouse_drag_callbacks.remove(self._on_mouse_drag)
        for emitter, slot in (
            (self.viewer.layers.events.inserted, self._refresh_image_choices),
            (self.viewer.layers.events.removed, self._refresh_image_choices),
            (self.viewer.dims.events.current_step, self._on_view_changed),
            (self.viewer.dims.events.order, self._on_view_changed),
            (self.viewer.dims.events.ndisplay, self._on_view_changed),
        ):
            emitter.disconnect(slot)
        if self.clicks is not None:
            self.clicks.disconnect()
        if self._autosave_timer.isActive():
            self._autosave_timer.stop()
            self.autosave_now()
        self.runner.close()
        self._saver.shutdown(wait=True)


class _ProgressRelay(QObject):
    """Carries ``progress(done, total)`` calls from a worker thread to the GUI thread."""

    step = Signal(int, int)


def _advance(bar: Any, done: int, total: int) -> None:
    """Move a napari progress bar to ``done`` of ``total``."""
    if total and bar.total != total:
        bar.total = total
    bar.update(max(0, done - bar.n))
