"""Saving and loading the annotation dock's work: prompts (JSON) and committed objects (TIFF).

"Save..." writes both now; autosave writes them (atomically, in a background thread) a second
after the last change; "Load prompts..." puts clicks back and the committed objects saved
beside them, never over existing committed objects. Files are written by
:mod:`napari_clickseg.engine.autosave`. When the image was opened from NIfTI, the committed
objects are also written as ``<image>_objects.nii.gz`` on the scan's grid, with its affine
(the plugin's NIfTI writer), so that they can be opened over the scan in any viewer.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QFileDialog

from napari_clickseg._reader import NIFTI_METADATA_KEY
from napari_clickseg._widgets.click_layers import ClickRecord
from napari_clickseg._widgets.layer_geometry import layer_spatial_shape
from napari_clickseg._writer import write_labels_nifti
from napari_clickseg.engine.autosave import file_stem, load_annotation, save_annotation
from napari_clickseg.engine.prompts_io import Prompts, PromptsFileError, load_prompts

if TYPE_CHECKING:
    from napari_clickseg._widgets.annotation_dock import AnnotationDock

_AUTOSAVE_DELAY_MS = 1000


class AnnotationFiles:
    """Save, load and autosave for one dock.

    Parameters
    ----------
    dock : AnnotationDock
        The dock (its layers, clicks, committed prompts, save widgets and messages).
    """

    def __init__(self, dock: AnnotationDock) -> None:
        self.dock = dock
        self._saver = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self._timer = QTimer(dock)
        self._timer.setSingleShot(True)
        self._timer.setInterval(_AUTOSAVE_DELAY_MS)
        self._timer.timeout.connect(self.autosave_now)

    def prompts(self) -> Prompts:
        """The clicks of the current and committed objects, ready to save."""
        dock = self.dock
        if dock.image_layer is None:
            raise ValueError("no image layer chosen")
        current = [r.to_prompt() for r in dock.clicks.records()] if dock.clicks else []
        committed = {
            label: [r.to_prompt() for r in records]
            for label, records in dock.committed_prompts.items()
        }
        return Prompts(
            dock.image_layer.name, layer_spatial_shape(dock.image_layer), current, committed
        )

    def save(self, folder: str | Path) -> list[Path]:
        """Save prompts (JSON) and committed objects (TIFF) into ``folder`` now."""
        committed = self.dock.committed_layer
        labels = None if committed is None else np.asarray(committed.data)
        written = _save_all(folder, self.prompts(), labels, self._scan_geometry())
        self.dock.say(f"Saved {', '.join(p.name for p in written)} to {folder}.")
        return written

    def load(self, path: str | Path) -> None:
        """Load clicks (and committed objects saved beside them) from a prompts file.

        The current object's clicks are replaced and recomputed. Committed objects are loaded
        only into an empty committed layer, so no object is ever overwritten.
        """
        dock = self.dock
        if dock.image_layer is None or dock.clicks is None:
            dock.say("Choose the image layer before loading its prompts.", "warning")
            return
        try:
            prompts = load_prompts(path)
        except PromptsFileError as error:
            dock.say(str(error), "error")
            return
        shape = layer_spatial_shape(dock.image_layer)
        if tuple(prompts.image_shape) != shape:
            dock.say(
                f"{path} holds prompts for an image of shape {prompts.image_shape}, but "
                f"{dock.image_layer.name!r} has shape {shape}.",
                "error",
            )
            return
        dock.new_object()
        records = [ClickRecord(c.point, c.positive, c.order, c.axis) for c in prompts.current]
        dock.clicks.set_records(records)
        dock.committed_prompts = {
            label: [ClickRecord(c.point, c.positive, c.order, c.axis) for c in clicks]
            for label, clicks in prompts.committed.items()
        }
        message = f"Loaded {len(records)} click(s) from {Path(path).name}."
        with contextlib.suppress(PromptsFileError, FileNotFoundError, OSError):
            _, labels = load_annotation(Path(path).parent, prompts.image_name)
            if labels is not None and labels.shape == shape:
                committed = dock.committed_layer
                if np.any(committed.data):
                    message += " Committed objects not loaded: the committed layer is not empty."
                else:
                    with committed.block_history():
                        committed.data_setitem(np.nonzero(labels), labels[labels > 0])
                    message += f" Loaded {len(np.unique(labels)) - 1} committed object(s)."
        dock.click_sync.request_sync()
        dock.say(message)

    def schedule_autosave(self) -> None:
        """Autosave soon (changes in quick succession are saved once)."""
        dock = self.dock
        if dock.autosave_box.isChecked() and dock.autosave_folder.text().strip():
            self._timer.start()

    def autosave_now(self) -> concurrent.futures.Future | None:
        """Write the autosave files now, in a background thread (atomic writes)."""
        dock = self.dock
        folder = dock.autosave_folder.text().strip()
        if not (dock.autosave_box.isChecked() and folder) or dock.image_layer is None:
            return None
        prompts = self.prompts()
        committed = dock.committed_layer
        labels = None if committed is None else np.array(committed.data)
        return self._saver.submit(_save_all, folder, prompts, labels, self._scan_geometry())

    def _scan_geometry(self) -> dict | None:
        """What the NIfTI writer needs to save on the scan's grid; None without a NIfTI scan."""
        committed = self.dock.committed_layer
        if committed is None or NIFTI_METADATA_KEY not in committed.metadata:
            return None
        return {
            "name": committed.name,
            "metadata": {NIFTI_METADATA_KEY: committed.metadata[NIFTI_METADATA_KEY]},
            "scale": tuple(committed.scale),
            "translate": tuple(committed.translate),
        }

    def choose_autosave_folder(self) -> None:
        """Ask for the autosave folder and turn autosave on."""
        folder = QFileDialog.getExistingDirectory(self.dock, "Autosave folder")
        if folder:
            self.dock.autosave_folder.setText(folder)
            self.dock.autosave_box.setChecked(True)

    def ask_save(self) -> None:
        """Ask for a folder and save into it."""
        folder = QFileDialog.getExistingDirectory(self.dock, "Save prompts and objects to")
        if folder:
            try:
                self.save(folder)
            except (OSError, ValueError) as error:
                self.dock.say(f"Saving failed: {error}", "error")

    def ask_load(self) -> None:
        """Ask for a prompts file and load it."""
        path, _ = QFileDialog.getOpenFileName(self.dock, "Load prompts", "", "Prompts (*.json)")
        if path:
            self.load(path)

    def close(self) -> None:
        """Write a pending autosave and wait for the writes to finish."""
        if self._timer.isActive():
            self._timer.stop()
            self.autosave_now()
        self._saver.shutdown(wait=True)


def _save_all(
    folder: str | Path, prompts: Prompts, labels: np.ndarray | None, geometry: dict | None
) -> list[Path]:
    """Prompts and TIFF objects, plus NIfTI objects on the scan's grid when ``geometry``."""
    written = save_annotation(folder, prompts, labels)
    if labels is not None and geometry is not None:
        path = Path(folder) / f"{file_stem(prompts.image_name)}_objects.nii.gz"
        written += [Path(p) for p in write_labels_nifti(str(path), labels, geometry)]
    return written
