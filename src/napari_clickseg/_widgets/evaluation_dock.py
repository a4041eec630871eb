"""The evaluation dock: a model's NoC evaluation on napari layers, and scoring of annotations.

Tab "Evaluate model": :mod:`~napari_clickseg._widgets.evaluation_tab`.
Tab "Score annotation": see :mod:`~napari_clickseg._widgets.evaluation_scoring`.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QSize, Qt, QTimer
from qtpy.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from napari_clickseg._widgets.evaluation_scoring import ScoreTab
from napari_clickseg._widgets.evaluation_tab import OBJECT_COLUMNS, EvaluateTab, summary_text

__all__ = ["OBJECT_COLUMNS", "EvaluateTab", "EvaluationDock", "summary_text"]

#: Least height (pixels) the dock needs to be usable (the layer, channel and model rows and the
#: first selection rows). napari gives a dock with a scroll area only its minimum (about 100 px)
#: when a taller dock shares its side of the window; the dock then joins that dock by tabs.
MIN_VISIBLE_HEIGHT = 360


class _VerticalScroll(QScrollArea):
    """Scrolls a widget vertically only, never narrower than the widget needs."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setWidget(widget)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        # asked at layout time, after fonts and styles are known
        hint = super().minimumSizeHint()
        scrollbar = self.verticalScrollBar().sizeHint().width()
        width = self.widget().minimumSizeHint().width() + scrollbar + 2 * self.frameWidth()
        return QSize(width, hint.height())


class EvaluationDock(QWidget):
    """The evaluation dock widget (npe2 contribution): evaluate a model, score an annotation.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        Injected by napari.
    """

    def __init__(self, napari_viewer: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.evaluate_tab = EvaluateTab(napari_viewer)
        self.score_tab = ScoreTab(napari_viewer)
        self.tabs = QTabWidget()
        self.tabs.addTab(_VerticalScroll(self.evaluate_tab), "Evaluate model")
        self.tabs.addTab(_VerticalScroll(self.score_tab), "Score annotation")
        layout = QVBoxLayout()
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.setLayout(layout)
        self._shared_by_tabs = False
        # checked once the window's layout has settled after a resize
        self._room_check = QTimer(self)
        self._room_check.setSingleShot(True)
        self._room_check.setInterval(0)
        self._room_check.timeout.connect(self._make_room)

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._room_check.start()

    def _make_room(self) -> None:
        """Join the tallest dock on the same side by tabs when squeezed below a usable height.

        Done once: a user who then drags the docks apart keeps that layout.
        """
        if self._shared_by_tabs or not self.isVisible() or self.height() >= MIN_VISIBLE_HEIGHT:
            return
        dock = self.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        window = dock.parentWidget() if dock is not None else None
        if not isinstance(window, QMainWindow) or dock.isFloating():
            return
        if window.tabifiedDockWidgets(dock):
            return  # already one of several tabs
        area = window.dockWidgetArea(dock)
        others = [
            other
            for other in window.findChildren(QDockWidget)
            if other is not dock
            and other.isVisible()
            and not other.isFloating()
            and window.dockWidgetArea(other) == area
        ]
        if not others:
            return
        self._shared_by_tabs = True
        window.tabifyDockWidget(max(others, key=lambda other: other.height()), dock)
        dock.show()
        dock.raise_()
