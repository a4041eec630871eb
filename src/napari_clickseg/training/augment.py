"""Training augmentations on NumPy arrays: an image and the masks that go with it.

Each :class:`Augmentation` is a callable ``(image, masks, rng) -> (image, masks)``:

- ``image``: (H, W, C) array (uint8 or float);
- ``masks``: list of (H, W) arrays (bool masks or integer label images); geometric steps move
  them with the image using nearest-neighbour sampling, so labels stay labels;
- ``rng``: a ``numpy.random.Generator``, the only source of randomness.

The set mirrors the official albumentations pipelines (SimpleClick ``models/iter_mask``
configs): COCO+LVIS ``UniformRandomResize(0.75, 1.40)``, ``HorizontalFlip``,
``PadIfNeeded(448, constant 0)``, ``RandomCrop(448)``, ``RandomBrightnessContrast(0.25,
(-0.15, 0.4), p=0.75)``, ``RGBShift(10, 10, 10, p=0.75)``; SBD adds ``Flip`` (vertical too)
and ``RandomRotate90``, which also suit medical slices. Differences: resizing uses
scikit-image (bilinear image, nearest masks) instead of OpenCV; the official dataset retries
the whole pipeline until an object survives the crop, :class:`RandomCrop` instead chooses a
window that keeps the object (``keep="whole"`` when it fits, else part of it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from skimage.transform import resize

Masks = list[np.ndarray]


def _check(image: np.ndarray, masks: Sequence[np.ndarray]) -> None:
    if image.ndim != 3:
        raise ValueError(f"image must be (H, W, C), got shape {image.shape}")
    for mask in masks:
        if mask.shape != image.shape[:2]:
            raise ValueError(f"mask shape {mask.shape} differs from image size {image.shape[:2]}")


def _cast_like(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    if np.issubdtype(like.dtype, np.integer):
        info = np.iinfo(like.dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(like.dtype)
    return values.astype(like.dtype)


def _max_value(image: np.ndarray) -> float:
    return 255.0 if image.dtype == np.uint8 else 1.0


class Augmentation:
    """Base class: one random transform of an image and its masks."""

    def __call__(
        self, image: np.ndarray, masks: Sequence[np.ndarray], rng: np.random.Generator
    ) -> tuple[np.ndarray, Masks]:
        _check(image, masks)
        return self.apply(image, list(masks), rng)

    def apply(
        self, image: np.ndarray, masks: Masks, rng: np.random.Generator
    ) -> tuple[np.ndarray, Masks]:
        """Transform already checked inputs."""
        raise NotImplementedError


class Compose(Augmentation):
    """Apply augmentations in order."""

    def __init__(self, steps: Sequence[Augmentation]) -> None:
        self.steps = list(steps)

    def apply(self, image, masks, rng):
        for step in self.steps:
            image, masks = step(image, masks, rng)
        return image, masks


class RandomResize(Augmentation):
    """Scale both sides by one factor drawn uniformly from ``scale_range``."""

    def __init__(self, scale_range: tuple[float, float] = (0.75, 1.40)) -> None:
        low, high = scale_range
        if not 0 < low <= high:
            raise ValueError(f"scale_range must be 0 < low <= high, got {scale_range}")
        self.scale_range = (low, high)

    def apply(self, image, masks, rng):
        scale = rng.uniform(*self.scale_range)
        height, width = image.shape[:2]
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        scaled = resize(
            image.astype(np.float32),
            (*size, image.shape[2]),
            order=1,
            preserve_range=True,
            anti_aliasing=False,
        )
        scaled_masks = [
            resize(mask, size, order=0, preserve_range=True, anti_aliasing=False).astype(mask.dtype)
            for mask in masks
        ]
        return _cast_like(scaled, image), scaled_masks


class HorizontalFlip(Augmentation):
    """Mirror left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def apply(self, image, masks, rng):
        if rng.random() >= self.p:
            return image, masks
        return image[:, ::-1].copy(), [mask[:, ::-1].copy() for mask in masks]


class VerticalFlip(Augmentation):
    """Mirror top-bottom with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def apply(self, image, masks, rng):
        if rng.random() >= self.p:
            return image, masks
        return image[::-1].copy(), [mask[::-1].copy() for mask in masks]


class RandomRotate90(Augmentation):
    """With probability ``p``, rotate by k x 90 degrees, k uniform in 0..3 (albumentations)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def apply(self, image, masks, rng):
        if rng.random() >= self.p:
            return image, masks
        turns = int(rng.integers(4))
        return (
            np.rot90(image, turns, axes=(0, 1)).copy(),
            [np.rot90(mask, turns).copy() for mask in masks],
        )


class PadIfNeeded(Augmentation):
    """Pad (centred, constant) up to at least ``size`` = (height, width)."""

    def __init__(self, size: tuple[int, int], image_fill: float = 0, mask_fill: int = 0) -> None:
        self.size = size
        self.image_fill = image_fill
        self.mask_fill = mask_fill

    def apply(self, image, masks, rng):
        height, width = image.shape[:2]
        pad_h, pad_w = max(0, self.size[0] - height), max(0, self.size[1] - width)
        if pad_h == 0 and pad_w == 0:
            return image, masks
        spec = ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2))
        padded = np.pad(image, (*spec, (0, 0)), constant_values=self.image_fill)
        return padded, [np.pad(mask, spec, constant_values=self.mask_fill) for mask in masks]


def _crop_origin(
    object_mask: np.ndarray | None,
    size: int,
    extent: int,
    axis: int,
    keep: str | None,
    rng: np.random.Generator,
    anchor: tuple[int, int] | None,
) -> int:
    limit = extent - size
    if object_mask is None or keep is None or not object_mask.any():
        return int(rng.integers(limit + 1))
    coords = np.nonzero(object_mask.any(axis=1 - axis))[0]
    first, last = int(coords[0]), int(coords[-1])
    if keep == "whole" and last - first + 1 <= size:
        low, high = max(0, last - size + 1), min(first, limit)
        return int(rng.integers(low, high + 1))
    # Too big (or keep="any"): a window that contains the anchor pixel of the object.
    position = anchor[axis]
    low, high = max(0, position - size + 1), min(position, limit)
    return int(rng.integers(low, high + 1))


class RandomCrop(Augmentation):
    """Crop a ``size`` = (height, width) window; pad first if the image is smaller.

    Parameters
    ----------
    size : tuple of int
        Output (height, width).
    keep : {"whole", "any", None}
        ``"whole"``: the window contains the whole object where it fits on an axis, else a
        random object pixel; ``"any"``: the window contains a random object pixel; ``None``:
        uniform window (the official ``RandomCrop``).
    object_index : int
        Which mask is the object to keep (nonzero pixels).
    """

    def __init__(
        self, size: tuple[int, int], keep: str | None = "whole", object_index: int = 0
    ) -> None:
        if keep not in ("whole", "any", None):
            raise ValueError(f"keep must be 'whole', 'any' or None, got {keep!r}")
        self.size = size
        self.keep = keep
        self.object_index = object_index
        self._pad = PadIfNeeded(size)

    def apply(self, image, masks, rng):
        image, masks = self._pad(image, masks, rng)
        object_mask = None
        anchor = None
        if self.keep is not None and masks:
            if self.object_index >= len(masks):
                raise ValueError(
                    f"object_index {self.object_index} but only {len(masks)} mask(s) given"
                )
            object_mask = masks[self.object_index] > 0
            pixels = np.argwhere(object_mask)
            if len(pixels):
                anchor = tuple(int(v) for v in pixels[int(rng.integers(len(pixels)))])
        height, width = image.shape[:2]
        top = _crop_origin(object_mask, self.size[0], height, 0, self.keep, rng, anchor)
        left = _crop_origin(object_mask, self.size[1], width, 1, self.keep, rng, anchor)
        window = (slice(top, top + self.size[0]), slice(left, left + self.size[1]))
        return image[window].copy(), [mask[window].copy() for mask in masks]


class RandomBrightnessContrast(Augmentation):
    """``image * (1 + c) + b * max_value`` with c, b uniform, probability ``p`` (albumentations)."""

    def __init__(
        self,
        brightness: tuple[float, float] = (-0.25, 0.25),
        contrast: tuple[float, float] = (-0.15, 0.4),
        p: float = 0.75,
    ) -> None:
        self.brightness = brightness
        self.contrast = contrast
        self.p = p

    def apply(self, image, masks, rng):
        if rng.random() >= self.p:
            return image, masks
        gain = 1.0 + rng.uniform(*self.contrast)
        offset = rng.uniform(*self.brightness) * _max_value(image)
        values = image.astype(np.float32) * gain + offset
        return _cast_like(np.clip(values, 0, _max_value(image)), image), masks


class RGBShift(Augmentation):
    """Add a uniform random shift in ``[-limit, limit]`` to each channel (uint8 scale)."""

    def __init__(self, limit: float = 10, p: float = 0.75) -> None:
        self.limit = limit
        self.p = p

    def apply(self, image, masks, rng):
        if rng.random() >= self.p:
            return image, masks
        scale = _max_value(image) / 255.0
        shift = rng.uniform(-self.limit, self.limit, size=image.shape[2]) * scale
        values = image.astype(np.float32) + shift.astype(np.float32)
        return _cast_like(np.clip(values, 0, _max_value(image)), image), masks


def natural_image_augmentation(size: tuple[int, int] = (448, 448)) -> Compose:
    """The COCO+LVIS training pipeline of SimpleClick (resize, h-flip, crop, colour)."""
    return Compose(
        [
            RandomResize((0.75, 1.40)),
            HorizontalFlip(),
            RandomCrop(size),
            RandomBrightnessContrast(),
            RGBShift(),
        ]
    )


def medical_augmentation(size: tuple[int, int] = (448, 448)) -> Compose:
    """For slices without a canonical orientation: both flips and 90-degree turns, no RGB shift."""
    return Compose(
        [
            RandomResize((0.75, 1.25)),
            HorizontalFlip(),
            VerticalFlip(),
            RandomRotate90(),
            RandomCrop(size),
            RandomBrightnessContrast(),
        ]
    )
