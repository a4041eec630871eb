"""Choosing the compute device and precision."""

from __future__ import annotations

import torch

#: Precisions a predictor can run in; the reduced ones use autocast and need a GPU.
PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}


def mps_available() -> bool:
    """Whether Apple's Metal backend can be used."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def select_device(requested: str | torch.device | None = None) -> torch.device:
    """The device to run on: CUDA, then Apple MPS, then CPU, or what the caller names.

    Parameters
    ----------
    requested : str or torch.device, optional
        'cuda', 'cuda:1', 'mps', 'cpu' or None for the best available.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If the requested device is not available on this machine.
    """
    if requested is None or str(requested) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(requested)
    except RuntimeError as error:
        raise ValueError(
            f"unknown device {requested!r}; use 'cuda', 'cuda:N', 'mps', 'cpu' or 'auto'"
        ) from error
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' was requested but no CUDA GPU is available here")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {device} was requested but only {torch.cuda.device_count()} "
                "CUDA device(s) exist"
            )
    if device.type == "mps" and not mps_available():
        raise ValueError("device 'mps' was requested but Apple's Metal backend is not available")
    return device


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for a precision name, checked against the device.

    Parameters
    ----------
    precision : {'float32', 'bfloat16', 'float16'}
        Requested precision.
    device : torch.device
        Where the model runs.

    Returns
    -------
    torch.dtype or None
        None for plain float32.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    dtype = PRECISIONS[precision]
    if dtype is not None and device.type != "cuda":
        raise ValueError(
            f"precision {precision!r} needs a CUDA GPU; on {device.type} use 'float32'"
        )
    return dtype
