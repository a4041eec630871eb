"""2D planes of an image volume: which axis is sliced, which axes are rows and columns.

The engine works on (row, col) images. A volume is annotated one plane at a time along any of
its axes; :class:`Plane` says which data axes a plane's rows and columns are, so the same
volume can be cut axially, coronally or sagittally, and a 2D mask written back where it came
from. Trailing channel axes (RGB) are kept as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Plane:
    """How a 2D plane sits in a spatial volume.

    Attributes
    ----------
    ndim : int
        Number of spatial axes of the volume (2 or 3).
    row_axis, col_axis : int
        Data axes shown as the plane's rows and columns.
    axis : int or None
        The sliced axis (None for a 2D image).
    """

    ndim: int
    row_axis: int
    col_axis: int
    axis: int | None = None

    def __post_init__(self) -> None:
        if self.ndim not in (2, 3):
            raise ValueError(f"planes exist in 2D or 3D volumes, not {self.ndim}D")
        axes = [self.row_axis, self.col_axis] + ([] if self.axis is None else [self.axis])
        if sorted(axes) != list(range(self.ndim)):
            raise ValueError(
                f"row axis {self.row_axis}, column axis {self.col_axis} and sliced axis "
                f"{self.axis} must name each of the {self.ndim} axes once"
            )

    @classmethod
    def from_displayed(cls, ndim: int, displayed: tuple[int, int]) -> Plane:
        """The plane whose rows and columns are the two displayed axes ``(row, col)``."""
        row_axis, col_axis = (int(a) for a in displayed)
        rest = [a for a in range(ndim) if a not in (row_axis, col_axis)]
        return cls(ndim, row_axis, col_axis, rest[0] if rest else None)

    def shape(self, volume_shape: tuple[int, ...]) -> tuple[int, int]:
        """(rows, cols) of a plane of a volume of ``volume_shape`` (spatial axes first)."""
        return int(volume_shape[self.row_axis]), int(volume_shape[self.col_axis])

    def slice_count(self, volume_shape: tuple[int, ...]) -> int:
        """How many planes the volume has along the sliced axis (1 for 2D)."""
        return 1 if self.axis is None else int(volume_shape[self.axis])

    def take(self, volume: np.ndarray, index: int = 0) -> np.ndarray:
        """The plane ``index`` of ``volume`` as (rows, cols[, channels]).

        Parameters
        ----------
        volume : numpy.ndarray
            Spatial axes first, optional trailing channel axes.
        index : int
            Position along the sliced axis (ignored for 2D).

        Returns
        -------
        numpy.ndarray
            A view when possible.
        """
        self._check_index(volume.shape, index)
        volume = volume[self.slicer(index)]
        # After removing the sliced axis, the remaining spatial axes keep their order.
        if self.row_axis > self.col_axis:
            volume = np.swapaxes(volume, 0, 1)
        return volume

    def slicer(self, index: int = 0) -> tuple:
        """Basic index selecting plane ``index`` (rows and columns in volume axis order).

        ``volume[plane.slicer(i)]`` is a view; it equals :meth:`take` when ``row_axis <
        col_axis`` and its transpose otherwise.
        """
        return tuple(
            index if axis == self.axis else slice(None) for axis in range(self.ndim)
        )

    @classmethod
    def canonical(cls, ndim: int, axis: int | None) -> Plane:
        """The plane sliced along ``axis`` with rows and columns in volume axis order."""
        rest = [a for a in range(ndim) if a != axis]
        return cls(ndim, rest[0], rest[1], axis)

    def indices(self, volume_shape: tuple[int, ...], index: int, mask: np.ndarray) -> tuple:
        """Volume indices (a tuple of arrays) of the True pixels of a plane's ``mask``.

        Parameters
        ----------
        volume_shape : tuple of int
            Spatial shape of the volume.
        index : int
            Position along the sliced axis.
        mask : numpy.ndarray
            (rows, cols) boolean.

        Returns
        -------
        tuple of numpy.ndarray
            One index array per spatial axis, for fancy indexing.
        """
        self._check_index(volume_shape, index)
        mask = np.asarray(mask, bool)
        if mask.shape != self.shape(volume_shape):
            raise ValueError(
                f"mask of shape {mask.shape} does not fit a plane of shape "
                f"{self.shape(volume_shape)}"
            )
        rows, cols = np.nonzero(mask)
        result: list[np.ndarray] = [np.empty(0, np.intp)] * self.ndim
        result[self.row_axis] = rows
        result[self.col_axis] = cols
        if self.axis is not None:
            result[self.axis] = np.full(rows.shape, index, np.intp)
        return tuple(result)

    def point(self, index: int, row: float, col: float) -> np.ndarray:
        """Data coordinates (one per spatial axis) of plane position (row, col)."""
        point = np.zeros(self.ndim, float)
        point[self.row_axis] = row
        point[self.col_axis] = col
        if self.axis is not None:
            point[self.axis] = index
        return point

    def locate(self, point: np.ndarray) -> tuple[int, float, float]:
        """(slice index, row, col) of a point in data coordinates.

        The slice index is the nearest integer along the sliced axis (0 for 2D).
        """
        point = np.asarray(point, float)
        if point.shape != (self.ndim,):
            raise ValueError(f"expected a point with {self.ndim} coordinates, got {point.shape}")
        index = 0 if self.axis is None else round(float(point[self.axis]))
        return index, float(point[self.row_axis]), float(point[self.col_axis])

    def _check_index(self, volume_shape: tuple[int, ...], index: int) -> None:
        if len(volume_shape) < self.ndim:
            raise ValueError(
                f"a volume of shape {tuple(volume_shape)} has fewer than {self.ndim} axes"
            )
        count = self.slice_count(volume_shape)
        if not 0 <= index < count:
            raise IndexError(f"slice {index} does not exist: the volume has {count} along axis "
                             f"{self.axis}")
