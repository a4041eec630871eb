"""Turning a model choice into a predictor, without Qt (run in a worker thread).

:class:`ModelSpec` is a snapshot of what :class:`~napari_clickseg._widgets.model_choice.
ModelChoice` shows; :func:`build_predictor` loads the model it names (packaged, registry
download, checkpoint file, the classical baseline or a custom factory) and wraps it in a
predictor, with errors that say what failed and what to do. torch and the models are imported
only here, when a model is built, so napari starts fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: ``progress(done, total)``; ``total`` is 0 while unknown.
ProgressCallback = Callable[[int, int], None]


class ModelLoadError(RuntimeError):
    """The chosen model could not be loaded; the message says why and what to do."""


class GpuOutOfMemoryError(ModelLoadError):
    """The model does not fit in the GPU's memory."""


@dataclass(frozen=True)
class ModelSpec:
    """A snapshot of the user's choice, safe to hand to a worker thread.

    Attributes
    ----------
    kind : {'packaged', 'random_walker', 'registry', 'file', 'custom'}
        Where the model comes from.
    source : str
        File path or registry name ('' for the classical baseline and custom entries).
    label : str
        What the combo box shows.
    device : str
        'auto', 'cpu', 'cuda' or 'mps'.
    cfr_steps : int or None
        CFR-n: extra forward passes per click (0 disables CFR); None runs what the model's
        file recommends (:meth:`~napari_clickseg.engine.predictor.CFRSettings.recommended_for`).
    cfr_adaptive : bool
        With a number of steps: stop CFR early when the mask stops changing.
    with_flip : bool
        Average with the horizontally flipped input.
    precision : str
        'auto', 'float32' or 'bfloat16'
        (:func:`napari_clickseg.engine.device.resolve_precision`).
    factory : callable or None
        For 'custom' entries: ``factory(device) -> model or predictor``.
    """

    kind: str
    source: str
    label: str
    device: str = "auto"
    cfr_steps: int | None = None
    cfr_adaptive: bool = False
    with_flip: bool = True
    precision: str = "auto"
    factory: Callable[[Any], Any] | None = field(default=None, compare=False)

    @property
    def needs_weights(self) -> bool:
        """Whether this choice is a neural network (device, CFR and flip apply)."""
        return self.kind != "baseline"


def device_available(name: str) -> bool:
    """Whether a device name can be used on this machine ('auto' and 'cpu' always can)."""
    if name in ("auto", "cpu"):
        return True
    import torch

    if name == "cuda":
        return bool(torch.cuda.is_available())
    if name == "mps":
        from napari_clickseg.engine.device import mps_available

        return mps_available()
    return False


def registry_entries() -> list[tuple[str, str]]:
    """(name, 'cached' / 'download' / 'manual download') for every registered weights file."""
    from napari_clickseg.models.weights import KNOWN_WEIGHTS, cache_dir

    try:
        cache = cache_dir()
    except Exception:  # a broken cache setting must not break the dock
        cache = None
    entries = []
    for name, info in KNOWN_WEIGHTS.items():
        if cache is not None and (cache / info.filename).is_file():
            status = "cached"
        elif info.downloadable:
            status = "download"
        else:
            status = "manual download"
        entries.append((name, status))
    return entries


def build_predictor(spec: ModelSpec, progress: ProgressCallback | None = None) -> Any:
    """Load the model a :class:`ModelSpec` names and wrap it in a predictor.

    Parameters
    ----------
    spec : ModelSpec
        The choice.
    progress : callable, optional
        ``progress(bytes_done, bytes_total)`` while weights download.

    Returns
    -------
    Predictor or ClickBaseline

    Raises
    ------
    ModelLoadError
        With a message that says what failed and what to do.
    """
    if spec.kind == "baseline":
        from napari_clickseg.engine.baseline import ClickBaseline

        return ClickBaseline()

    avoid_llvm_clash()
    import torch

    from napari_clickseg.engine.device import autocast_dtype, select_device
    from napari_clickseg.engine.predictor import CFRSettings, Predictor

    try:
        device = select_device(spec.device)
    except ValueError as error:
        raise ModelLoadError(f"{error}; choose another device in the dock") from error
    try:
        autocast_dtype(spec.precision, device)
    except ValueError as error:
        raise ModelLoadError(f"{error}; choose another precision in the dock") from error
    try:
        model = _load_model(spec, device, progress)
        if not isinstance(model, torch.nn.Module):
            return model  # a factory that built a whole predictor
        return Predictor(
            model,
            device,
            with_flip=spec.with_flip and not _is_multi_candidate(model),
            cfr=None
            if spec.cfr_steps is None
            else CFRSettings(steps=spec.cfr_steps, adaptive=spec.cfr_adaptive),
            precision=spec.precision,
        )
    except torch.OutOfMemoryError as error:
        raise GpuOutOfMemoryError(
            f"{spec.label} does not fit in the memory of {device}: choose device 'cpu' "
            "(slower) or a smaller model"
        ) from error


def avoid_llvm_clash() -> bool:
    """Keep triton out of a napari process whose OpenGL already loaded Mesa's LLVM.

    timm imports torchvision, which imports ``torch._dynamo`` and with it triton. When napari
    draws with Mesa (software rendering, virtual displays, many VMs), Mesa's ``libLLVM`` is
    already loaded, and loading triton's own LLVM next to it crashes the whole process
    (segmentation fault, seen with Mesa's LLVM 15 and triton 3). The docks never compile
    kernels, so in that case triton is marked as absent and torch runs without it.

    Returns
    -------
    bool
        True when triton was blocked.
    """
    if "triton" in sys.modules:
        return False
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:  # not Linux: no Mesa LLVM clash known
        return False
    if "libLLVM" not in maps:
        return False
    sys.modules["triton"] = None  # type: ignore[assignment] - makes `import triton` fail
    return True


def _load_model(spec: ModelSpec, device: Any, progress: ProgressCallback | None) -> Any:
    from napari_clickseg.models.errors import CheckpointError, WeightsError

    if spec.kind == "custom":
        if spec.factory is None:
            raise ModelLoadError(f"model entry {spec.label!r} has no factory")
        return spec.factory(device)
    try:
        if spec.kind == "registry":
            from napari_clickseg.models.weights import resolve_weights

            path = resolve_weights(spec.source, progress=progress)
        else:
            path = Path(spec.source)
            if not path.is_file():
                raise ModelLoadError(
                    f"the checkpoint file {path} does not exist (moved or deleted?); choose "
                    "it again with 'Checkpoint file...'"
                )
        from napari_clickseg.models.checkpoints import load_model

        return load_model(path, device=device)
    except CheckpointError as error:
        raise ModelLoadError(f"the model {spec.label!r} failed to load: {error}") from error
    except WeightsError as error:
        raise ModelLoadError(f"the weights of {spec.label!r} are not available: {error}") from error
    except OSError as error:
        raise ModelLoadError(f"the model file of {spec.label!r} cannot be read: {error}") from error


def _is_multi_candidate(model: Any) -> bool:
    """Whether a model proposes several masks (flip averaging needs candidate matching)."""
    return int(getattr(getattr(model, "config", None), "num_queries", 1) or 1) > 1
