"""The network calls of a predictor, eager or through ``torch.compile``.

A compiled network is traced once per input shape. ZoomIn already resizes every crop to the
model's input size, so the only shape that moves from click to click is the points tensor
(B, 2M, 3); its rows are padded with unused clicks (-1, -1, -1) up to a multiple of
:data:`CLICK_BUCKET`, so a new trace is needed only every 8 clicks of one sign. Unused rows
change nothing: every model ignores them (they draw no disk, and PiClick masks their tokens).

``mode="reduce-overhead"`` is PyTorch's CUDA-graph mode: the graph's output buffers are reused
by the next call, so the outputs are copied out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

#: ``torch.compile`` modes a predictor accepts ('reduce-overhead' uses CUDA graphs on a GPU).
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune")

#: The compiler backend (tests use a lighter one that skips code generation).
COMPILE_BACKEND = "inductor"

#: Click rows of a compiled network's points tensor come in multiples of this (per sign).
CLICK_BUCKET = 8


@dataclass(frozen=True)
class NetworkCalls:
    """The three ways a predictor calls its network.

    Attributes
    ----------
    forward : callable
        ``forward(image, prev_mask, points)``.
    encode_image : callable
        ``encode_image(image)``, the click-independent part.
    decode : callable
        ``decode(encoding, prev_mask, points)``.
    clicks_per_sign : int
        The points tensor's positive (and negative) rows are padded to a multiple of this.
    copy_outputs : bool
        Whether outputs must be copied before the next call (CUDA graphs reuse them).
    """

    forward: Callable[..., Any]
    encode_image: Callable[..., Any]
    decode: Callable[..., Any]
    clicks_per_sign: int = 1
    copy_outputs: bool = False


def network_calls(model: torch.nn.Module, compile_mode: str | None = None) -> NetworkCalls:
    """Eager or compiled calls of a click-segmentation model.

    Parameters
    ----------
    model : ClickSegModel
        The network (on its device, in eval mode).
    compile_mode : str or None
        None for eager PyTorch, or one of :data:`COMPILE_MODES`.

    Returns
    -------
    NetworkCalls

    Raises
    ------
    ValueError
        For an unknown mode.
    """
    if compile_mode is None:
        return NetworkCalls(model, model.encode_image, model.decode)
    if compile_mode not in COMPILE_MODES:
        raise ValueError(
            f"compile mode must be None or one of {', '.join(COMPILE_MODES)}, got {compile_mode!r}"
        )

    # modes are inductor's; another backend (the tests') takes none
    mode = compile_mode if COMPILE_BACKEND == "inductor" else None

    def compiled(function: Callable[..., Any]) -> Callable[..., Any]:
        return torch.compile(function, mode=mode, dynamic=False, backend=COMPILE_BACKEND)

    return NetworkCalls(
        forward=compiled(model),
        encode_image=compiled(model.encode_image),
        decode=compiled(model.decode),
        clicks_per_sign=CLICK_BUCKET,
        copy_outputs=compile_mode == "reduce-overhead",
    )
