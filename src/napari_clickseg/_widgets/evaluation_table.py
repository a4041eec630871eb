"""A read-only table of result rows (dicts), for the evaluation dock's per-object tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qtpy.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem, QWidget

__all__ = ["RowsTable"]


class RowsTable(QTableWidget):
    """Shows a list of dicts, one row each; the columns are chosen keys of the dicts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().setVisible(False)
        self.setMinimumHeight(120)
        self._rows: list[dict[str, Any]] = []

    def set_rows(self, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
        """Show ``rows``; ``columns`` are the keys shown, in order."""
        self._rows = list(rows)
        self.clear()
        self.setColumnCount(len(columns))
        self.setHorizontalHeaderLabels(list(columns))
        self.setRowCount(len(self._rows))
        for r, row in enumerate(self._rows):
            for c, key in enumerate(columns):
                self.setItem(r, c, QTableWidgetItem(_text(row.get(key, ""))))
        self.resizeColumnsToContents()

    def texts(self) -> list[list[str]]:
        """The shown cells, row by row."""
        return [
            [self.item(r, c).text() for c in range(self.columnCount())]
            for r in range(self.rowCount())
        ]

    def row_data(self, index: int) -> dict[str, Any]:
        """The full dict behind a shown row."""
        return self._rows[index]


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)
