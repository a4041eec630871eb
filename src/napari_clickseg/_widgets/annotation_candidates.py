"""Cycling through a model's mask candidates on the viewed slice (PiClick; keys J and K)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from napari_clickseg._widgets.inference_worker import Job

if TYPE_CHECKING:
    from napari_clickseg._widgets.annotation_dock import AnnotationDock


def step_candidate(dock: AnnotationDock, step: int) -> None:
    """Show the candidate ``step`` places after the shown one (wrapping around).

    Parameters
    ----------
    dock : AnnotationDock
        The dock; its click sync knows the candidates shown on each slice.
    step : int
        +1 for the next candidate, -1 for the previous one.
    """
    sync = dock.click_sync
    key = sync.current_key()
    sessions = dock.sessions
    if key is None or key not in sync.candidates or sessions is None:
        return
    selected, total, scores = sync.candidates[key]
    if total < 2:
        dock.say("This model gives one mask per click; there are no candidates to cycle.")
        return
    choice = (selected + step) % total
    # Key presses faster than the worker step from the candidate asked for last.
    sync.candidates[key] = (choice, total, scores)
    generation = sync.generation

    def run() -> Any:
        prediction = sessions.select_candidate(key, choice)
        return key, generation, prediction, prediction.mask

    dock.runner.submit(
        Job(
            run,
            sync.show_prediction,
            dock.models.prediction_failed,
            key=("slice", key),
            description="choosing a candidate",
        )
    )
