"""The positive and negative click Points layers, and reading clicks out of them.

Clicks live in two napari Points layers that carry the image layer's transform, so a point's
data coordinates are image pixels. Each point has two features: ``order`` (when it was made,
across both layers) and ``axis`` (the axis that was sliced when it was made), so a click
belongs to one slice of one viewing direction. People may add, delete or move points in either
layer with napari's own tools; :meth:`ClickLayers.records` reads what is there now.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_clickseg._widgets.layer_geometry import (
    layer_spatial_shape,
    spatial_ndim,
    transform_kwargs,
)
from napari_clickseg.engine.clicks import Click
from napari_clickseg.engine.planes import Plane
from napari_clickseg.engine.prompts_io import PromptClick

POSITIVE_NAME = "positive clicks"
NEGATIVE_NAME = "negative clicks"
POSITIVE_COLOR = "#22dd22"
NEGATIVE_COLOR = "#ff3333"
#: Feature value of the axis of clicks on 2D images.
NO_AXIS = -1
#: Smallest and largest marker diameter on screen (canvas pixels), a last resort: when napari
#: draws a marker smaller than this it grows its border, not its fill.
MARKER_SCREEN_PIXELS = (10.0, 10000.0)
#: Points actions after which the clicks are read again.
_SETTLED_ACTIONS = ("added", "removed", "changed")


@dataclass(frozen=True)
class ClickRecord:
    """One click as stored in the layers.

    Attributes
    ----------
    point : tuple of float
        Image data coordinates.
    positive : bool
        Which layer it is in.
    order : int
        When it was made.
    axis : int or None
        Sliced axis when made (None for 2D images).
    """

    point: tuple[float, ...]
    positive: bool
    order: int
    axis: int | None

    def key(self) -> tuple[int | None, int]:
        """(axis, slice index): the slice the click belongs to."""
        index = 0 if self.axis is None else round(self.point[self.axis])
        return self.axis, index

    def to_prompt(self) -> PromptClick:
        """The click as saved in prompts files."""
        return PromptClick(self.point, self.positive, self.order, self.axis)


class ClickLayers:
    """The two Points layers of one image layer.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer to add the layers to (existing layers with our names and the image's
        dimensionality are reused, so reopening the dock keeps the clicks).
    image_layer : napari.layers.Image
        The image the clicks are on.
    on_change : callable
        Called with no argument after people (not this class) changed the points.
    """

    def __init__(self, viewer: Any, image_layer: Any, on_change: Callable[[], None]) -> None:
        self.viewer = viewer
        self.image_layer = image_layer
        self.ndim = spatial_ndim(image_layer)
        self._on_change = on_change
        self._blocked = 0
        self.positive = self._layer(POSITIVE_NAME, POSITIVE_COLOR)
        self.negative = self._layer(NEGATIVE_NAME, NEGATIVE_COLOR)
        self._next_order = 1 + max((r.order for r in self.records()), default=-1)

    # -- reading ----------------------------------------------------------------------------
    def records(self) -> list[ClickRecord]:
        """Every click in both layers, oldest first."""
        records = []
        for layer, positive in ((self.positive, True), (self.negative, False)):
            features = layer.features
            for row, point in enumerate(np.asarray(layer.data, float)):
                axis = int(features["axis"].iloc[row])
                records.append(
                    ClickRecord(
                        tuple(float(v) for v in point),
                        positive,
                        int(features["order"].iloc[row]),
                        None if axis == NO_AXIS else axis,
                    )
                )
        return sorted(records, key=lambda r: r.order)

    def clicks_by_slice(self, plane_for_axis: Callable[[int | None], Plane]) -> dict:
        """Engine clicks grouped by slice key (axis, index), each group oldest first.

        Parameters
        ----------
        plane_for_axis : callable
            The plane a click's axis was viewed with (row and column axes).
        """
        groups: dict[tuple[int | None, int], list[Click]] = {}
        for record in self.records():
            _, row, col = plane_for_axis(record.axis).locate(np.asarray(record.point))
            groups.setdefault(record.key(), []).append(Click(row, col, record.positive))
        return groups

    # -- writing ----------------------------------------------------------------------------
    def add(self, point: np.ndarray, positive: bool, axis: int | None) -> ClickRecord:
        """Add a click (as the mouse does) and return it; ``on_change`` is not called."""
        layer = self.positive if positive else self.negative
        record = ClickRecord(tuple(float(v) for v in point), positive, self._next_order, axis)
        with self.blocked():
            layer.add(np.asarray(point, float)[None])
            row = len(layer.data) - 1
            _set_feature(layer, row, "order", record.order)
            _set_feature(layer, row, "axis", NO_AXIS if axis is None else axis)
        self._next_order += 1
        self._refresh_defaults(axis)
        return record

    def remove(self, record: ClickRecord) -> bool:
        """Remove one click; returns False when it is not there."""
        layer = self.positive if record.positive else self.negative
        orders = layer.features["order"].to_numpy()
        rows = np.flatnonzero(orders == record.order)
        if rows.size == 0:
            return False
        with self.blocked():
            layer.selected_data = {int(rows[0])}
            layer.remove_selected()
        return True

    def set_records(self, records: list[ClickRecord]) -> None:
        """Replace every click (loading prompts, next object)."""
        with self.blocked():
            for layer, positive in ((self.positive, True), (self.negative, False)):
                chosen = [r for r in records if r.positive == positive]
                layer.data = np.array([r.point for r in chosen], float).reshape(-1, self.ndim)
                layer.features = {
                    "order": np.array([r.order for r in chosen], int),
                    "axis": np.array([NO_AXIS if r.axis is None else r.axis for r in chosen], int),
                }
        self._next_order = 1 + max((r.order for r in records), default=-1)

    def clear(self) -> None:
        """Remove every click."""
        self.set_records([])

    def show_axis(self, axis: int | None) -> None:
        """Show only the clicks made while viewing along ``axis``; new points get ``axis``."""
        value = NO_AXIS if axis is None else axis
        for layer in (self.positive, self.negative):
            layer.shown = layer.features["axis"].to_numpy() == value
        self._refresh_defaults(axis)

    def disconnect(self) -> None:
        """Stop listening to the layers (the dock closes or the image changes)."""
        for layer in (self.positive, self.negative):
            layer.events.data.disconnect(self._on_data)

    @contextmanager
    def blocked(self) -> Iterator[None]:
        """Changes made inside do not call ``on_change``."""
        self._blocked += 1
        try:
            yield
        finally:
            self._blocked -= 1

    # -- helpers ----------------------------------------------------------------------------
    def _layer(self, name: str, color: str) -> Any:
        existing = next(
            (
                layer
                for layer in self.viewer.layers
                if layer.name == name
                and type(layer).__name__ == "Points"
                and layer.ndim == self.ndim
                and {"order", "axis"} <= set(layer.features.columns)
            ),
            None,
        )
        if existing is None:
            size = marker_size(self.image_layer)
            existing = self.viewer.add_points(
                np.empty((0, self.ndim)),
                name=name,
                face_color=color,
                border_color="white",
                border_width=0.1,
                size=size,
                features={"order": np.empty(0, int), "axis": np.empty(0, int)},
                feature_defaults={"order": -1, "axis": NO_AXIS},
                out_of_slice_display=False,
                **transform_kwargs(self.image_layer),
            )
        existing.canvas_size_limits = MARKER_SCREEN_PIXELS
        existing.events.data.connect(self._on_data)
        return existing

    def fit_markers(self) -> None:
        """Size the markers for the image's current transform (:func:`marker_size`)."""
        size = marker_size(self.image_layer)
        for layer in (self.positive, self.negative):
            if len(layer.data):
                layer.size = np.full(len(layer.data), size)
            layer.current_size = size

    def _refresh_defaults(self, axis: int | None) -> None:
        for layer in (self.positive, self.negative):
            layer.feature_defaults = {"order": -1, "axis": NO_AXIS if axis is None else axis}

    def _on_data(self, event: Any) -> None:
        action = str(getattr(event, "action", "changed"))
        if self._blocked or not any(a in action.lower() for a in _SETTLED_ACTIONS):
            return
        self._number_new_points()
        self._on_change()

    def _number_new_points(self) -> None:
        """Give points that people added with napari's tools the next order numbers."""
        for layer in (self.positive, self.negative):
            orders = layer.features["order"].to_numpy()
            for row in np.flatnonzero(orders < 0):
                _set_feature(layer, int(row), "order", self._next_order)
                self._next_order += 1


def marker_size(image_layer: Any) -> float:
    """Marker diameter in image pixels: 2.5 % of the image's larger in-plane side (at least 4).

    napari draws a point's size in data units times the layer's ``scale`` but not its
    ``affine``; the affine's in-plane magnification (of the last two axes) is multiplied in so
    that markers keep their size against the image under any affine.
    """
    shape = layer_spatial_shape(image_layer)
    base = max(4.0, 0.025 * max(shape[-2:]))
    linear = np.asarray(image_layer.affine.affine_matrix, float)[:-1, :-1]
    magnification = float(np.sqrt(abs(np.linalg.det(linear[-2:, -2:]))))
    return base * (magnification if magnification > 0 else 1.0)


def _set_feature(layer: Any, row: int, name: str, value: int) -> None:
    features = layer.features  # the layer's own table: edited in place
    features.loc[features.index[row], name] = value
