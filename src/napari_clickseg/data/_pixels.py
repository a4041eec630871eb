"""Pixel helpers shared by the 2D adapters: images and masks read like the official loaders.

The official loaders read images with ``cv2.imread(path)`` (8-bit, 3 channels, then BGR to RGB)
and masks with ``cv2.imread(path)[:, :, 0]``. Here:

* images become uint8; grayscale stays 2D (H, W), since the engine replicates it to three
  channels just as ``cv2.imread`` does; RGBA loses its alpha; 16-bit images are divided by 256
  as OpenCV does; bool becomes 0/255; other types are scaled from their min..max to 0..255;
* masks keep their values; a colour mask gives the channel OpenCV calls 0, which is blue
  (index 2 of an RGB array), so colour masks split into objects exactly as officially.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from napari_clickseg.data.instances import DatasetError
from napari_clickseg.io.images import read_image

__all__ = [
    "FOUR_CONNECTED",
    "check_same_shape",
    "components_4",
    "image_to_uint8",
    "mask_plane",
    "read_slice_image",
    "read_slice_mask",
]

#: 4-connectivity (edge neighbours only), as ``cv2.connectedComponentsWithStats(mask, 4)``.
FOUR_CONNECTED = ndi.generate_binary_structure(2, 1)


def image_to_uint8(image: np.ndarray, source: str = "image") -> np.ndarray:
    """An image as the model sees it: uint8, (H, W) grayscale or (H, W, 3) RGB.

    Parameters
    ----------
    image : numpy.ndarray
        (H, W) or (H, W, C) with C in 1..4, any numeric type.
    source : str, optional
        Named in error messages.

    Returns
    -------
    numpy.ndarray
        uint8 (H, W) or (H, W, 3).
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] in (1, 2):
        image = image[:, :, 0]  # gray or gray + alpha
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]  # RGBA: drop alpha
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise DatasetError(
            f"{source}: expected a 2D image (H, W) or (H, W, 1..4 channels), got shape "
            f"{image.shape}; multi-page stacks need a stack adapter"
        )
    if image.dtype == np.uint8:
        return image
    if image.dtype == bool:
        return image.astype(np.uint8) * np.uint8(255)
    if image.dtype == np.uint16:
        return np.clip(np.rint(image / 256.0), 0, 255).astype(np.uint8)
    if not np.issubdtype(image.dtype, np.number):
        raise DatasetError(f"{source}: image has non-numeric type {image.dtype}")
    values = image.astype(np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        raise DatasetError(f"{source}: image has no finite value")
    low, high = float(values[finite].min()), float(values[finite].max())
    scaled = (values - low) / (high - low if high > low else 1.0)
    return np.clip(np.rint(np.nan_to_num(scaled) * 255.0), 0, 255).astype(np.uint8)


def mask_plane(mask: np.ndarray, source: str = "mask") -> np.ndarray:
    """The 2D label plane of a mask file, like ``cv2.imread(path)[:, :, 0]``.

    Parameters
    ----------
    mask : numpy.ndarray
        (H, W) or (H, W, C) with C in 1..4 (RGB order, as read by :func:`read_image`).
    source : str, optional
        Named in error messages.

    Returns
    -------
    numpy.ndarray
        (H, W) with the file's values; for 3 or 4 channels the blue channel.
    """
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[2] in (1, 2):
        mask = mask[:, :, 0]
    elif mask.ndim == 3 and mask.shape[2] in (3, 4):
        mask = mask[:, :, 2]  # OpenCV's channel 0 is blue
    if mask.ndim != 2:
        raise DatasetError(
            f"{source}: expected a 2D mask (H, W) or (H, W, 1..4 channels), got shape {mask.shape}"
        )
    if not (np.issubdtype(mask.dtype, np.integer) or mask.dtype == bool):
        raise DatasetError(f"{source}: mask must hold integer labels, got type {mask.dtype}")
    return mask


def read_slice_image(path: Path) -> np.ndarray:
    """Read an image file with :func:`image_to_uint8` applied."""
    return image_to_uint8(read_image(path), str(path))


def read_slice_mask(path: Path) -> np.ndarray:
    """Read a mask file with :func:`mask_plane` applied."""
    return mask_plane(read_image(path), str(path))


def check_same_shape(image: np.ndarray, mask: np.ndarray, image_src: str, mask_src: str) -> None:
    """Raise :class:`DatasetError` if image and mask differ in height or width."""
    if image.shape[:2] != mask.shape[:2]:
        raise DatasetError(
            f"image {image_src} is {image.shape[0]}x{image.shape[1]} but its mask {mask_src} is "
            f"{mask.shape[0]}x{mask.shape[1]}; they must have the same height and width"
        )


def components_4(foreground: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected components of a boolean mask.

    Labels run 1..n in the order of each component's first pixel in a row-major scan, the
    order ``cv2.connectedComponentsWithStats(mask, 4)`` gives; two pixels touching only at a
    corner are separate components.

    Parameters
    ----------
    foreground : numpy.ndarray
        Boolean (H, W).

    Returns
    -------
    labels : numpy.ndarray
        int32 (H, W), 0 outside the components.
    n : int
        Number of components.
    """
    labels, n = ndi.label(foreground, structure=FOUR_CONNECTED)
    return labels.astype(np.int32, copy=False), int(n)
