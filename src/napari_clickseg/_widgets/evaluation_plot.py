"""The mIoU-against-clicks plot of the evaluation dock (matplotlib in Qt)."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = ["MiouPlot"]


class MiouPlot(FigureCanvasQTAgg):
    """mIoU after 1, 2, ... clicks, as :func:`engine.evaluation_report.plot_miou` draws it."""

    def __init__(self) -> None:
        figure = Figure(figsize=(3.6, 2.4), dpi=100, layout="tight")
        super().__init__(figure)
        self.axes = figure.add_subplot()
        self.setMinimumHeight(200)
        self.curve: tuple[float, ...] = ()
        self.clear()

    def clear(self) -> None:
        """An empty plot with its axes."""
        self.curve = ()
        self._axes_style()
        self.draw_idle()

    def show_curve(self, miou: Sequence[float], label: str = "") -> None:
        """Plot one mIoU curve (index k - 1 holds mIoU@k)."""
        self.curve = tuple(float(v) for v in miou)
        self._axes_style()
        clicks = range(1, len(self.curve) + 1)
        self.axes.plot(clicks, self.curve, marker="o", markersize=3, label=label or None)
        if label:
            self.axes.legend(loc="lower right", fontsize=8)
        self.draw_idle()

    def _axes_style(self) -> None:
        axes = self.axes
        axes.clear()
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel("clicks", fontsize=8)
        axes.set_ylabel("mIoU", fontsize=8)
        axes.set_ylim(0, 1)
        axes.tick_params(labelsize=7)
        axes.grid(alpha=0.3)
