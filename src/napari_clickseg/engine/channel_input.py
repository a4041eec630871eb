"""The model's 3-channel input of one plane, from one or several image volumes.

The networks see 8-bit RGB. A grayscale volume feeds all three inputs; a multi-channel image
(BraTS modalities, fluorescence channels, separate same-shape volumes) may feed R, G and B from
three different sources. Each source is windowed to uint8 once for the whole volume by the
rule every entry point shares (:func:`napari_clickseg.engine.image_input.intensity_window`:
0.5-99.5 percentiles; over the nonzero voxels when most voxels are 0, as for skull-stripped MRI;
NaN / inf masked with a warning), so every slice shares one mapping and display contrast changes
never change what the model sees. uint8 sources are used as they are. Volumes may be lazy (zarr,
dask): only a strided sample and the requested planes are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from napari_clickseg.engine.image_input import intensity_window, to_uint8, warn_non_finite
from napari_clickseg.engine.planes import Plane


@dataclass(frozen=True)
class ChannelSource:
    """One input channel: a volume and, for multi-channel volumes, which channel.

    Attributes
    ----------
    volume : numpy.ndarray
        Spatial axes first; a trailing channel axis when ``channel`` is set.
    channel : int or None
        Channel of a channels-last volume, None for a single-channel one.
    name : str
        For messages and the dock.
    """

    volume: np.ndarray
    channel: int | None = None
    name: str = ""

    @property
    def spatial_shape(self) -> tuple[int, ...]:
        """The volume's shape without the channel axis."""
        shape = tuple(self.volume.shape)
        return shape if self.channel is None else shape[:-1]

    def values(self) -> np.ndarray:
        """The channel's voxels as a spatial array (a view when possible)."""
        return self.volume if self.channel is None else self.volume[..., self.channel]


class ModelInput:
    """Builds the (H, W, 3) uint8 model input of any plane from 1 or 3 channel sources.

    Parameters
    ----------
    sources : sequence of ChannelSource
        One source (grayscale, fed to R, G and B) or three (R, G, B), all of one spatial shape.
    """

    def __init__(self, sources: Sequence[ChannelSource]) -> None:
        sources = list(sources)
        if len(sources) not in (1, 3):
            raise ValueError(f"the model takes 1 (gray) or 3 (R, G, B) sources, got {len(sources)}")
        shapes = {s.spatial_shape for s in sources}
        if len(shapes) != 1:
            listed = ", ".join(f"{s.name or '?'} {s.spatial_shape}" for s in sources)
            raise ValueError(f"channel sources must share one shape, got {listed}")
        self.sources = sources
        self.spatial_shape = sources[0].spatial_shape
        self._windows: dict[int, tuple[float, float] | None] = {}

    def window(self, position: int) -> tuple[float, float] | None:
        """(low, high) intensity window of a source, None for uint8 sources (used as is)."""
        if position not in self._windows:
            self._windows[position] = intensity_window(self.sources[position].values())
        return self._windows[position]

    def image(self, plane: Plane, index: int) -> np.ndarray:
        """The model input of one plane: uint8 (H, W, 3).

        Parameters
        ----------
        plane : Plane
            How the plane is cut.
        index : int
            The slice.
        """
        channels = []
        for position, source in enumerate(self.sources):
            values = np.asarray(plane.take(source.values(), index))
            warn_non_finite(values)
            channels.append(to_uint8(values, self.window(position)))
        if len(channels) == 1:
            channels *= 3
        return np.ascontiguousarray(np.stack(channels, axis=-1))
