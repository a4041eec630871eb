"""Turning user images into the network's 3-channel [0, 1] input: one rule for every entry point.

The API (``Predictor.set_image``), ``clickseg segment`` / ``propagate`` / ``evaluate``, the
propagation engine and the annotation dock (through
:class:`~napari_clickseg.engine.channel_input.ModelInput`) all map intensities with the functions
of this module (documented in docs/api.md and docs/bad_inputs.md):

- 2D (H, W) grayscale and single-channel images are replicated to 3 channels, as the
  official data loaders do for grayscale PNGs (``cv2.imread`` returns 3 equal channels);
- (H, W, 3) is taken as RGB;
- (H, W, 2): channels (c0, c1, mean(c0, c1));
- (H, W, C > 3): the first three channels (RGBA -> RGB) unless ``channels`` picks three,
  e.g. BraTS modalities ``channels=(t1ce, t2, flair)``;
- ``uint8`` is divided by 255 exactly as the official ``ToTensor``; ``bool`` maps to {0, 1};
- every other dtype (integers, floats, whatever their range) is windowed to 8 bits as the
  data adapters and the dock do (:func:`napari_clickseg.data.windowing.window_to_uint8`): the
  window is ``intensity_range`` when given, else the 0.5 and 99.5 percentiles of the image
  (of a volume for volume inputs; over the nonzero values when most values are 0, as in
  skull-stripped MRI; :func:`intensity_window`), then divided by 255;
- NaN and infinite values are masked, with a :class:`NonFiniteValuesWarning`: they are left
  out of the percentiles, NaN and -inf become black (0) and +inf white (1).

The conversion to float happens block by block (:class:`ImageSource`): a predictor holds the
image as it came and converts only the pixels the network is about to see, so an 8000 x 8000
slice never exists as a full-resolution float copy.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from napari_clickseg.data.windowing import window_bounds, window_to_uint8

__all__ = [
    "ImageSource",
    "NonFiniteValuesWarning",
    "intensity_window",
    "to_rgb01",
    "to_uint8",
    "warn_non_finite",
]

#: Above this many values, window percentiles are estimated on an evenly strided sample.
MAX_WINDOW_SAMPLES = 4_000_000
#: Rows scanned at a time when an image is checked for NaN / inf.
_CHECK_ROWS = 512

NON_FINITE_MESSAGE = (
    "the image holds NaN or infinite values; they are masked: left out of the intensity "
    "window, NaN and -inf shown to the model as black, +inf as white"
)


class NonFiniteValuesWarning(UserWarning):
    """An input image held NaN or infinite values, which were masked (see the module doc)."""


def warn_non_finite(values: np.ndarray, stacklevel: int = 3) -> bool:
    """Warn (once per call site) if a float array holds NaN or inf; return whether it does.

    Parameters
    ----------
    values : numpy.ndarray
        Any shape; checked in row blocks so that no full-size boolean copy is made.
    stacklevel : int
        Passed to :func:`warnings.warn`.
    """
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.floating):
        return False
    rows = values.reshape(values.shape[0], -1) if values.ndim > 1 else values[None]
    found = any(
        not np.isfinite(rows[start : start + _CHECK_ROWS]).all()
        for start in range(0, rows.shape[0], _CHECK_ROWS)
    )
    if found:
        warnings.warn(NON_FINITE_MESSAGE, NonFiniteValuesWarning, stacklevel=stacklevel)
    return found


def strided_sample(values, max_count: int = MAX_WINDOW_SAMPLES) -> np.ndarray:
    """An evenly strided sample of at most about ``max_count`` values of an array.

    NumPy arrays are sampled along their flattened order; lazy arrays (zarr, dask) by a
    stride on every axis, so that only the sampled values are read.
    """
    size = int(np.prod(values.shape))
    if size <= max_count:
        return np.asarray(values)
    if isinstance(values, np.ndarray):
        step = int(np.ceil(size / max_count))
        return values.reshape(-1)[::step]
    step = int(np.ceil((size / max_count) ** (1.0 / len(values.shape))))
    return np.asarray(values[tuple(slice(None, None, step) for _ in values.shape)])


def intensity_window(values) -> tuple[float, float] | None:
    """The intensity window of an image or volume, None for uint8 (used as is).

    Parameters
    ----------
    values : array-like
        An image or volume (NumPy, or a lazy zarr / dask array: only a strided sample of at
        most :data:`MAX_WINDOW_SAMPLES` values is read).

    Returns
    -------
    tuple of float or None
        (low, high): ``(0, 1)`` for bool, else the 0.5 and 99.5 percentiles of the finite
        values (of the nonzero ones when fewer than half are nonzero, unless those are all
        equal); ``(0, 1)`` when there is no finite value (the image is then black).
    """
    dtype = np.dtype(values.dtype)
    if dtype == np.uint8:
        return None
    if dtype == np.bool_:
        return (0.0, 1.0)
    if not np.issubdtype(dtype, np.number):
        raise ValueError(f"image dtype {dtype} is not numeric")
    sample = strided_sample(values)
    mostly_zero = np.count_nonzero(sample) < 0.5 * sample.size
    try:
        low, high = window_bounds(sample, mask="nonzero" if mostly_zero else None)
        if mostly_zero and high <= low:
            # a constant object on zeros (a mask-like image): window from 0, not to black
            low, high = window_bounds(sample)
        return low, high
    except ValueError:  # all zero or no finite value: any window gives black
        return (0.0, 1.0)


def to_uint8(values: np.ndarray, window: tuple[float, float] | None) -> np.ndarray:
    """Values mapped to uint8 through a window of :func:`intensity_window` (None: uint8 as is)."""
    values = np.asarray(values)
    if window is None:
        return values.astype(np.uint8, copy=False)
    if values.dtype == bool:
        return values.astype(np.uint8) * np.uint8(255)
    return window_to_uint8(values, *window)


class ImageSource:
    """A 2D image ready for the network, converted to [0, 1] float only where it is read.

    The image is kept as it came (by reference, not copied: do not modify it while it is
    set); the channel choice and the intensity window are fixed once.

    Parameters
    ----------
    image : numpy.ndarray
        (H, W) or (H, W, C), channels last.
    channels : sequence of int, optional
        Three channel indices to use as the network's R, G, B.
    intensity_range : tuple of float, optional
        (low, high) window for non-uint8 images; default: :func:`intensity_window`.
    """

    def __init__(
        self,
        image: np.ndarray,
        channels: Sequence[int] | None = None,
        intensity_range: tuple[float, float] | None = None,
    ) -> None:
        array = np.asarray(image)
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim != 3 or array.shape[0] < 1 or array.shape[1] < 1:
            raise ValueError(
                "expected a 2D image (H, W) or (H, W, C) with channels last, got shape "
                f"{np.asarray(image).shape}"
            )
        if array.shape[2] > 16 and array.shape[0] <= 16:
            raise ValueError(
                f"image of shape {array.shape} looks channels-first; pass (H, W, C) with "
                "channels last"
            )
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise ValueError(f"image dtype {array.dtype} is not numeric")
        self._array = array
        self._channels = _channel_indices(array.shape[2], channels)
        self.window: tuple[float, float] | None
        if array.dtype == np.uint8 and intensity_range is None:
            self.window = None
        elif intensity_range is not None:
            low, high = (float(v) for v in intensity_range)
            if not (np.isfinite(low) and np.isfinite(high)):
                raise ValueError(
                    f"intensity_range must be two finite numbers, got {intensity_range}"
                )
            is_bool = array.dtype == np.bool_
            self.window = (0.0, 1.0) if is_bool else (min(low, high), max(low, high))
        else:
            self.window = intensity_window(self._selected(array))
        warn_non_finite(array, stacklevel=4)

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the image."""
        return int(self._array.shape[0]), int(self._array.shape[1])

    def block(self, rows, cols) -> np.ndarray:
        """The network input at a grid of pixels.

        Parameters
        ----------
        rows, cols : numpy.ndarray or slice
            Row and column indices (arrays) or slices.

        Returns
        -------
        numpy.ndarray
            (3, len(rows), len(cols)) float32 in [0, 1].
        """
        if isinstance(rows, slice) and isinstance(cols, slice):
            pixels = self._array[rows, cols]
        else:
            rows = np.arange(self.shape[0])[rows] if isinstance(rows, slice) else rows
            cols = np.arange(self.shape[1])[cols] if isinstance(cols, slice) else cols
            pixels = self._array[np.ix_(np.asarray(rows), np.asarray(cols))]
        rgb = self._normalise(pixels)
        return np.ascontiguousarray(rgb.transpose(2, 0, 1))

    def crop(self, roi: tuple[int, int, int, int]) -> np.ndarray:
        """(3, h, w) float32 input of an inclusive box (rmin, rmax, cmin, cmax)."""
        rmin, rmax, cmin, cmax = roi
        return self.block(slice(rmin, rmax + 1), slice(cmin, cmax + 1))

    def rgb01(self) -> np.ndarray:
        """The whole image as float32 (H, W, 3) in [0, 1]."""
        return self._normalise(self._array)

    def _selected(self, pixels: np.ndarray) -> np.ndarray:
        if self._channels is None:  # two channels: the window covers both
            return pixels
        return pixels[:, :, self._channels] if pixels.shape[2] > 1 else pixels

    def _normalise(self, pixels: np.ndarray) -> np.ndarray:
        if self._channels is None:
            scaled = self._scale(pixels)
            mean = scaled.mean(axis=2, keepdims=True, dtype=np.float32)
            return np.concatenate([scaled, mean], axis=2)
        if pixels.shape[2] == 1:
            scaled = self._scale(pixels)
            return np.repeat(scaled, 3, axis=2)
        return self._scale(pixels[:, :, self._channels])

    def _scale(self, pixels: np.ndarray) -> np.ndarray:
        if self.window is None:
            return pixels.astype(np.float32) / 255.0
        if pixels.dtype == bool:
            return pixels.astype(np.float32)
        return window_to_uint8(pixels, *self.window).astype(np.float32) / 255.0


def _channel_indices(count: int, channels: Sequence[int] | None) -> list[int] | None:
    """Three channel indices to feed as R, G, B; None for the two-channel (c0, c1, mean) rule."""
    if channels is not None:
        channels = list(channels)
        if len(channels) != 3 or not all(-count <= c < count for c in channels):
            raise ValueError(
                f"channels must name 3 of the image's {count} channels, got {channels}"
            )
        return channels
    if count == 1:
        return [0, 0, 0]
    if count == 2:
        return None
    return [0, 1, 2]


def to_rgb01(
    image: np.ndarray,
    channels: Sequence[int] | None = None,
    intensity_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Convert an image to float32 (H, W, 3) in [0, 1] (the rules of the module doc).

    Parameters
    ----------
    image : numpy.ndarray
        (H, W) or (H, W, C), channels last.
    channels : sequence of int, optional
        Three channel indices to use as the network's R, G, B.
    intensity_range : tuple of float, optional
        (low, high) window for non-uint8 images.

    Returns
    -------
    numpy.ndarray
        float32 (H, W, 3).
    """
    return ImageSource(image, channels, intensity_range).rgb01()
