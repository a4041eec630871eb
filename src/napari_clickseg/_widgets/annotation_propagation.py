"""Propagating the current object through the volume from the annotated slices.

The dock's "Propagate" button runs :func:`napari_clickseg.engine.propagation.propagate` in a
job, with a napari progress bar; pressed again it cancels. Only the slices propagation wrote
change in the current-object layer, in one step that Ctrl+Z undoes.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QObject, Signal

from napari_clickseg._widgets.inference_worker import Job
from napari_clickseg._widgets.layer_geometry import GeometryError
from napari_clickseg.engine.planes import Plane

if TYPE_CHECKING:
    from napari_clickseg._widgets.annotation_dock import AnnotationDock


class _ProgressRelay(QObject):
    """Carries ``progress(done, total)`` calls from a worker thread to the GUI thread."""

    step = Signal(int, int)


def _advance(bar: Any, done: int, total: int) -> None:
    """Move a napari progress bar to ``done`` of ``total``."""
    if total and bar.total != total:
        bar.total = total
    bar.update(max(0, done - bar.n))


class Propagation:
    """Starts, cancels and writes back one propagation at a time.

    Parameters
    ----------
    dock : AnnotationDock
        The dock (its layers, model, runner, propagation widgets and messages).
    """

    def __init__(self, dock: AnnotationDock) -> None:
        self.dock = dock
        self._stop: threading.Event | None = None
        #: Name of the image propagation ran on, once that image was let go meanwhile.
        self._lost_image: str | None = None

    @property
    def running(self) -> bool:
        """Whether a propagation runs."""
        return self._stop is not None

    def image_detached(self, name: str) -> None:
        """The image ``name`` was removed (or another chosen): stop, write nothing."""
        if self._stop is not None:
            self._lost_image = name
            self._stop.set()

    def start_or_cancel(self) -> None:
        """The button: start a propagation, or cancel the running one."""
        if self._stop is not None:
            self.cancel()
            return
        self.start()

    def cancel(self) -> None:
        """Stop the running propagation after the slice it is on (what was done is kept)."""
        if self._stop is not None:
            self._stop.set()

    def start(self, mode: str | None = None) -> None:
        """Propagate the current object from its annotated slices through the volume."""
        from napari_clickseg.engine.propagation import PropagationSettings, propagate

        dock = self.dock
        if dock.current_layer is None or dock.sessions is None:
            dock.say("Load an image and a model first.", "warning")
            return
        try:
            plane, _ = dock.click_sync.viewed()
        except GeometryError as error:
            dock.say(str(error), "warning")
            return
        if plane.axis is None:
            dock.say("Propagation needs a 3D volume.", "warning")
            return
        seed = np.asarray(dock.current_layer.data) > 0
        if not seed.any():
            dock.say("Annotate the object on at least one slice before propagating.")
            return
        settings = PropagationSettings(mode=mode or dock.propagation_mode.currentText())
        canonical = Plane.canonical(3, plane.axis)
        model_input, predictor, sessions = dock.model_input, dock.predictor, dock.sessions
        stop = threading.Event()
        self._stop = stop
        dock.propagate_button.setText("Cancel propagation")
        from napari.utils import progress

        bar = progress(total=plane.slice_count(seed.shape), desc="propagating")
        updates = _ProgressRelay(dock)
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
            if not self._end():
                self._write(result, seed)

        def failed(error: BaseException) -> None:
            bar.close()
            if not self._end():
                dock.say(f"Propagation failed: {error}", "error")

        dock.runner.submit(Job(run, done, failed, description="propagating"))

    def _end(self) -> bool:
        """Back to idle; True (with a message) when the image was let go meanwhile."""
        self._stop = None
        self.dock.propagate_button.setText("Propagate")
        lost, self._lost_image = self._lost_image, None
        if lost is not None:
            self.dock.say(
                f"Propagation stopped: the image layer {lost!r} was removed (or another image "
                "chosen) while propagating; nothing was written.",
                "warning",
            )
        return lost is not None

    def _write(self, result: Any, seed: np.ndarray) -> None:
        # Only slices propagation wrote change; the annotated (seed) slices stay as they are.
        new = result.mask & ~seed
        current = self.dock.current_layer
        if current is None or not new.any():
            self.dock.say(
                "Propagation cancelled before it added a slice."
                if result.cancelled
                else "Propagation added nothing (the object did not continue)."
            )
            return
        with current.block_history():
            current.data_setitem(np.nonzero(new), 1)
        how = "cancelled after" if result.cancelled else "done:"
        self.dock.say(
            f"Propagation {how} {len(result.written)} slice(s) added "
            "(Ctrl+Z with the current object layer selected undoes it)."
        )
