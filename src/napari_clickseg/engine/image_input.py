"""Turning user images into the network's 3-channel [0, 1] input.

Rules (documented in docs/api.md):

- 2D (H, W) grayscale and single-channel images are replicated to 3 channels, as the
  official data loaders do for grayscale PNGs (``cv2.imread`` returns 3 equal channels);
- (H, W, 3) is taken as RGB;
- (H, W, 2): channels (c0, c1, mean(c0, c1));
- (H, W, C > 3): the first three channels (RGBA -> RGB) unless ``channels`` picks three,
  e.g. BraTS modalities ``channels=(t1ce, t2, flair)``;
- ``uint8`` is divided by 255 exactly as the official ``ToTensor``; ``bool`` maps to {0, 1};
  floats already inside [0, 1] are kept; anything else is mapped linearly from
  ``intensity_range`` (default: the image's own min and max) to [0, 1] and clipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def to_rgb01(
    image: np.ndarray,
    channels: Sequence[int] | None = None,
    intensity_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Convert an image to float32 (H, W, 3) in [0, 1].

    Parameters
    ----------
    image : numpy.ndarray
        (H, W) or (H, W, C), channels last.
    channels : sequence of int, optional
        Three channel indices to use as the network's R, G, B.
    intensity_range : tuple of float, optional
        (low, high) mapped to (0, 1) for non-uint8 images.

    Returns
    -------
    numpy.ndarray
        float32 (H, W, 3).
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(
            f"expected a 2D image (H, W) or (H, W, C) with channels last, got shape {image.shape}"
        )
    if image.shape[2] > 16 and image.shape[0] <= 16:
        raise ValueError(
            f"image of shape {image.shape} looks channels-first; pass (H, W, C) with channels last"
        )
    if not (np.issubdtype(image.dtype, np.number) or image.dtype == bool):
        raise ValueError(f"image dtype {image.dtype} is not numeric")
    image = _select_channels(image, channels)
    return _scale_intensity(image, intensity_range)


def _select_channels(image: np.ndarray, channels: Sequence[int] | None) -> np.ndarray:
    count = image.shape[2]
    if channels is not None:
        channels = list(channels)
        if len(channels) != 3 or not all(-count <= c < count for c in channels):
            raise ValueError(
                f"channels must name 3 of the image's {count} channels, got {channels}"
            )
        return image[:, :, channels]
    if count == 1:
        return np.repeat(image, 3, axis=2)
    if count == 2:
        mean = image.astype(np.float32).mean(axis=2, keepdims=True)
        return np.concatenate([image.astype(np.float32), mean], axis=2)
    return image[:, :, :3]


def _scale_intensity(image: np.ndarray, intensity_range: tuple[float, float] | None) -> np.ndarray:
    if image.dtype == np.uint8 and intensity_range is None:
        return image.astype(np.float32) / 255.0
    if image.dtype == bool:
        return image.astype(np.float32)
    values = image.astype(np.float32)
    if not np.isfinite(values).all():
        raise ValueError("image contains NaN or infinite values")
    if intensity_range is None:
        low, high = float(values.min()), float(values.max())
        if np.issubdtype(image.dtype, np.floating) and low >= 0.0 and high <= 1.0:
            return values
    else:
        low, high = (float(v) for v in intensity_range)
    if high <= low:
        return np.zeros_like(values)
    return np.clip((values - low) / (high - low), 0.0, 1.0).astype(np.float32)
