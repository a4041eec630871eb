"""Which image layers (or channels of an RGB layer) feed the model's R, G and B inputs.

The networks take 3 channels. A grayscale image feeds all three ("gray"). With several
same-shape image layers (BraTS T1 / T1ce / T2 / FLAIR opened as separate layers) or an RGB
layer, each input can be mapped to any of them. The choice becomes
:class:`~napari_clickseg.engine.channel_input.ModelInput`.

Gray is the default, and the advice for BraTS: with the shipped model FLAIR alone beat every
R, G, B mapping of T1ce / T2 / FLAIR on the choosing and the held-out case (mIoU@1 0.718
against 0.421 for T1ce, T2, FLAIR on the held-out case; ``docs/annotation.md``).
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QComboBox, QFormLayout, QWidget

from napari_clickseg._widgets.layer_geometry import layer_spatial_shape
from napari_clickseg.engine.channel_input import ChannelSource, ModelInput

GRAY = "gray (image layer on R, G, B)"
MAPPED = "R, G, B from layers / channels"
INPUT_NAMES = ("R", "G", "B")


def candidate_sources(image_layer: Any, layers: Any) -> list[tuple[str, Any, int | None]]:
    """(label, layer, channel) for every channel that may feed the model for ``image_layer``.

    Every channel of ``image_layer`` and of the other image layers of the same spatial shape.
    """
    shape = layer_spatial_shape(image_layer)
    result = []
    others = [layer for layer in layers if layer is not image_layer]
    for layer in [image_layer, *others]:
        if type(layer).__name__ != "Image" or getattr(layer, "multiscale", False):
            continue
        if layer_spatial_shape(layer) != shape:
            continue
        if getattr(layer, "rgb", False):
            for channel in range(min(int(layer.data.shape[-1]), 3)):
                result.append((f"{layer.name} [{'RGB'[channel]}]", layer, channel))
        else:
            result.append((layer.name, layer, None))
    return result


class ChannelMap(QWidget):
    """Mode (gray or mapped) and one combo per model input.

    Signals
    -------
    changed
        The mapping changed.
    """

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = QComboBox()
        self.mode.addItems([GRAY, MAPPED])
        self.mode.setToolTip(
            "Map several layers or an RGB layer's channels to the model's inputs. For BraTS, "
            "FLAIR alone in gray does better with the shipped model than T1ce, T2, FLAIR as R, G, B"
        )
        self.inputs = [QComboBox() for _ in INPUT_NAMES]
        layout = QFormLayout()
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addRow("Input", self.mode)
        for name, combo in zip(INPUT_NAMES, self.inputs, strict=True):
            layout.addRow(f"  {name}", combo)
            combo.currentIndexChanged.connect(self._emit)
        self.setLayout(layout)
        self._sources: list[tuple[str, Any, int | None]] = []
        self._image_layer: Any = None
        self.mode.currentIndexChanged.connect(self._on_mode)
        self._on_mode()

    def set_layers(self, image_layer: Any, layers: Any) -> None:
        """Offer the channels available for ``image_layer`` (keeps choices still possible)."""
        previous = [combo.currentText() for combo in self.inputs]
        self._image_layer = image_layer
        self._sources = [] if image_layer is None else candidate_sources(image_layer, layers)
        labels = [label for label, _, _ in self._sources]
        rgb = image_layer is not None and getattr(image_layer, "rgb", False)
        for position, combo in enumerate(self.inputs):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(labels)
            if previous[position] in labels:
                combo.setCurrentIndex(labels.index(previous[position]))
            elif rgb and position < len(labels):
                combo.setCurrentIndex(position)
            combo.blockSignals(False)
        self.mode.blockSignals(True)
        if rgb:
            self.mode.setCurrentText(MAPPED)
        self.mode.blockSignals(False)
        self._on_mode()

    def map_to(self, labels: tuple[str, str, str]) -> None:
        """Choose the R, G, B sources by their labels and switch to mapped mode."""
        known = [label for label, _, _ in self._sources]
        for label in labels:
            if label not in known:
                raise ValueError(f"no channel {label!r}; available: {', '.join(known)}")
        for combo, label in zip(self.inputs, labels, strict=True):
            combo.blockSignals(True)
            combo.setCurrentIndex(known.index(label))
            combo.blockSignals(False)
        self.mode.setCurrentText(MAPPED)
        self._emit()

    def model_input(self) -> ModelInput:
        """The model input for the current choice."""
        if self._image_layer is None:
            raise ValueError("no image layer chosen")
        if self.mode.currentText() == GRAY:
            return ModelInput([ChannelSource(self._image_layer.data, None, self._image_layer.name)])
        chosen = []
        for combo in self.inputs:
            label, layer, channel = self._sources[max(combo.currentIndex(), 0)]
            chosen.append(ChannelSource(layer.data, channel, label))
        return ModelInput(chosen)

    def layers_used(self) -> list[Any]:
        """The layers the current choice reads."""
        if self._image_layer is None:
            return []
        if self.mode.currentText() == GRAY:
            return [self._image_layer]
        return [self._sources[max(c.currentIndex(), 0)][1] for c in self.inputs]

    def _on_mode(self, *_: Any) -> None:
        mapped = self.mode.currentText() == MAPPED
        rgb = self._image_layer is not None and getattr(self._image_layer, "rgb", False)
        if rgb and not mapped:  # an RGB layer has no gray reading
            self.mode.setCurrentText(MAPPED)
            return
        for combo in self.inputs:
            combo.setEnabled(mapped)
        self._emit()

    def _emit(self, *_: Any) -> None:
        self.changed.emit()
