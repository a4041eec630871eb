"""The resumable training state: one ``torch.save`` file, written atomically.

It holds the model weights and config, the optimiser, scheduler and gradient-scaler states,
the position in the run (epoch, optimiser step, micro-batches done in the epoch), the random
number generator states (Python, NumPy, torch CPU and CUDA) and the metric history. Everything
in it is a tensor or a plain container of numbers and strings, so it loads with
``torch.load(weights_only=True)``: a state file cannot run code.

The trained model itself is saved separately in the project's format
(:func:`napari_clickseg.models.checkpoints.save_model`).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "STATE_FORMAT",
    "capture_rng_state",
    "load_training_state",
    "restore_rng_state",
    "save_training_state",
]

STATE_FORMAT = "napari-clickseg-training-state/1"


def capture_rng_state() -> dict[str, Any]:
    """The global random generators' states (Python, NumPy, torch CPU, CUDA devices)."""
    version, internal, gauss = random.getstate()
    name, keys, position, has_gauss, cached = np.random.get_state()
    state = {
        "python": [version, list(internal), gauss],
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = state["cuda"]
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.cpu() for s in cuda_states])


def save_training_state(path: str | Path, state: dict[str, Any]) -> Path:
    """Write a training state atomically (a ``.partial`` file renamed over the target).

    Parameters
    ----------
    path : str or Path
        Target file.
    state : dict
        Tensors and plain containers only (see the module docstring).

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save({"format": STATE_FORMAT, **state}, partial)
    partial.replace(path)
    return path


def load_training_state(path: str | Path) -> dict[str, Any]:
    """Read a file written by :func:`save_training_state` (tensors on the CPU).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it is not a training state of this project.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"training state not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle and zip errors of every kind
        raise ValueError(
            f"{path} is not a readable training state (expected a file written by "
            f"'clickseg train', e.g. <output_dir>/checkpoints/last.pt): {error}"
        ) from error
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise ValueError(
            f"{path} is not a napari-clickseg training state (format {STATE_FORMAT!r}); to "
            "fine-tune from model weights, name them in the config's model.init instead"
        )
    return state
