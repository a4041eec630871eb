"""Running model work off the GUI thread, one job at a time, the newest click winning.

Every job (load a model, bring a slice's session to its clicks, choose a candidate, propagate)
runs in a worker thread, one after the other, so the engine objects are never used by two
threads at once and the GUI never waits. A job submitted with a key replaces a queued job with
the same key (a click made while a prediction runs supersedes the queued one), and the result
of a running job is dropped when a newer job with its key is already waiting: only the newest
state of a slice is ever shown. A running forward pass itself cannot be interrupted; it is at
most one prediction of delay. Once the runner's parent (the dock) is deleted, as when napari
closes while a job runs, outcomes are dropped: no callback touches a deleted widget.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from qtpy.QtCore import QObject, Signal


@dataclass
class Job:
    """A unit of work and what to do with its outcome (both callbacks run in the GUI thread)."""

    run: Callable[[], Any]
    on_done: Callable[[Any], None]
    on_error: Callable[[BaseException], None]
    key: Hashable | None = None
    description: str = ""


class JobRunner(QObject):
    """Runs :class:`Job` s in a worker thread, one at a time, newest-per-key first.

    Signals
    -------
    busy_changed(bool)
        True when work starts after idling, False when the queue runs empty.
    started(str)
        A job starts; its description.
    """

    busy_changed = Signal(bool)
    started = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: list[Job] = []
        self._running: Job | None = None
        self._worker: Any = None
        self._closed = False

    @property
    def idle(self) -> bool:
        """Whether nothing runs or waits."""
        return self._running is None and not self._queue

    @property
    def running_description(self) -> str:
        """What runs now ('' when idle)."""
        return self._running.description if self._running is not None else ""

    def submit(self, job: Job) -> None:
        """Queue a job; it replaces a queued job with the same key."""
        if self._closed:
            return
        if job.key is not None:
            self._queue = [queued for queued in self._queue if queued.key != job.key]
        self._queue.append(job)
        if self._running is None:
            self.busy_changed.emit(True)
            self._start_next()

    def cancel_pending(self) -> None:
        """Forget every queued job (the running one finishes; its result is still delivered)."""
        self._queue.clear()

    def close(self) -> None:
        """Stop taking jobs; queued ones are dropped, a running one finishes unseen."""
        self._closed = True
        self._queue.clear()

    # -- internals --------------------------------------------------------------------------
    def _alive(self) -> bool:
        """Whether the Qt side of this runner exists; it is deleted with its parent (the dock)
        when napari closes, maybe while a job still runs."""
        try:
            self.objectName()
        except RuntimeError:
            return False
        return True

    def _start_next(self) -> None:
        if not self._alive():
            self._closed = True
            self._queue.clear()
            self._running = None
            self._worker = None
            return
        if not self._queue or self._closed:
            self._running = None
            self._worker = None
            self.busy_changed.emit(False)
            return
        from napari.qt.threading import create_worker

        job = self._queue.pop(0)
        self._running = job
        # Errors reach job.on_error through "errored"; superqt must not re-raise them.
        worker = create_worker(job.run, _start_thread=False, _ignore_errors=True)
        worker.returned.connect(lambda result, job=job: self._deliver(job, result, None))
        worker.errored.connect(lambda error, job=job: self._deliver(job, None, error))
        worker.finished.connect(self._start_next)
        self._worker = worker
        self.started.emit(job.description)
        worker.start()

    def _superseded(self, job: Job) -> bool:
        return job.key is not None and any(queued.key == job.key for queued in self._queue)

    def _deliver(self, job: Job, result: Any, error: BaseException | None) -> None:
        # The callbacks update the dock's widgets: never once the dock is gone.
        if self._closed or not self._alive() or self._superseded(job):
            return
        if error is not None:
            job.on_error(error)
        else:
            job.on_done(result)
