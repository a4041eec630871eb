"""The annotation dock's model and per-slice sessions: load the chosen model, keep the sessions.

:class:`ModelKeeper` loads the model the :class:`~napari_clickseg._widgets.model_choice.
ModelChoice` names in a job (falling back to the CPU when the GPU runs out of memory) and keeps
one :class:`~napari_clickseg.engine.slice_sessions.SliceSessions` for the current object, made
anew when the model, the input channels or the object change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_clickseg._widgets.annotation_layers import NO_IMAGE
from napari_clickseg._widgets.inference_worker import Job
from napari_clickseg._widgets.model_choice import GpuOutOfMemoryError

if TYPE_CHECKING:
    from napari_clickseg._widgets.annotation_dock import AnnotationDock


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` says the device ran out of memory."""
    if isinstance(error, GpuOutOfMemoryError):
        return True
    return type(error).__name__ == "OutOfMemoryError" or "out of memory" in str(error)


class ModelKeeper:
    """The predictor, the model input (channels) and the sessions of the current object.

    Parameters
    ----------
    dock : AnnotationDock
        The dock (its runner, model choice, channel map, layers and messages).
    on_restart : callable
        Called with no argument after the sessions were made anew (clicks are replayed).
    """

    def __init__(self, dock: AnnotationDock, on_restart: Callable[[], None]) -> None:
        self.dock = dock
        self.predictor: Any = None
        self.sessions: Any = None
        self.model_input: Any = None
        self._on_restart = on_restart

    def load(self, *_: Any) -> None:
        """Load the chosen model in a job."""
        choice = self.dock.model_choice
        spec = choice.spec
        self.dock.say(f"Loading {spec.label} ...")
        progress = self.dock.download_progress.emit

        def run() -> Any:
            return choice.build_predictor(progress, spec)

        self.dock.runner.submit(
            Job(run, self._loaded, self._failed, key="model", description=f"loading {spec.label}")
        )

    def _loaded(self, predictor: Any) -> None:
        self.predictor = predictor
        device = getattr(predictor, "device", "cpu")
        missing = "" if self.dock.image_layer is not None else f" {NO_IMAGE}"
        self.dock.say(f"Model ready: {self.dock.model_choice.spec.label} on {device}.{missing}")
        self.restart()

    def _failed(self, error: BaseException) -> None:
        self.predictor = None
        self.sessions = None
        choice = self.dock.model_choice
        if is_out_of_memory(error) and choice.spec.device != "cpu":
            self.dock.say(f"{error} Switching to the CPU.", "warning")
            choice.set_device("cpu")
            return
        self.dock.say(f"The model could not be loaded: {error}", "error")

    def prediction_failed(self, error: BaseException) -> None:
        """Report a failed prediction; out of GPU memory switches to the CPU."""
        choice = self.dock.model_choice
        if is_out_of_memory(error) and choice.spec.device != "cpu":
            self.dock.say(
                "The GPU ran out of memory: switching to the CPU (slower). Try a smaller "
                "model or image to stay on the GPU.",
                "warning",
            )
            choice.set_device("cpu")
            return
        self.dock.say(f"Prediction failed: {error}", "error")

    def channels_changed(self, *_: Any) -> None:
        """Read the channel table again and restart the sessions with it."""
        if self.dock.image_layer is None:
            return
        try:
            self.model_input = self.dock.channel_map.model_input()
        except ValueError as error:
            self.dock.say(str(error), "warning")
            return
        self.restart()

    def restart(self) -> None:
        """New predictor or new input channels: start the sessions afresh and replay clicks."""
        from napari_clickseg.engine.slice_sessions import SliceSessions

        if self.predictor is None or self.model_input is None:
            self.sessions = None
        else:
            model_input, current, plane = self.model_input, self.dock.current_layer, self.dock.plane
            self.sessions = SliceSessions(
                self.predictor,
                lambda key: model_input.image(plane(key[0]), key[1]),
                lambda key: (
                    None
                    if current is None
                    else np.asarray(current.data[plane(key[0]).slicer(key[1])]) > 0
                ),
            )
        self._on_restart()

    def new_object(self) -> None:
        """Fresh sessions with the same predictor and images (the next object)."""
        if self.sessions is not None:
            from napari_clickseg.engine.slice_sessions import SliceSessions

            old = self.sessions
            self.sessions = SliceSessions(old.predictor, old._image_for_slice, old._prior_for_slice)
