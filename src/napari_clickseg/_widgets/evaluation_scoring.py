"""The evaluation dock's "Score annotation" tab: IoU and Dice of a Labels layer against truth.

The numbers are :func:`napari_clickseg.engine.scoring.score_labels`'s: per object over the
chosen slices (a 3D score for a volume, e.g. a propagated object) and per slice; both tables
export to CSV.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from napari.layers import Labels
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from napari_clickseg._widgets.evaluation_layers import LayerCombo, go_to_slice
from napari_clickseg._widgets.evaluation_selection import SliceSelection
from napari_clickseg._widgets.evaluation_table import RowsTable
from napari_clickseg.engine.scoring import (
    ScoringResult,
    object_rows,
    score_labels,
    slice_rows,
    write_rows_csv,
)

__all__ = ["ScoreTab", "scoring_summary"]

#: Combo text -> ``match`` of :func:`score_labels`.
MATCH_CHOICES = {"same label id": "id", "largest overlap": "overlap"}
OBJECT_COLUMNS = ("object", "predicted_label", "iou", "dice", "mean_slice_dice", "slices")
SLICE_COLUMNS = ("object", "slice", "iou", "dice", "truth_pixels", "predicted_pixels")


def scoring_summary(result: ScoringResult) -> str:
    """The tab's summary line: mean IoU and Dice over objects, counts, unmatched labels."""
    text = (
        f"{len(result.objects)} objects: mean IoU {result.mean_iou:.4f}, "
        f"mean Dice {result.mean_dice:.4f}"
    )
    if result.unmatched:
        shown = ", ".join(str(v) for v in result.unmatched[:10])
        more = " ..." if len(result.unmatched) > 10 else ""
        text += f"\nPredicted labels matching no object: {shown}{more}"
    return text


class ScoreTab(QWidget):
    """Score a segmentation (Labels layer) against a ground-truth Labels layer.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer whose layers are used.
    """

    def __init__(self, viewer: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self.result: ScoringResult | None = None
        self._scored_layer = ""
        self.predicted_combo = LayerCombo(viewer, Labels)
        self.gt_combo = LayerCombo(viewer, Labels)
        self.match_combo = QComboBox()
        self.match_combo.addItems(list(MATCH_CHOICES))
        self.match_combo.setToolTip(
            "Compare each ground-truth object with the same predicted label, or with the "
            "predicted label that overlaps it most (annotations numbered differently)"
        )
        self.selection = SliceSelection()
        self.score_button = QPushButton("Score")
        self.status = QLabel("Choose a segmentation and its ground truth, then Score.")
        self.status.setWordWrap(True)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.object_table = RowsTable()
        self.slice_table = RowsTable()
        self.export_objects_button = QPushButton("Export objects CSV...")
        self.export_slices_button = QPushButton("Export slices CSV...")
        for button in (self.export_objects_button, self.export_slices_button):
            button.setEnabled(False)

        form = QFormLayout()
        form.addRow("Segmentation", self.predicted_combo)
        form.addRow("Ground truth", self.gt_combo)
        form.addRow("Match", self.match_combo)
        form.addRow(self.selection)
        exports = QHBoxLayout()
        exports.addWidget(self.export_objects_button)
        exports.addWidget(self.export_slices_button)
        layout = QVBoxLayout()
        layout.addLayout(form)
        for widget in (self.score_button, self.status, self.summary):
            layout.addWidget(widget)
        layout.addWidget(QLabel("Per object (over the chosen slices)"))
        layout.addWidget(self.object_table)
        layout.addWidget(QLabel("Per slice"))
        layout.addWidget(self.slice_table)
        layout.addLayout(exports)
        self.setLayout(layout)

        self.gt_combo.currentIndexChanged.connect(self._on_layers)
        self.selection.current.clicked.connect(
            lambda: self.selection.use_view(self.viewer, self.gt_combo.layer())
        )
        self.score_button.clicked.connect(self.score)
        self.export_objects_button.clicked.connect(lambda: self._ask_export("objects"))
        self.export_slices_button.clicked.connect(lambda: self._ask_export("slices"))
        self.slice_table.itemSelectionChanged.connect(self._go_to_selected)
        self._on_layers()

    def score(self) -> ScoringResult | None:
        """Score with the current choices; None (and a message) if they are wrong."""
        predicted, gt = self.predicted_combo.layer(), self.gt_combo.layer()
        try:
            if predicted is None or gt is None:
                raise ValueError(
                    "Two Labels layers are needed: the segmentation to score and the ground truth."
                )
            if predicted is gt:
                raise ValueError("The segmentation and the ground truth are the same layer.")
            axis, slices, labels = self.selection.selection()
            result = score_labels(
                np.asarray(predicted.data),
                np.asarray(gt.data),
                axis=axis,
                slices=slices,
                labels=labels,
                match=MATCH_CHOICES[self.match_combo.currentText()],
            )
        except ValueError as error:
            self._show(str(error), error=True)
            return None
        self.result = result
        self._scored_layer = gt.name
        self.summary.setText(scoring_summary(result))
        self.object_table.set_rows(object_rows(result), OBJECT_COLUMNS)
        self.slice_table.set_rows(slice_rows(result), SLICE_COLUMNS)
        for button in (self.export_objects_button, self.export_slices_button):
            button.setEnabled(True)
        self._show(f"Scored {predicted.name!r} against {gt.name!r}.")
        return result

    def export_csv(self, path: str | Path, table: str = "objects") -> Path:
        """Write the per-object (``"objects"``) or per-slice (``"slices"``) CSV atomically."""
        if self.result is None:
            raise ValueError("No scores to export yet: press Score first.")
        if table not in ("objects", "slices"):
            raise ValueError(f"table must be 'objects' or 'slices', got {table!r}")
        rows = object_rows(self.result) if table == "objects" else slice_rows(self.result)
        return write_rows_csv(rows, path)

    def _on_layers(self, *_: Any) -> None:
        gt = self.gt_combo.layer()
        if gt is not None:
            self.selection.set_shape(tuple(gt.data.shape))

    def _go_to_selected(self) -> None:
        rows = self.slice_table.selectionModel().selectedRows()
        layer = next((x for x in self.viewer.layers if x.name == self._scored_layer), None)
        if not rows or layer is None or self.result is None or self.result.axis is None:
            return
        index = self.slice_table.row_data(rows[0].row())["slice"]
        go_to_slice(self.viewer, layer, self.result.axis, index)

    def _ask_export(self, table: str) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export per-{table[:-1]} scores", f"scores_{table}.csv", "CSV (*.csv)"
        )
        if path:
            try:
                self._show(f"Wrote {self.export_csv(path, table)}")
            except OSError as error:
                self._show(f"Could not write {path}: {error}", error=True)

    def _show(self, message: str, error: bool = False) -> None:
        self.status.setText(message)
        self.status.setStyleSheet("color: #e06c60;" if error else "")
