"""The dock's busy state: while a job runs the status says what runs, a bar moves, and
propagation (the one job that can stop part-way) offers Cancel.

A running forward pass cannot be interrupted (see
:mod:`~napari_clickseg._widgets.inference_worker`), so clicks, candidates and model loading
show the busy state without Cancel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from napari_clickseg._widgets.inference_worker import JobRunner


class BusyDisplay:
    """Shows the runner's work in the dock's status line, busy bar and Cancel button.

    Parameters
    ----------
    runner : JobRunner
        The dock's job runner.
    panel : AnnotationPanel
        Its ``status``, ``busy_bar`` and ``cancel_button`` are used.
    can_cancel : callable
        ``can_cancel()`` tells whether the running work can be cancelled.
    when_idle : callable
        Called when the work is done and the status still shows the busy text (so the
        status can show the viewed slice again).
    """

    def __init__(
        self,
        runner: JobRunner,
        panel: Any,
        can_cancel: Callable[[], bool],
        when_idle: Callable[[], None],
    ) -> None:
        self.panel = panel
        self._can_cancel = can_cancel
        self._when_idle = when_idle
        self._text = ""
        runner.started.connect(self._started)
        runner.busy_changed.connect(self._busy_changed)

    @property
    def busy_text(self) -> str:
        """The status text shown for the running job ('' when idle)."""
        return self._text

    def _started(self, description: str) -> None:
        self._text = f"Working: {description or 'computing'} ..."
        self.panel.status.setText(self._text)
        self.panel.busy_bar.show()
        self.panel.cancel_button.setVisible(self._can_cancel())

    def _busy_changed(self, busy: bool) -> None:
        if busy:
            return
        self.panel.busy_bar.hide()
        self.panel.cancel_button.hide()
        showing_busy = self.panel.status.text() == self._text
        self._text = ""
        if showing_busy:
            self._when_idle()
