"""SUEM copy-paste augmentation of CFR-ICL.

Follows the CFR-ICL dataset (``isegm/data/base.py``, ``ISDataset.__getitem__``; all CFR-ICL
training configs use ``copy_paste_prob=0.5, image_mix_prob=0.5``). After the usual
augmentation, with the sample's target object O:

1. with ``copy_paste_prob``: paste O (alpha-blended, alpha ~ U[0.5, 1]) at the same position
   onto another image; that image with O as the only target becomes the sample;
2. with ``copy_paste_prob``: add a distractor object I taken (at its own position) from another
   image, trying up to 5 images and skipping an I that leaves at most 20 pixels of O
   visible; one of three modes, uniformly:
   ``"occlude"`` paste I opaquely and remove it from the target, ``"union"`` paste I opaquely
   and add it to the target, ``"blend"`` blend I in with weight ``1 - alpha`` (target
   unchanged);
3. with ``image_mix_prob``: mix the whole image with another, ``alpha * image + (1 - alpha) *
   other``, target unchanged.

Images are (H, W, C) arrays of one size (the training crop size); masks are (H, W) and nonzero
marks the object. Blending is computed in float and rounded back to the image dtype, as
OpenCV's ``addWeighted`` saturates and rounds for uint8. Nothing modifies its inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

DISTRACTOR_MODES = ("occlude", "union", "blend")

#: ``draw(rng) -> (image, object_mask)``: another augmented training sample and one object of it.
SampleDrawer = Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]


def _check_same_size(image: np.ndarray, other: np.ndarray, what: str) -> None:
    if image.shape != other.shape:
        raise ValueError(
            f"{what} has shape {other.shape} but the image has {image.shape}; copy-paste needs "
            "images of one size (apply it after cropping to the training size)"
        )


def _blend(first: np.ndarray, second: np.ndarray, alpha: float) -> np.ndarray:
    values = alpha * first.astype(np.float64) + (1.0 - alpha) * second.astype(np.float64)
    if np.issubdtype(first.dtype, np.integer):
        info = np.iinfo(first.dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(first.dtype)
    return values.astype(first.dtype)


def draw_alpha(rng: np.random.Generator) -> float:
    """Blending weight uniform in [0.5, 1] (official ``rand() / 2 + 0.5``)."""
    return float(rng.random() / 2 + 0.5)


def paste_object(
    object_image: np.ndarray,
    object_mask: np.ndarray,
    target_image: np.ndarray,
    alpha: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Blend an object onto another image at the same position.

    Returns
    -------
    tuple of numpy.ndarray
        The new image (``alpha * object + (1 - alpha) * target`` on the object, the target
        image elsewhere) and the new target mask (bool, the object).
    """
    _check_same_size(target_image, object_image, "the object image")
    inside = np.asarray(object_mask) > 0
    if inside.shape != target_image.shape[:2]:
        raise ValueError(f"object mask {inside.shape} does not match image {target_image.shape}")
    image = target_image.copy()
    image[inside] = _blend(object_image, target_image, alpha)[inside]
    return image, inside.copy()


def distractor_is_usable(mask: np.ndarray, distractor_mask: np.ndarray, min_visible: int = 20):
    """Whether the distractor leaves more than ``min_visible`` pixels of the target uncovered."""
    return int(np.count_nonzero((mask > 0) & ~(distractor_mask > 0))) > min_visible


def add_distractor(
    image: np.ndarray,
    mask: np.ndarray,
    distractor_image: np.ndarray,
    distractor_mask: np.ndarray,
    mode: str,
    alpha: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Put another image's object into the sample.

    Parameters
    ----------
    image, mask : numpy.ndarray
        The sample: (H, W, C) image and (H, W) target mask.
    distractor_image, distractor_mask : numpy.ndarray
        Another image of the same size and one of its objects (at its own position).
    mode : {"occlude", "union", "blend"}
        ``"occlude"``: copy the distractor pixels and remove them from the target;
        ``"union"``: copy them and add them to the target; ``"blend"``: mix them in as
        ``alpha * image + (1 - alpha) * distractor``, target unchanged.
    alpha : float
        Weight of the sample image in ``"blend"`` mode.

    Returns
    -------
    tuple of numpy.ndarray
        New image and new bool target mask.
    """
    if mode not in DISTRACTOR_MODES:
        raise ValueError(f"mode must be one of {DISTRACTOR_MODES}, got {mode!r}")
    _check_same_size(image, distractor_image, "the distractor image")
    inside = np.asarray(distractor_mask) > 0
    target = np.asarray(mask) > 0
    if inside.shape != target.shape or target.shape != image.shape[:2]:
        raise ValueError(
            f"mask {target.shape} and distractor mask {inside.shape} must match image "
            f"{image.shape[:2]}"
        )
    new_image = image.copy()
    if mode == "blend":
        new_image[inside] = _blend(image, distractor_image, alpha)[inside]
        return new_image, target.copy()
    new_image[inside] = distractor_image[inside]
    new_mask = target & ~inside if mode == "occlude" else target | inside
    return new_image, new_mask


def mix_images(image: np.ndarray, other: np.ndarray, alpha: float) -> np.ndarray:
    """Whole-image mixing ``alpha * image + (1 - alpha) * other``."""
    _check_same_size(image, other, "the other image")
    return _blend(image, other, alpha)


class SUEMCopyPaste:
    """The three SUEM steps, each with its probability.

    Parameters
    ----------
    copy_paste_prob : float
        Probability of step 1 (paste the object on another image) and, independently, of
        step 2 (add a distractor).
    image_mix_prob : float
        Probability of step 3 (whole-image mixing).
    max_distractor_tries : int
        Other images tried for a usable distractor.
    min_visible : int
        A distractor must leave more than this many target pixels uncovered.
    """

    def __init__(
        self,
        copy_paste_prob: float = 0.5,
        image_mix_prob: float = 0.5,
        max_distractor_tries: int = 5,
        min_visible: int = 20,
    ) -> None:
        for name, value in (
            ("copy_paste_prob", copy_paste_prob),
            ("image_mix_prob", image_mix_prob),
        ):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value}")
        self.copy_paste_prob = copy_paste_prob
        self.image_mix_prob = image_mix_prob
        self.max_distractor_tries = max_distractor_tries
        self.min_visible = min_visible

    def __call__(
        self,
        image: np.ndarray,
        mask: np.ndarray,
        draw_sample: SampleDrawer,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Augment one sample.

        Parameters
        ----------
        image : numpy.ndarray
            (H, W, C) sample image.
        mask : numpy.ndarray
            (H, W) target object mask.
        draw_sample : callable
            ``draw_sample(rng) -> (image, object_mask)``: another random, augmented sample of
            the same size and one of its objects.
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        tuple of numpy.ndarray
            The new image and bool target mask.
        """
        mask = np.asarray(mask) > 0
        if rng.random() < self.copy_paste_prob:
            target_image, _ = draw_sample(rng)
            image, mask = paste_object(image, mask, target_image, draw_alpha(rng))
        if rng.random() < self.copy_paste_prob:
            for _ in range(self.max_distractor_tries):
                other_image, other_mask = draw_sample(rng)
                if not distractor_is_usable(mask, other_mask, self.min_visible):
                    continue
                mode = DISTRACTOR_MODES[int(rng.integers(len(DISTRACTOR_MODES)))]
                alpha = draw_alpha(rng) if mode == "blend" else 1.0
                image, mask = add_distractor(image, mask, other_image, other_mask, mode, alpha)
                break
        if rng.random() < self.image_mix_prob:
            other_image, _ = draw_sample(rng)
            image = mix_images(image, other_image, draw_alpha(rng))
        return image, mask
