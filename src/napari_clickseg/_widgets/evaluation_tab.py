"""The evaluation dock's "Evaluate model" tab: a model's NoC evaluation on napari layers.

Pick an image layer, a ground-truth Labels layer, a model
(:class:`~napari_clickseg._widgets.model_choice.ModelChoice`), the slices and objects, the click
budget and the stopping IoU; "Run" builds the evaluation objects
(:class:`~napari_clickseg._widgets.evaluation_objects.LayerObjects`) and runs the engine's
:func:`~napari_clickseg.engine.evaluation.evaluate_dataset` in a worker thread (the same call
as ``clickseg evaluate``), with a progress bar and "Cancel". It shows NoC@85/90/95, NoF, the
mIoU-vs-clicks curve and a per-object table (select a row to go to its slice), and exports the
per-object CSV of :func:`~napari_clickseg.engine.evaluation_report.write_csv`.
"""

from __future__ import annotations

import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from napari.layers import Image, Labels
from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from napari_clickseg._widgets.channel_map import ChannelMap
from napari_clickseg._widgets.evaluation_layers import LayerCombo, go_to_slice
from napari_clickseg._widgets.evaluation_objects import LayerObjects, check_layer_shapes
from napari_clickseg._widgets.evaluation_plot import MiouPlot
from napari_clickseg._widgets.evaluation_selection import SliceSelection
from napari_clickseg._widgets.evaluation_table import RowsTable
from napari_clickseg._widgets.model_choice import ModelChoice, build_predictor

if TYPE_CHECKING:  # the engine's evaluation imports torch: only when a run starts
    from napari_clickseg.engine.evaluation import EvaluationResult, EvaluationSettings

__all__ = ["OBJECT_COLUMNS", "EvaluateTab", "summary_text"]

#: NoC / NoF thresholds the dock shows.
PERCENTS = (85, 90, 95)
#: mIoU@k values the dock's summary shows.
MIOU_CLICKS = (1, 5, 10)
#: Per-object table columns (keys of :func:`result_rows`).
OBJECT_COLUMNS = ("object", "clicks", "noc@85", "noc@90", "noc@95", "final_iou")


def summary_text(result: EvaluationResult, skipped: int = 0) -> str:
    """The dock's summary lines: NoC and NoF at 85/90/95, mIoU@1/5/10, time, objects."""
    summary = result.summary
    noc = "   ".join(f"NoC@{p} {summary.noc_at(p):.2f}" for p in PERCENTS)
    nof = "   ".join(f"NoF@{p} {summary.nof_at(p)}" for p in PERCENTS)
    shown = [k for k in MIOU_CLICKS if k <= len(summary.miou)]  # curves may be shorter
    miou = "   ".join(f"mIoU@{k} {summary.miou_at(k):.3f}" for k in shown)
    count = f"{summary.objects} objects" + (f" ({skipped} too small, left out)" if skipped else "")
    return f"{noc}\n{nof}\n{miou}\n{count}, {result.seconds_per_click:.3f} s per click"


class _Relay(QObject):
    """Carries progress from the worker thread to the GUI thread, tagged with the run's number."""

    advanced = Signal(int, int, int, str)


def _error_style(label: QLabel, error: bool) -> None:
    label.setStyleSheet("color: #e06c60;" if error else "")


class EvaluateTab(QWidget):
    """The NoC evaluation of a model on an image layer and its ground-truth labels.

    Signals
    -------
    run_finished
        Emitted (in the GUI thread) when a run ends, whatever the outcome.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer whose layers are used.
    """

    run_finished = Signal()

    def __init__(self, viewer: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self.result: EvaluationResult | None = None
        self.metas: dict[str, dict[str, Any]] = {}
        self._layer_name = ""
        self._skipped = 0
        self._cancel = threading.Event()
        # a closing dock stops its run before the next object
        self.destroyed.connect(self._cancel.set)
        self._worker: Any = None
        self._outcome: tuple[Any, dict[str, dict[str, Any]]] | None = None
        self._napari_progress: Any = None
        # each run's number; a report is shown only while its own run is the one under way
        self._run_number = 0
        self._relay = _Relay(self)
        self._relay.advanced.connect(self._on_progress)

        self.image_combo = LayerCombo(viewer, Image)
        self.gt_combo = LayerCombo(viewer, Labels)
        self.channel_map = ChannelMap()
        # float32: the papers' protocol, and numbers comparable with docs/results.md
        self.model_choice = ModelChoice(precision="float32")
        self.selection = SliceSelection()
        self.split = QCheckBox("split into connected components")
        self.split.setToolTip(
            "One object per 4-connected piece of a label per slice (ssTEM / ISBI protocol); "
            "checked by itself when the ground truth gives all objects one value"
        )
        self.split_note = QLabel()
        self.split_note.setWordWrap(True)
        self.split_note.setVisible(False)
        self._advised_layer: Any = None  # the ground-truth layer the split was advised for
        self.min_pixels = QSpinBox()
        self.min_pixels.setRange(1, 1_000_000)
        self.min_pixels.setToolTip("Leave out objects smaller than this (pixels in the slice)")
        self.max_clicks = QSpinBox()
        self.max_clicks.setRange(1, 100)
        self.max_clicks.setValue(20)
        self.target_iou = QDoubleSpinBox()
        self.target_iou.setRange(0.5, 1.0)
        self.target_iou.setSingleStep(0.05)
        self.target_iou.setDecimals(2)
        self.target_iou.setValue(0.90)
        self.full_curve = QCheckBox("full curves (needed for mIoU@k)")
        self.full_curve.setChecked(True)
        self.full_curve.setToolTip("Unchecked: stop each object at the target IoU (faster)")
        self.oracle = QCheckBox("oracle candidate (multi-mask)")
        self.oracle.setToolTip("PiClick's official evaluation: best candidate by ground truth")
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress_bar = QProgressBar()
        self.progress_bar.setFormat("%v / %m objects")
        self.status = QLabel("Choose an image, its ground truth and a model, then Run.")
        self.status.setWordWrap(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.plot = MiouPlot()
        self.table = RowsTable()
        self.export_button = QPushButton("Export CSV...")
        self.export_button.setEnabled(False)
        self._lay_out()

        self.image_combo.currentIndexChanged.connect(self._on_layers)
        self.gt_combo.currentIndexChanged.connect(self._on_layers)
        self.selection.current.clicked.connect(
            lambda: self.selection.use_view(self.viewer, self.gt_combo.layer())
        )
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.export_button.clicked.connect(self._ask_export)
        self.table.itemSelectionChanged.connect(self._go_to_selected)
        self._on_layers()

    def _lay_out(self) -> None:
        form = QFormLayout()
        form.addRow("Image", self.image_combo)
        form.addRow(self.channel_map)
        form.addRow("Ground truth", self.gt_combo)
        form.addRow(self.model_choice)
        form.addRow(self.selection)
        form.addRow("", self.split)
        form.addRow(self.split_note)
        form.addRow("Min. pixels", self.min_pixels)
        form.addRow("Max. clicks", self.max_clicks)
        form.addRow("Target IoU", self.target_iou)
        form.addRow("", self.full_curve)
        form.addRow("", self.oracle)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout()
        layout.addLayout(form)
        layout.addLayout(buttons)
        for widget in (self.progress_bar, self.status, self.summary, self.plot, self.table):
            layout.addWidget(widget)
        layout.addWidget(self.export_button)
        self.setLayout(layout)

    # -- public API ------------------------------------------------------------------------
    def settings(self) -> EvaluationSettings:
        """The protocol parameters the form describes."""
        from napari_clickseg.engine.evaluation import EvaluationSettings

        return EvaluationSettings(
            max_clicks=self.max_clicks.value(),
            target_iou=round(self.target_iou.value(), 4),
            full_curve=self.full_curve.isChecked(),
            selection="oracle" if self.oracle.isChecked() else "model",
        )

    def build_objects(self) -> LayerObjects:
        """The evaluation objects of the chosen layers, slices and ids.

        Raises
        ------
        ValueError
            With the message the dock shows (missing layer, shape mismatch, no objects, ...).
        """
        image, gt = self.image_combo.layer(), self.gt_combo.layer()
        if image is None:
            raise ValueError("No image layer: open an image (or a volume) and choose it.")
        if gt is None:
            raise ValueError("No ground truth: add a Labels layer with the reference objects.")
        for layer in (*self.channel_map.layers_used(), gt):
            if layer.multiscale:
                raise ValueError(f"Layer {layer.name!r} is multiscale; use a single-scale layer.")
        model_input = self.channel_map.model_input()
        check_layer_shapes(model_input.spatial_shape, gt.data.shape, (image.name, gt.name))
        axis, slices, labels = self.selection.selection()
        objects = LayerObjects(
            model_input,
            # a copy, as painting during a run must not change its truth; a lazy (dask, zarr)
            # volume is read slice by slice instead, never whole
            np.array(gt.data) if isinstance(gt.data, np.ndarray) else gt.data,
            axis=axis,
            slices=slices,
            labels_wanted=labels,
            split_components=self.split.isChecked(),
            min_pixels=self.min_pixels.value(),
            name=f"{image.name} / {gt.name}",
        )
        len(objects)  # scans the labels; raises "no objects to evaluate ..." early
        return objects

    def run(self) -> bool:
        """Start an evaluation in a worker thread; False (and a message) if inputs are wrong."""
        if self.is_running:
            return False
        try:
            objects = self.build_objects()
            settings = self.settings()
        except ValueError as error:
            self._show(str(error), error=True)
            return False
        from napari.qt.threading import create_worker
        from napari.utils import progress

        from napari_clickseg._widgets.evaluation_run import run_evaluation

        total = len(objects)
        self._skipped = len(objects.skipped)
        self._layer_name = self.gt_combo.currentText()
        self._cancel.clear()
        self._run_number += 1
        spec = self.model_choice.spec
        cancel, running = self._cancel, {}
        self._clear_result()
        self.progress_bar.setRange(0, 0)  # busy while the model loads
        self._napari_progress = progress(total=total, desc="ClickSeg evaluation")
        self._set_running(True)
        self._show(f"Loading {spec.label}, then evaluating {total} objects...")
        self._worker = create_worker(
            run_evaluation,
            partial(build_predictor, spec),
            objects,
            total,
            settings,
            # napari asks workers to quit when it closes
            lambda: cancel.is_set() or running["worker"].abort_requested,
            partial(self._relay.advanced.emit, self._run_number),
            _start_thread=False,
        )
        running["worker"] = self._worker
        self._outcome = None
        self._worker.returned.connect(self._on_returned)
        self._worker.finished.connect(self._on_finished)
        self._worker.start()
        return True

    def cancel(self) -> None:
        """Stop the running evaluation before its next object."""
        if self.is_running:
            self._cancel.set()
            self._show("Cancelling after the current object...")

    @property
    def is_running(self) -> bool:
        """Whether an evaluation is under way."""
        return self._worker is not None

    def export_csv(self, path: str | Path) -> Path:
        """Write the per-object CSV of the last result (atomically) and return its path."""
        from napari_clickseg.engine.evaluation_report import write_csv

        if self.result is None:
            raise ValueError("No result to export yet: run an evaluation first.")
        return write_csv(self.result, path)

    # -- reactions -------------------------------------------------------------------------
    def _on_layers(self, *_: Any) -> None:
        image, gt = self.image_combo.layer(), self.gt_combo.layer()
        self.channel_map.set_layers(image, self.viewer.layers)
        if gt is not None:
            self.selection.set_shape(tuple(gt.data.shape))
        if gt is not self._advised_layer:
            self._advise_split(gt)

    def _advise_split(self, gt: Labels | None) -> None:
        """Preselect "split into connected components" for one-value (ISBI-style) labels."""
        self._advised_layer = gt
        advice = None
        if gt is not None and not gt.multiscale and gt.data.ndim in (2, 3):
            from napari_clickseg.engine.component_split import advise_component_split
            from napari_clickseg.engine.planes import Plane

            axis = self.selection.axis.value() if gt.data.ndim == 3 else None
            advice = advise_component_split(gt.data, Plane.canonical(gt.data.ndim, axis))
        self.split.setChecked(advice is not None and advice.split)
        self.split_note.setText(advice.message if advice is not None else "")
        self.split_note.setVisible(bool(self.split_note.text()))

    def _on_progress(self, run_number: int, done: int, total: int, name: str) -> None:
        # Reports are queued from the worker thread; one may arrive after its run has finished
        # (and shows the final result) or during a later run: it must change nothing.
        if run_number != self._run_number or not self.is_running:
            return
        self.progress_bar.setRange(0, max(total, 1))
        self.progress_bar.setValue(done)
        if not self._cancel.is_set():
            self._show(f"Evaluated {name} ({done} of {total})")
        # last: napari's progress bar may process events, and so run _on_finished, in here
        if self._napari_progress is not None:
            self._napari_progress.update(done - self._napari_progress.n)

    def _on_returned(self, returned: tuple[Any, dict[str, dict[str, Any]]]) -> None:
        self._outcome = returned

    def _on_finished(self) -> None:
        from napari_clickseg._widgets.evaluation_run import EvaluationCancelled, EvaluationFailed

        # A worker napari asked to quit finishes without returning anything.
        done = max(self.progress_bar.value(), 0)
        outcome, metas = self._outcome or (EvaluationCancelled(done), {})
        self._outcome = None
        self._worker = None
        self._set_running(False)
        if self._napari_progress is not None:
            self._napari_progress.close()
            self._napari_progress = None
        if isinstance(outcome, EvaluationFailed):
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)
            self._show(outcome.message, error=True)
        elif isinstance(outcome, EvaluationCancelled):
            self._show(f"Cancelled after {outcome.done} objects; no result.")
        else:
            self.metas = metas
            self._show_result(outcome)
        self.run_finished.emit()

    def _clear_result(self) -> None:
        self.result = None
        self.metas = {}
        self.summary.clear()
        self.plot.clear()
        self.table.set_rows([], OBJECT_COLUMNS)
        self.export_button.setEnabled(False)

    def _show_result(self, result: EvaluationResult) -> None:
        from napari_clickseg.engine.evaluation_report import result_rows

        self.result = result
        self.summary.setText(summary_text(result, self._skipped))
        self.plot.show_curve(result.summary.miou)
        self.table.set_rows(result_rows(result), OBJECT_COLUMNS)
        self.export_button.setEnabled(True)
        self._show("Done. Select a row to go to its slice.")

    def _go_to_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        meta = self.metas.get(self.table.row_data(rows[0].row())["object"], {})
        layer = next((x for x in self.viewer.layers if x.name == self._layer_name), None)
        if layer is None or meta.get("axis") is None:
            return
        go_to_slice(self.viewer, layer, meta["axis"], meta["slice"])

    def _ask_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export per-object results", "evaluation.csv", "CSV (*.csv)"
        )
        if path:
            try:
                self._show(f"Wrote {self.export_csv(path)}")
            except OSError as error:
                self._show(f"Could not write {path}: {error}", error=True)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.model_choice.setEnabled(not running)

    def _show(self, message: str, error: bool = False) -> None:
        self.status.setText(message)
        _error_style(self.status, error)
