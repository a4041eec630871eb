"""The model, device and inference settings, as one reusable widget.

Both docks (annotation and evaluation) use :class:`ModelChoice`. It only records the user's
choice; :meth:`ModelChoice.build_predictor` turns the choice into a predictor
(:mod:`~napari_clickseg._widgets.model_loading`, no Qt) and is meant to run in a worker thread,
since loading (and perhaps downloading) a model takes time. torch and the models are imported
only there, so napari starts fast.
"""

from __future__ import annotations

from collections.abc import Callable
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

from napari_clickseg._widgets.model_loading import (
    GpuOutOfMemoryError,
    ModelLoadError,
    ModelSpec,
    ProgressCallback,
    avoid_llvm_clash,
    build_predictor,
    device_available,
    registry_entries,
)

__all__ = [
    "BASELINE_LABEL",
    "CHECKPOINT_FILE_LABEL",
    "GpuOutOfMemoryError",
    "ModelChoice",
    "ModelLoadError",
    "ModelSpec",
    "avoid_llvm_clash",
    "build_predictor",
]

BASELINE_LABEL = "Classical baseline: watershed (no weights)"
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
    "the classical watershed baseline (no weights) is the default. Choose a SimpleClick / "
    "iCMFormer / PiClick checkpoint for better masks."
)


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
        self.cfr_steps.setRange(-1, 20)
        self.cfr_steps.setSpecialValueText("model's")  # -1: what the model's file recommends
        self.cfr_steps.setValue(-1)
        self.cfr_steps.setToolTip(
            'CFR-n: extra forward passes feeding the mask back (0 = off). "model\'s": what '
            "the model's file recommends (the packaged default: adaptive CFR-4 where the first "
            "view shrinks the image over 3x, a coarse-to-fine first click on large sections; "
            "official checkpoints: off)"
        )
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
        Predictor or ClickBaseline
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
        self._entries.append(ModelSpec("baseline", "", BASELINE_LABEL))
        for name, status in registry_entries():
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
            cfr_steps=None if self.cfr_steps.value() < 0 else int(self.cfr_steps.value()),
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
