"""The model, device and inference settings, as one reusable widget.

Both docks (annotation and evaluation) use :class:`ModelChoice`. It only records the user's
choice; :meth:`ModelChoice.build_predictor` turns the choice into a predictor and is meant to
run in a worker thread, since loading (and perhaps downloading) a model takes time. torch and
the models are imported only there, so napari starts fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

#: ``progress(done, total)``; ``total`` is 0 while unknown.
ProgressCallback = Callable[[int, int], None]

RANDOM_WALKER_LABEL = "Random walker (no weights)"
CHECKPOINT_FILE_LABEL = "Checkpoint file..."
DEVICES = ("auto", "cpu", "cuda", "mps")
#: (name, combo text) of the precisions the dock offers.
PRECISION_ENTRIES = (
    ("auto", "auto precision"),
    ("float32", "float32 (exact)"),
    ("bfloat16", "bfloat16"),
)

NO_DEFAULT_MODEL_NOTE = (
    "The shipped default model is missing from this installation (reinstall napari-clickseg): "
    "the random walker (no weights) is the default. Choose a SimpleClick / iCMFormer / PiClick "
    "checkpoint for better masks."
)


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
        File path or registry name ('' for the random walker and custom entries).
    label : str
        What the combo box shows.
    device : str
        'auto', 'cpu', 'cuda' or 'mps'.
    cfr_steps : int
        CFR-n: extra forward passes per click (0 disables CFR).
    cfr_adaptive : bool
        Stop CFR early when the mask stops changing.
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
    cfr_steps: int = 0
    cfr_adaptive: bool = False
    with_flip: bool = True
    precision: str = "auto"
    factory: Callable[[Any], Any] | None = field(default=None, compare=False)

    @property
    def needs_weights(self) -> bool:
        """Whether this choice is a neural network (device, CFR and flip apply)."""
        return self.kind != "random_walker"


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


class ModelChoice(QWidget):
    """Model, device, precision, CFR and flip settings.

    Signals
    -------
    changed
        Emitted whenever any part of the choice changes.

    Parameters
    ----------
    parent : QWidget, optional
        Qt parent.
    precision : {'auto', 'float32', 'bfloat16'}
        The precision chosen at first: 'auto' for annotation (fast where the hardware allows),
        'float32' where results must match the papers' protocol exactly.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None, precision: str = "auto") -> None:
        super().__init__(parent)
        self._entries: list[ModelSpec] = []
        self._previous_index = 0

        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Which network turns clicks into a mask")
        self.device_combo = QComboBox()
        self.device_combo.setToolTip("Where the network runs; auto = CUDA, then MPS, then CPU")
        self.precision_combo = QComboBox()
        for name, text in PRECISION_ENTRIES:
            self.precision_combo.addItem(text, name)
        self.precision_combo.setToolTip(
            "float32 is the official, exact path; bfloat16 is 2-4x faster on GPUs and on CPUs "
            "with AMX or AVX512-BF16, with masks that differ at a few edge pixels; auto picks "
            "bfloat16 where the hardware has it"
        )
        self.cfr_steps = QSpinBox()
        self.cfr_steps.setRange(0, 20)
        self.cfr_steps.setToolTip("CFR-n: extra forward passes feeding the mask back (0 = off)")
        self.cfr_adaptive = QCheckBox("adaptive")
        self.cfr_adaptive.setToolTip("Stop CFR once at most 20 pixels change between passes")
        self.flip = QCheckBox("flip averaging")
        self.flip.setChecked(True)
        self.flip.setToolTip("Average with the mirrored image (official evaluation setting)")
        self.note = QLabel()
        self.note.setWordWrap(True)

        cfr_row = QHBoxLayout()
        cfr_row.setContentsMargins(0, 0, 0, 0)
        cfr_row.addWidget(self.cfr_steps)
        cfr_row.addWidget(self.cfr_adaptive)
        cfr_row.addWidget(self.flip)
        cfr_widget = QWidget()
        cfr_widget.setLayout(cfr_row)

        layout = QFormLayout()
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addRow("Model", self.model_combo)
        layout.addRow("", self.note)
        device_row = QHBoxLayout()
        device_row.setContentsMargins(0, 0, 0, 0)
        device_row.addWidget(self.device_combo)
        device_row.addWidget(self.precision_combo)
        device_widget = QWidget()
        device_widget.setLayout(device_row)
        layout.addRow("Device", device_widget)
        layout.addRow("CFR steps", cfr_widget)
        self.setLayout(layout)

        self._fill_devices()
        self._fill_models()
        self.precision_combo.setCurrentIndex(self._precision_index(precision))
        self.model_combo.currentIndexChanged.connect(self._on_model_index)
        self.device_combo.currentIndexChanged.connect(self._emit_changed)
        self.precision_combo.currentIndexChanged.connect(self._emit_changed)
        self.cfr_steps.valueChanged.connect(self._emit_changed)
        self.cfr_adaptive.toggled.connect(self._emit_changed)
        self.flip.toggled.connect(self._emit_changed)
        self._spec = self._read_spec()
        self._update_enabled()

    # -- public API -------------------------------------------------------------------------
    @property
    def spec(self) -> ModelSpec:
        """The current choice (updated in the GUI thread; safe to read from a worker)."""
        return self._spec

    def build_predictor(
        self, progress: ProgressCallback | None = None, spec: ModelSpec | None = None
    ) -> Any:
        """Load the chosen model and wrap it in a predictor (slow: run it in a worker).

        Parameters
        ----------
        progress : callable, optional
            ``progress(bytes_done, bytes_total)`` while weights download.
        spec : ModelSpec, optional
            A choice to build instead of the current one.

        Returns
        -------
        Predictor or RandomWalkerPredictor
            Without an image; call ``set_image`` next.

        Raises
        ------
        ModelLoadError
            The model could not be loaded (unreadable or foreign file, missing download,
            unavailable device); :class:`GpuOutOfMemoryError` when it does not fit the GPU.
        """
        return build_predictor(spec or self._spec, progress)

    def add_model(self, label: str, factory: Callable[[Any], Any], select: bool = True) -> None:
        """Offer a model built by code (tests, scripts, other plugins).

        Parameters
        ----------
        label : str
            What the combo box shows.
        factory : callable
            ``factory(device: torch.device)`` returning a ClickSegModel or a ready predictor.
        select : bool
            Make it the current choice.
        """
        self._insert_entry(ModelSpec(kind="custom", source="", label=label, factory=factory))
        if select:
            self.model_combo.setCurrentIndex(self._index_of_label(label))

    def set_checkpoint_path(self, path: str | Path) -> None:
        """Choose a checkpoint file (what the file dialog does)."""
        path = Path(path).expanduser()
        if not path.is_file():
            raise ModelLoadError(f"{path} is not a file; choose a .pth or .safetensors checkpoint")
        label = f"File: {path.name}"
        if self._index_of_label(label) < 0:
            self._insert_entry(ModelSpec(kind="file", source=str(path), label=label))
        self.model_combo.setCurrentIndex(self._index_of_label(label))

    def select_model(self, label: str) -> None:
        """Choose an entry by the text the combo box shows."""
        index = self._index_of_label(label)
        if index < 0:
            raise ValueError(f"no model entry {label!r}; entries: {self.model_labels()}")
        self.model_combo.setCurrentIndex(index)

    def model_labels(self) -> list[str]:
        """Texts of the model entries, in combo order (without the file-dialog entry)."""
        return [entry.label for entry in self._entries]

    def set_device(self, name: str) -> None:
        """Choose a device by name ('auto', 'cpu', 'cuda', 'mps')."""
        index = self.device_combo.findData(name)
        if index < 0:
            raise ValueError(f"unknown device {name!r}; use one of {', '.join(DEVICES)}")
        self.device_combo.setCurrentIndex(index)

    def set_precision(self, name: str) -> None:
        """Choose a precision by name ('auto', 'float32', 'bfloat16')."""
        self.precision_combo.setCurrentIndex(self._precision_index(name))

    def _precision_index(self, name: str) -> int:
        index = self.precision_combo.findData(name)
        if index < 0:
            names = ", ".join(n for n, _ in PRECISION_ENTRIES)
            raise ValueError(f"unknown precision {name!r}; use one of {names}")
        return index

    # -- filling ----------------------------------------------------------------------------
    def _fill_devices(self) -> None:
        for name in DEVICES:
            available = device_available(name)
            self.device_combo.addItem(name if available else f"{name} (not available)", name)
            if not available:
                item = self.device_combo.model().item(self.device_combo.count() - 1)
                item.setEnabled(False)

    def _fill_models(self) -> None:
        from napari_clickseg.models.packaged import packaged_weights

        packaged = packaged_weights()
        for path in packaged:
            self._entries.append(ModelSpec("packaged", str(path), f"Default: {path.stem}"))
        self._entries.append(ModelSpec("random_walker", "", RANDOM_WALKER_LABEL))
        for name, status in _registry_entries():
            self._entries.append(ModelSpec("registry", name, f"{name} ({status})"))
        for entry in self._entries:
            self.model_combo.addItem(entry.label)
        self.model_combo.addItem(CHECKPOINT_FILE_LABEL)
        self.model_combo.setCurrentIndex(0)
        self.note.setText("" if packaged else NO_DEFAULT_MODEL_NOTE)
        self.note.setVisible(not packaged)

    def _insert_entry(self, entry: ModelSpec) -> None:
        position = len(self._entries)
        self._entries.append(entry)
        self.model_combo.blockSignals(True)
        self.model_combo.insertItem(position, entry.label)
        self.model_combo.blockSignals(False)

    def _index_of_label(self, label: str) -> int:
        return next((i for i, e in enumerate(self._entries) if e.label == label), -1)

    # -- reactions --------------------------------------------------------------------------
    def _on_model_index(self, index: int) -> None:
        if index == len(self._entries):  # "Checkpoint file..."
            self._ask_for_checkpoint()
            return
        self._previous_index = index
        self._emit_changed()

    def _ask_for_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose a model checkpoint",
            "",
            "Checkpoints (*.pth *.pt *.safetensors);;All files (*)",
        )
        if not path:
            self.model_combo.setCurrentIndex(self._previous_index)
            return
        try:
            self.set_checkpoint_path(path)
        except ModelLoadError as error:
            self.model_combo.setCurrentIndex(self._previous_index)
            self.note.setText(str(error))
            self.note.setVisible(True)

    def _emit_changed(self, *_: Any) -> None:
        self._spec = self._read_spec()
        self._update_enabled()
        self.changed.emit()

    def _read_spec(self) -> ModelSpec:
        index = self.model_combo.currentIndex()
        entry = self._entries[min(max(index, 0), len(self._entries) - 1)]
        return ModelSpec(
            kind=entry.kind,
            source=entry.source,
            label=entry.label,
            device=self.device_combo.currentData() or "auto",
            cfr_steps=int(self.cfr_steps.value()),
            cfr_adaptive=bool(self.cfr_adaptive.isChecked()),
            with_flip=bool(self.flip.isChecked()),
            precision=self.precision_combo.currentData() or "auto",
            factory=entry.factory,
        )

    def _update_enabled(self) -> None:
        network = self._spec.needs_weights
        widgets = (
            self.device_combo,
            self.precision_combo,
            self.cfr_steps,
            self.cfr_adaptive,
            self.flip,
        )
        for widget in widgets:
            widget.setEnabled(network)


def _registry_entries() -> list[tuple[str, str]]:
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
    Predictor or RandomWalkerPredictor

    Raises
    ------
    ModelLoadError
        With a message that says what failed and what to do.
    """
    if spec.kind == "random_walker":
        from napari_clickseg.engine.baseline import RandomWalkerPredictor

        return RandomWalkerPredictor()

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
            cfr=CFRSettings(steps=spec.cfr_steps, adaptive=spec.cfr_adaptive),
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
