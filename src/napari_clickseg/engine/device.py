"""Choosing the compute device and precision."""

from __future__ import annotations

import torch

#: Precisions a predictor can run in; the reduced ones use autocast.
PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}

#: Names a caller may ask for: the precisions, and 'auto' (see :func:`resolve_precision`).
PRECISION_CHOICES = ("auto", *PRECISIONS)


def cpu_has_native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (AMX or AVX512-BF16).

    Without such units PyTorch emulates bfloat16 on the CPU and it runs slower than float32.
    """
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    for name in probes:
        probe = getattr(torch.cpu, name, None)
        try:
            if probe is not None and probe():
                return True
        except RuntimeError:  # a build without the CPU feature checks
            continue
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """The precision a request means on a device.

    Parameters
    ----------
    precision : {'auto', 'float32', 'bfloat16', 'float16'}
        'auto' is bfloat16 where the hardware computes in it (a CUDA GPU that supports it, a
        CPU with AMX or AVX512-BF16) and float32 elsewhere (MPS, older CPUs and GPUs).
    device : torch.device
        Where the model runs.

    Returns
    -------
    str
        One of :data:`PRECISIONS`.
    """
    if precision not in PRECISION_CHOICES:
        raise ValueError(
            f"precision must be one of {', '.join(PRECISION_CHOICES)}, got {precision!r}"
        )
    if precision != "auto":
        return precision
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return "bfloat16"
    if device.type == "cpu" and cpu_has_native_bfloat16():
        return "bfloat16"
    return "float32"


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
    precision : {'auto', 'float32', 'bfloat16', 'float16'}
        Requested precision (see :func:`resolve_precision`).
    device : torch.device
        Where the model runs.

    Returns
    -------
    torch.dtype or None
        None for plain float32.

    Raises
    ------
    ValueError
        For an unknown name, float16 off a CUDA GPU, and bfloat16 on MPS or on a CPU without
        bfloat16 hardware (it would be slower than float32 there).
    """
    precision = resolve_precision(precision, device)
    dtype = PRECISIONS[precision]
    if dtype is None or device.type == "cuda":
        return dtype
    if precision == "bfloat16" and device.type == "cpu":
        if not cpu_has_native_bfloat16():
            raise ValueError(
                "precision 'bfloat16' on this CPU would be emulated and slower than float32: "
                "it has neither AMX nor AVX512-BF16; use 'float32' or 'auto'"
            )
        return dtype
    raise ValueError(
        f"precision {precision!r} needs a CUDA GPU"
        + (" or a CPU with bfloat16 hardware" if precision == "bfloat16" else "")
        + f"; on {device.type} use 'float32' or 'auto'"
    )
