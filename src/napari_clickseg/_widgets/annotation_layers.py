"""The image layer the annotation dock works on, and the dock's own layers over it.

The dock adds four layers over the chosen image: "committed objects" and "current object"
(Labels) and the positive and negative clicks (Points, :mod:`click_layers`). :class:`OwnLayers`
keeps the image choice in step with the viewer's image layers, makes those layers (reusing
layers with our names and the image's shape, so reopening the dock keeps the work) and makes a
deleted one again.

The layers always carry the image's geometry: its world transform (scale, translate, rotate,
shear, affine; followed when it changes, so clicks and masks stay over the image) and the scan
geometry the reader stored in its metadata (``metadata["nifti"]``), so that saving a Labels
layer with the plugin's NIfTI writer keeps the scan's affine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from napari.utils.colormaps import DirectLabelColormap
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QComboBox

from napari_clickseg._reader import NIFTI_METADATA_KEY
from napari_clickseg._widgets.click_layers import ClickLayers
from napari_clickseg._widgets.layer_geometry import (
    GeometryError,
    check_annotatable,
    layer_spatial_shape,
    transform_kwargs,
)

CURRENT_NAME = "current object"
COMMITTED_NAME = "committed objects"
#: The current object's colour (magenta): far from every colour napari gives the first 60 committed
#: objects, and from the click markers' green and red.
CURRENT_COLOR = "#ff00ff"
NO_IMAGE = "No image layer: open an image or a volume (File > Open, or a sample)."
#: Events of an image layer after which the dock's layers take its transform again.
TRANSFORM_EVENTS = ("scale", "translate", "rotate", "shear", "affine")


class OwnLayers:
    """The chosen image layer and the dock's layers on it.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer.
    combo : QComboBox
        The image choice; its items follow the viewer's image layers.
    on_attached : callable
        ``on_attached(layer)`` after the dock's layers were made for a newly chosen image.
    on_detached : callable
        ``on_detached(name)`` after the image ``name`` was let go (its clicks and masks stay).
    on_clicks_changed : callable
        Called when people changed the click layers.
    say : callable
        ``say(text, level)`` shows a message.
    """

    def __init__(
        self,
        viewer: Any,
        combo: QComboBox,
        on_attached: Callable[[Any], None],
        on_detached: Callable[[str], None],
        on_clicks_changed: Callable[[], None],
        say: Callable[..., None],
    ) -> None:
        self.viewer = viewer
        self.combo = combo
        self.image_layer: Any = None
        self.clicks: ClickLayers | None = None
        self.current_layer: Any = None
        self.committed_layer: Any = None
        self._on_attached = on_attached
        self._on_detached = on_detached
        self._on_clicks_changed = on_clicks_changed
        self._say = say
        self._attaching = False
        combo.currentIndexChanged.connect(self.on_choice)

    def image_layers(self) -> list[Any]:
        """The viewer's image layers, bottom first."""
        return [layer for layer in self.viewer.layers if type(layer).__name__ == "Image"]

    def refresh_choices(self, *_: Any) -> bool:
        """Follow the viewer's image layers (a layer was added or removed).

        Returns
        -------
        bool
            True when the same image layer stays chosen.
        """
        if self._attaching:
            return False  # our own layers being added
        self.keep_on_top()
        names = [layer.name for layer in self.image_layers()]
        current = self.combo.currentText() or self._preferred_image_name()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems(names)
        if current in names:
            self.combo.setCurrentText(current)
        self.combo.blockSignals(False)
        chosen = self.combo.currentText()
        if self.image_layer is not None and self.own_layer_deleted():
            # Made anew once the event loop runs again, not inside the removal: while napari
            # clears all layers (closing the viewer) a layer made here would be removed next.
            QTimer.singleShot(0, self._restore)
        kept = self.image_layer is not None and self.image_layer.name == chosen
        if not kept:
            self.on_choice()
        if not names:
            self._say(NO_IMAGE)
        return kept

    def _preferred_image_name(self) -> str:
        """The selected image layer, else the top visible one, else ''."""
        active = self.viewer.layers.selection.active
        if active is not None and type(active).__name__ == "Image":
            return active.name
        visible = [layer for layer in self.image_layers() if layer.visible]
        return visible[-1].name if visible else ""

    def on_choice(self, *_: Any) -> None:
        """Annotate the image layer the combo box names."""
        name = self.combo.currentText()
        layer = next((lyr for lyr in self.image_layers() if lyr.name == name), None)
        if layer is self.image_layer:
            return
        self.detach()
        if layer is not None:
            self.attach(layer)

    def _restore(self) -> None:
        """Make a deleted dock layer anew, keeping the clicks and masks that still exist."""
        layer = self.image_layer
        if layer is None or layer not in self.viewer.layers or not self.own_layer_deleted():
            return
        self.detach()
        self.attach(layer)

    def own_layer_deleted(self) -> bool:
        """Whether one of the dock's layers is no longer in the viewer."""
        own = [self.current_layer, self.committed_layer]
        if self.clicks is not None:
            own += [self.clicks.positive, self.clicks.negative]
        return any(layer is None or layer not in self.viewer.layers for layer in own)

    def attach(self, layer: Any) -> None:
        """Make (or reuse) the dock's layers over ``layer``; a message when it cannot be."""
        try:
            check_annotatable(layer)
        except GeometryError as error:
            self._say(str(error), "warning")
            return
        self._attaching = True
        try:
            self.image_layer = layer
            # Labels first, so that the click layers are drawn on top of the masks.
            # Over colour photos a half-transparent mask mixes with the colours: more opaque.
            rgb = bool(getattr(layer, "rgb", False))
            self.committed_layer = self._labels_layer(
                COMMITTED_NAME, np.uint32, opacity=0.6 if rgb else 0.4
            )
            self.current_layer = self._labels_layer(
                CURRENT_NAME, np.uint8, opacity=0.75 if rgb else 0.5
            )
            self.current_layer.colormap = DirectLabelColormap(
                color_dict={None: "transparent", 0: "transparent", 1: CURRENT_COLOR}
            )
            self.clicks = ClickLayers(self.viewer, layer, self._on_clicks_changed)
            self.keep_on_top()  # reused layers may lie below layers opened since
            self.follow_transform()
            for event in TRANSFORM_EVENTS:
                getattr(layer.events, event).connect(self.follow_transform)
            self.viewer.layers.selection.active = layer
        finally:
            self._attaching = False
        self._on_attached(layer)

    def detach(self) -> None:
        """Let the image go (the layers stay in the viewer)."""
        if self.clicks is not None:
            self.clicks.disconnect()
        name = ""
        if self.image_layer is not None:
            name = self.image_layer.name
            for event in TRANSFORM_EVENTS:
                getattr(self.image_layer.events, event).disconnect(self.follow_transform)
        self.image_layer = None
        self.clicks = None
        self.current_layer = None
        self.committed_layer = None
        self._on_detached(name)

    def own_layers(self) -> list[Any]:
        """The dock's layers that exist: committed, current, positive and negative clicks."""
        own = [self.committed_layer, self.current_layer]
        if self.clicks is not None:
            own += [self.clicks.positive, self.clicks.negative]
        return [layer for layer in own if layer is not None]

    def keep_on_top(self) -> None:
        """Move the dock's layers above every other layer (a layer opened later, such as a
        ground-truth ``seg``, would otherwise cover the masks and clicks)."""
        own = self.own_layers()
        layers = self.viewer.layers
        if not own or any(layer not in layers for layer in own):
            return
        indices = [layers.index(layer) for layer in own]
        if indices != list(range(len(layers) - len(own), len(layers))):
            layers.move_multiple(indices, len(layers))

    def follow_transform(self, *_: Any) -> None:
        """Give the dock's layers the image's world transform (on every change of it)."""
        if self.image_layer is None:
            return
        transform = transform_kwargs(self.image_layer)
        for layer in self.own_layers():
            for name, value in transform.items():
                setattr(layer, name, value)
        if self.clicks is not None:
            self.clicks.fit_markers()

    def _labels_layer(self, name: str, dtype: Any, opacity: float) -> Any:
        shape = layer_spatial_shape(self.image_layer)
        geometry = scan_metadata(self.image_layer)
        for layer in self.viewer.layers:
            if (
                layer.name == name
                and type(layer).__name__ == "Labels"
                and tuple(layer.data.shape) == shape
            ):
                layer.metadata = {
                    **{k: v for k, v in layer.metadata.items() if k != NIFTI_METADATA_KEY},
                    **geometry,
                }
                return layer
        return self.viewer.add_labels(
            np.zeros(shape, dtype),
            name=name,
            opacity=opacity,
            metadata=geometry,
            **transform_kwargs(self.image_layer),
        )


def scan_metadata(image_layer: Any) -> dict[str, Any]:
    """The part of an image layer's metadata that writers need to save on the scan's grid.

    Parameters
    ----------
    image_layer : napari.layers.Image
        The annotated image.

    Returns
    -------
    dict
        ``{"nifti": geometry}`` when the plugin's reader stored the scan's NIfTI geometry,
        else empty.
    """
    geometry = (image_layer.metadata or {}).get(NIFTI_METADATA_KEY)
    return {} if geometry is None else {NIFTI_METADATA_KEY: geometry}
