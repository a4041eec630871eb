"""napari world coordinates <-> (slice index, row, col) of an image layer.

The only place where the viewer's geometry (which axes are displayed, the layer's scale,
translate, rotation, shear and affine) meets the engine's (row, col) pixels. Points in our
click layers carry the image's transforms, so their data coordinates are image pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_clickseg.engine.planes import Plane

#: Tolerance for "this transform keeps the sliced axis apart from the displayed ones".
_OBLIQUE_TOLERANCE = 1e-6


class GeometryError(ValueError):
    """The image cannot be annotated as it is shown (4D, 3D view, oblique slicing...)."""


def spatial_ndim(layer: Any) -> int:
    """Spatial dimensions of an image layer (the RGB(A) axis of an RGB layer excluded)."""
    return int(layer.ndim)


def check_annotatable(layer: Any) -> None:
    """Raise :class:`GeometryError` for images the dock cannot annotate.

    Parameters
    ----------
    layer : napari.layers.Image
        The chosen image layer.
    """
    if getattr(layer, "multiscale", False):
        raise GeometryError(
            f"{layer.name!r} is a multiscale (pyramid) image; open its full-resolution level "
            "as a plain image layer to annotate it"
        )
    ndim = spatial_ndim(layer)
    if ndim > 3:
        kind = "an RGB stack with time or channels" if layer.rgb else f"{ndim}D"
        raise GeometryError(
            f"{layer.name!r} is {kind} (shape {tuple(layer.data.shape)}); the dock annotates "
            "2D images and 3D volumes. Split the extra axis into separate layers (right-click "
            "the layer > Split Stack) and map them to R, G, B in the channel table"
        )
    if ndim < 2:
        raise GeometryError(f"{layer.name!r} has {ndim} dimension(s); an image needs 2 or 3")


def layer_plane(layer: Any, dims: Any) -> Plane:
    """The plane of ``layer`` the viewer displays.

    Parameters
    ----------
    layer : napari.layers.Image
        The image layer.
    dims : napari.components.Dims
        ``viewer.dims``.

    Returns
    -------
    Plane
        Rows are the displayed vertical axis, columns the horizontal one.

    Raises
    ------
    GeometryError
        In 3D display, when the displayed axes are not axes of the layer, or when the layer's
        transform mixes the sliced axis with the displayed ones (oblique slicing).
    """
    check_annotatable(layer)
    if dims.ndisplay != 2:
        raise GeometryError("clicks are made on 2D slices: switch the viewer to 2D display")
    ndim = spatial_ndim(layer)
    offset = dims.ndim - ndim
    displayed = [int(d) - offset for d in dims.displayed[-2:]]
    if any(d < 0 for d in displayed):
        raise GeometryError(
            f"the viewer displays axes {tuple(dims.displayed)}, which {layer.name!r} does not "
            "have; display two of its axes"
        )
    plane = Plane.from_displayed(ndim, (displayed[0], displayed[1]))
    _check_not_oblique(layer, plane)
    return plane


def current_slice(layer: Any, dims: Any, plane: Plane) -> int:
    """Index along the plane's sliced axis of the slice the viewer shows (0 for 2D).

    Raises
    ------
    GeometryError
        When the viewer's position lies outside the image along the sliced axis.
    """
    if plane.axis is None:
        return 0
    point = layer.world_to_data(np.asarray(dims.point, float))
    index = round(float(point[plane.axis]))
    count = plane.slice_count(layer_spatial_shape(layer))
    if not 0 <= index < count:
        raise GeometryError(
            f"the viewer shows slice {index} of axis {plane.axis}, outside {layer.name!r} "
            f"(slices 0 to {count - 1})"
        )
    return index


def world_to_plane(layer: Any, plane: Plane, position: Any) -> tuple[int, float, float]:
    """(slice index, row, col) in image pixels of a world position (e.g. a mouse event's)."""
    return plane.locate(np.asarray(layer.world_to_data(np.asarray(position, float)), float))


def inside(layer: Any, plane: Plane, index: int, row: float, col: float) -> bool:
    """Whether a plane position lies on the image (pixel centres from 0 to size - 1)."""
    shape = layer_spatial_shape(layer)
    rows, cols = plane.shape(shape)
    return (
        0 <= index < plane.slice_count(shape)
        and -0.5 <= row <= rows - 0.5
        and -0.5 <= col <= cols - 0.5
    )


def layer_spatial_shape(layer: Any) -> tuple[int, ...]:
    """Shape of the layer's data without the RGB(A) axis."""
    shape = tuple(int(s) for s in layer.data.shape)
    return shape[:-1] if getattr(layer, "rgb", False) else shape


def transform_kwargs(layer: Any) -> dict[str, Any]:
    """Keyword arguments that give a new layer the image layer's world transform."""
    return {
        "scale": np.asarray(layer.scale),
        "translate": np.asarray(layer.translate),
        "rotate": np.asarray(layer.rotate),
        "shear": np.asarray(layer.shear),
        "affine": np.asarray(layer.affine.affine_matrix),
    }


def _linear_part(layer: Any) -> np.ndarray:
    """Matrix M with world_delta = M @ data_delta, measured through the public transforms."""
    ndim = spatial_ndim(layer)
    origin = np.asarray(layer.data_to_world(np.zeros(ndim)), float)
    columns = [
        np.asarray(layer.data_to_world(np.eye(ndim)[axis]), float) - origin for axis in range(ndim)
    ]
    return np.stack(columns, axis=1)


def _check_not_oblique(layer: Any, plane: Plane) -> None:
    if plane.axis is None:
        return
    matrix = _linear_part(layer)
    in_plane = [plane.row_axis, plane.col_axis]
    scale = np.abs(matrix).max() or 1.0
    mixes = np.abs(matrix[in_plane, plane.axis]).max() > _OBLIQUE_TOLERANCE * scale or (
        np.abs(matrix[plane.axis, in_plane]).max() > _OBLIQUE_TOLERANCE * scale
    )
    if mixes:
        raise GeometryError(
            f"the transform of {layer.name!r} rotates or shears its sliced axis {plane.axis} "
            "into the displayed plane (oblique slicing); annotate it without that rotation "
            "or resample the volume"
        )
