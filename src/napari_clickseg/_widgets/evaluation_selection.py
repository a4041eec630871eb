"""Which slices and objects to use: sliced axis, slice range and label ids (a small form)."""

from __future__ import annotations

from typing import Any

import numpy as np
from qtpy.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from napari_clickseg._widgets.evaluation_objects import parse_labels

__all__ = ["SliceSelection"]


class SliceSelection(QWidget):
    """Sliced axis, first and last slice, and object ids ("all" or "1, 3, 5-7").

    The range is inclusive. For a 2D image the axis and range are disabled (one slice).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.axis = QSpinBox()
        self.axis.setRange(0, 2)
        self.axis.setToolTip("Array axis the 2D slices are cut along (napari's slider axis)")
        self.first = QSpinBox()
        self.last = QSpinBox()
        for spin, what in ((self.first, "First"), (self.last, "Last")):
            spin.setToolTip(f"{what} slice used (inclusive)")
        self.current = QPushButton("current view")
        self.current.setToolTip("Use the viewer's slider axis and only its current slice")
        self.ids = QLineEdit("all")
        self.ids.setToolTip("Ground-truth label ids: 'all' or ids and ranges like '1, 3, 5-7'")

        axis_row = QHBoxLayout()
        axis_row.setContentsMargins(0, 0, 0, 0)
        axis_row.addWidget(self.axis)
        axis_row.addWidget(self.current)
        range_row = QHBoxLayout()
        range_row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.first, QLabel("to"), self.last):
            range_row.addWidget(widget)

        layout = QFormLayout()
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addRow("Sliced axis", _row(axis_row))
        layout.addRow("Slices", _row(range_row))
        layout.addRow("Objects", self.ids)
        self.setLayout(layout)
        self._shape: tuple[int, ...] = ()
        self.axis.valueChanged.connect(lambda _: self._update_range(full=True))

    def set_shape(self, shape: tuple[int, ...]) -> None:
        """Adapt to the spatial shape of the chosen layers (2D or 3D); keeps a valid range."""
        if tuple(shape) == self._shape:
            return
        self._shape = tuple(shape)
        volume = len(self._shape) == 3
        for widget in (self.axis, self.first, self.last, self.current):
            widget.setEnabled(volume)
        self._update_range(full=True)

    def use_view(self, viewer: Any, layer: Any) -> None:
        """Set the axis to the viewer's slider axis and the range to its current slice."""
        if len(self._shape) != 3 or layer is None:
            return
        sliders = [d for d in viewer.dims.not_displayed if d >= viewer.dims.ndim - layer.ndim]
        if not sliders:
            return
        offset = viewer.dims.ndim - layer.ndim
        axis = sliders[-1] - offset
        index = int(np.round(layer.world_to_data(viewer.dims.point)[axis]))
        self.axis.setValue(axis)
        index = min(max(index, 0), self._shape[axis] - 1)
        self.first.setValue(index)
        self.last.setValue(index)

    def selection(self) -> tuple[int, list[int], tuple[int, ...] | None]:
        """(axis, slice indices, label ids or None for all).

        Raises
        ------
        ValueError
            For an empty range or unreadable ids.
        """
        labels = parse_labels(self.ids.text())
        if len(self._shape) != 3:
            return 0, [0], labels
        first, last = self.first.value(), self.last.value()
        if last < first:
            raise ValueError(f"the slice range is empty: first slice {first} is after last {last}")
        return self.axis.value(), list(range(first, last + 1)), labels

    def _update_range(self, full: bool = False) -> None:
        if len(self._shape) != 3:
            self.first.setRange(0, 0)
            self.last.setRange(0, 0)
            return
        top = self._shape[self.axis.value()] - 1
        self.first.setRange(0, top)
        self.last.setRange(0, top)
        if full or self.last.value() > top:
            self.first.setValue(0)
            self.last.setValue(top)


def _row(layout: QHBoxLayout) -> QWidget:
    widget = QWidget()
    widget.setLayout(layout)
    return widget
