"""Layer pickers for the evaluation dock: combo boxes kept in sync with the viewer's layers."""

from __future__ import annotations

from typing import Any

import numpy as np
from qtpy.QtWidgets import QComboBox, QWidget

__all__ = ["LayerCombo", "go_to_slice"]


class LayerCombo(QComboBox):
    """A combo box listing the viewer's layers of one type, updated as layers come and go.

    With no choice yet (or the chosen layer gone) it offers the selected layer of its type, else
    the topmost visible one.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer whose layers are listed.
    layer_type : type
        ``napari.layers.Image`` or ``napari.layers.Labels``.
    parent : QWidget, optional
        Qt parent.
    """

    def __init__(self, viewer: Any, layer_type: type, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self.layer_type = layer_type
        self.setToolTip(f"A {layer_type.__name__} layer of the viewer")
        events = viewer.layers.events
        handlers = [
            (events.inserted, self._on_inserted),
            (events.removed, self._refresh),
            (events.moved, self._refresh),
        ]
        for emitter, handler in handlers:
            emitter.connect(handler)
        for layer in viewer.layers:
            layer.events.name.connect(self._refresh)

        refresh = self._refresh

        def disconnect(*_: Any) -> None:
            # The viewer may outlive the dock: stop calling into a deleted widget.
            for emitter, handler in handlers:
                emitter.disconnect(handler)
            for layer in viewer.layers:
                layer.events.name.disconnect(refresh)

        self.destroyed.connect(disconnect)
        self._refresh()

    def layer(self) -> Any | None:
        """The chosen layer, or None when there is none of the type."""
        name = self.currentText()
        if not name or name not in self.viewer.layers:
            return None
        layer = self.viewer.layers[name]
        return layer if isinstance(layer, self.layer_type) else None

    def set_layer(self, name: str) -> None:
        """Choose a layer by name."""
        index = self.findText(name)
        if index < 0:
            raise ValueError(f"no {self.layer_type.__name__} layer named {name!r}")
        self.setCurrentIndex(index)

    def _suggested(self) -> str:
        """The layer to offer first: the selected one, else the topmost visible one, else the
        topmost (a BraTS case opens with only FLAIR visible, the modality the default model
        does best on; docs/annotation.md)."""
        layers = [layer for layer in self.viewer.layers if isinstance(layer, self.layer_type)]
        active = self.viewer.layers.selection.active
        if active is not None and any(layer is active for layer in layers):
            return active.name
        visible = [layer for layer in layers if layer.visible]
        return (visible or layers)[-1].name

    def _on_inserted(self, event: Any) -> None:
        event.value.events.name.connect(self._refresh)
        self._refresh()

    def _refresh(self, *_: Any) -> None:
        current = self.currentText()
        names = [layer.name for layer in self.viewer.layers if isinstance(layer, self.layer_type)]
        if names == [self.itemText(i) for i in range(self.count())]:
            return
        self.blockSignals(True)
        self.clear()
        self.addItems(names)
        if current in names:
            self.setCurrentIndex(names.index(current))
        elif names:
            self.setCurrentIndex(names.index(self._suggested()))
        self.blockSignals(False)
        self.currentIndexChanged.emit(self.currentIndex())


def go_to_slice(viewer: Any, layer: Any, axis: int, index: int) -> None:
    """Move the viewer's slider so that ``layer`` shows its slice ``index`` along ``axis``.

    ``axis`` is an axis of the layer's data; the layer's scale and translation are applied
    (data -> world), and a layer with fewer dimensions than the viewer fills its last axes.
    """
    point = np.zeros(layer.ndim)
    point[axis] = index
    offset = viewer.dims.ndim - layer.ndim
    viewer.dims.set_point(offset + axis, layer.data_to_world(point)[axis])
