"""Initial click simulation for training: the official ``MultiPointSampler``.

Follows ``isegm/data/points_sampler.py`` (RITM, used unchanged by SimpleClick, CFR-ICL,
iCMFormer and PiClick) without hierarchy, soft targets or a centred first click:

- positive clicks: ``1 + k`` of them with ``P(k)`` proportional to ``prob_gamma**k``
  (k = 0 .. max_num_points - 1), uniform random pixels of the object mask; with probability
  ``positive_erode_prob`` that mask is first eroded (3x3, ``positive_erode_iters`` times) if more
  than 10 pixels survive. The image border does not erode (OpenCV's default border value);
- negative clicks: ``k`` of them with ``P(k)`` proportional to ``prob_gamma**k``
  (k = 0 .. max_num_points); each draws a strategy - background, other objects, border band
  (probabilities 0.1 / 0.4 / 0.5) - and then a uniform pixel of that region; a draw in an empty
  region is skipped, as in the official code. The border band is the object dilated by
  ``ceil(expand_ratio * sqrt(area))`` 3x3 steps, minus the object; "other objects" falls back to
  the background when the image has no other object;
- merged objects (:meth:`MultiPointSampler.select_object`): with ``merge_objects_prob`` the
  target is the union of 2 .. ``max_num_merged_objects`` objects; then each part gets one
  click (its first) and the rest are drawn from a uniformly chosen part, at most
  ``max_num_points`` in all;
- PiClick's ``points_reduce`` (``point_reduce_prob``, off by default): after sampling, keep
  k of the n positive clicks (k = 1 .. n, weights ``p**(k-1)``) and k of the negative ones
  (k = 0 .. n, weights ``p**k``), drawn *with replacement* as officially (duplicates possible),
  so that few clicks - the ambiguous case - are common;
- the result is the official points layout (see :mod:`napari_clickseg.models.click_maps`):
  ``(2 * max_num_points, 3)`` rows (row, col, order), positives first, each half padded with
  (-1, -1, -1). Orders are a random permutation of 2 .. n + 1, as the CFR-ICL dataset assigns
  them (order 1 is reserved for a centred first click); the disks ignore the order.

All randomness comes from the ``numpy.random.Generator`` passed in, so a draw is reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

_KERNEL = np.ones((3, 3), dtype=bool)
NEGATIVE_STRATEGIES = ("bg", "other", "border")


def geometric_probs(count: int, gamma: float) -> np.ndarray:
    """Probabilities proportional to ``gamma**k`` for k = 0 .. count - 1."""
    probs = gamma ** np.arange(count, dtype=np.float64)
    return probs / probs.sum()


@dataclass
class SelectedObject:
    """The target chosen from an image's objects.

    Attributes
    ----------
    gt_mask : numpy.ndarray
        (H, W) bool union of the chosen objects: the training target.
    parts : list of numpy.ndarray
        The chosen objects one by one (one entry unless objects were merged).
    other_objects : numpy.ndarray
        (H, W) bool pixels of the image's other objects (not in ``gt_mask``).
    """

    gt_mask: np.ndarray
    parts: list[np.ndarray]
    other_objects: np.ndarray


def _as_object_masks(objects: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    if isinstance(objects, np.ndarray) and objects.ndim == 2:
        labels = [value for value in np.unique(objects) if value > 0]
        return [objects == value for value in labels]
    masks = [np.asarray(mask, dtype=bool) for mask in objects]
    if any(mask.ndim != 2 for mask in masks):
        raise ValueError("objects must be an (H, W) label image or a sequence of (H, W) masks")
    if masks and any(mask.shape != masks[0].shape for mask in masks):
        raise ValueError("all object masks must have the same (H, W) shape")
    return [mask for mask in masks if mask.any()]


class MultiPointSampler:
    """Random positive and negative clicks for one training target.

    Parameters
    ----------
    max_num_points : int
        Most clicks of each sign (24 in the released SimpleClick / PiClick training, 12 in
        CFR-ICL fine-tuning).
    prob_gamma : float
        Ratio of the geometric click-count distribution (official class default 0.7; the
        training configs use 0.8).
    expand_ratio : float
        Width of the border band as a fraction of the square root of the object area.
    positive_erode_prob, positive_erode_iters : float, int
        Chance and strength of eroding the object before drawing positive clicks.
    negative_bg_prob, negative_other_prob, negative_border_prob : float
        Strategy probabilities of a negative click (they must sum to 1).
    merge_objects_prob : float
        Chance that :meth:`select_object` merges several objects into one target.
    max_num_merged_objects : int
        Most objects merged into one target.
    point_reduce_prob : float, optional
        PiClick's click thinning (0.7 in its training); None (the default) keeps every click.
    """

    def __init__(
        self,
        max_num_points: int = 24,
        prob_gamma: float = 0.7,
        expand_ratio: float = 0.1,
        positive_erode_prob: float = 0.9,
        positive_erode_iters: int = 3,
        negative_bg_prob: float = 0.1,
        negative_other_prob: float = 0.4,
        negative_border_prob: float = 0.5,
        merge_objects_prob: float = 0.0,
        max_num_merged_objects: int = 2,
        point_reduce_prob: float | None = None,
    ) -> None:
        if max_num_points < 1:
            raise ValueError(f"max_num_points must be at least 1, got {max_num_points}")
        if not 0 < prob_gamma <= 1:
            raise ValueError(f"prob_gamma must be in (0, 1], got {prob_gamma}")
        strategy_probs = (negative_bg_prob, negative_other_prob, negative_border_prob)
        if min(strategy_probs) < 0 or not np.isclose(sum(strategy_probs), 1.0):
            raise ValueError(
                f"negative strategy probabilities {strategy_probs} must be >= 0 and sum to 1"
            )
        self.max_num_points = max_num_points
        self.prob_gamma = prob_gamma
        self.expand_ratio = expand_ratio
        self.positive_erode_prob = positive_erode_prob
        self.positive_erode_iters = positive_erode_iters
        self.negative_strategy_probs = np.asarray(strategy_probs, dtype=np.float64)
        self.merge_objects_prob = merge_objects_prob
        self.max_num_merged_objects = max_num_merged_objects
        if point_reduce_prob is not None and not 0 < point_reduce_prob <= 1:
            raise ValueError(
                f"point_reduce_prob must be in (0, 1] or None, got {point_reduce_prob}"
            )
        self.point_reduce_prob = point_reduce_prob
        self.positive_count_probs = geometric_probs(max_num_points, prob_gamma)
        self.negative_count_probs = geometric_probs(max_num_points + 1, prob_gamma)

    # -- choosing the target -------------------------------------------------------------

    def select_object(
        self, objects: np.ndarray | Sequence[np.ndarray], rng: np.random.Generator
    ) -> SelectedObject:
        """Choose the training target among an image's objects (merging some by chance).

        Parameters
        ----------
        objects : numpy.ndarray or sequence of numpy.ndarray
            An (H, W) instance label image (0 background) or a list of (H, W) object masks.
        rng : numpy.random.Generator
            Source of randomness.

        Returns
        -------
        SelectedObject
        """
        masks = _as_object_masks(objects)
        if not masks:
            raise ValueError("no object to select: the label image / mask list is empty")
        if len(masks) > 1 and rng.random() < self.merge_objects_prob:
            most = min(len(masks), self.max_num_merged_objects)
            count = int(rng.integers(2, most + 1))
            chosen = rng.choice(len(masks), size=count, replace=False)
        else:
            chosen = [int(rng.integers(len(masks)))]
        parts = [masks[i] for i in chosen]
        gt_mask = np.logical_or.reduce(parts)
        all_objects = np.logical_or.reduce(masks)
        return SelectedObject(gt_mask, parts, all_objects & ~gt_mask)

    # -- clicks --------------------------------------------------------------------------

    def sample(
        self,
        gt_mask: np.ndarray,
        rng: np.random.Generator,
        other_objects: np.ndarray | None = None,
        parts: Sequence[np.ndarray] | None = None,
    ) -> np.ndarray:
        """Random clicks for a target in the official points layout.

        Parameters
        ----------
        gt_mask : numpy.ndarray
            (H, W) target mask (nonzero = object).
        rng : numpy.random.Generator
            Source of randomness.
        other_objects : numpy.ndarray, optional
            (H, W) pixels of the image's other objects; negatives of the "other" strategy
            come from here (minus the target). Without them they come from the background.
        parts : sequence of numpy.ndarray, optional
            The merged objects the target is made of (from :meth:`select_object`); each gets
            at least one positive click.

        Returns
        -------
        numpy.ndarray
            float32 (2 * max_num_points, 3): rows (row, col, order), the positive clicks
            first, each half padded with (-1, -1, -1).
        """
        gt = np.asarray(gt_mask) > 0
        if gt.ndim != 2:
            raise ValueError(f"gt_mask must be a 2D (H, W) mask, got shape {gt.shape}")
        if parts is None:
            parts = [gt] if gt.any() else []
        for part in parts:
            if np.shape(part) != gt.shape:
                raise ValueError(f"part shape {np.shape(part)} differs from gt_mask {gt.shape}")
        positive_regions = [self._maybe_erode(np.asarray(part) > 0, rng) for part in parts]
        positives = self._multi_region_points(positive_regions, rng)

        background = ~gt
        if other_objects is not None and np.asarray(other_objects).any():
            if np.shape(other_objects) != gt.shape:
                raise ValueError(
                    f"other_objects shape {np.shape(other_objects)} differs from gt_mask {gt.shape}"
                )
            other = (np.asarray(other_objects) > 0) & background
        else:
            other = background
        if gt.any():
            regions = (background, other, self._border_band(gt))
        else:  # a background-only sample: every strategy draws from the background (official)
            regions = (background, background, background)
        negatives = self._negative_points(regions, rng)
        if self.point_reduce_prob is not None:
            positives = self._reduce(positives, 1, rng)
            negatives = self._reduce(negatives, 0, rng)
        return self._layout(positives, negatives, rng)

    def _reduce(
        self, points: list[tuple[int, int]], minimum: int, rng: np.random.Generator
    ) -> list[tuple[int, int]]:
        if len(points) < minimum or not points:
            return points
        counts = np.arange(minimum, len(points) + 1)
        count = int(rng.choice(counts, p=geometric_probs(len(counts), self.point_reduce_prob)))
        return [points[int(i)] for i in rng.integers(len(points), size=count)]

    def _maybe_erode(self, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if rng.random() > self.positive_erode_prob:
            return mask
        eroded = ndimage.binary_erosion(
            mask, _KERNEL, iterations=self.positive_erode_iters, border_value=1
        )
        return eroded if eroded.sum() > 10 else mask

    def _border_band(self, gt: np.ndarray) -> np.ndarray:
        radius = int(np.ceil(self.expand_ratio * np.sqrt(gt.sum())))
        if radius < 1:
            return np.zeros_like(gt)
        return ndimage.binary_dilation(gt, _KERNEL, iterations=radius) & ~gt

    def _positive_count(self, rng: np.random.Generator) -> int:
        return 1 + int(rng.choice(self.max_num_points, p=self.positive_count_probs))

    def _negative_count(self, rng: np.random.Generator) -> int:
        return int(rng.choice(self.max_num_points + 1, p=self.negative_count_probs))

    @staticmethod
    def _random_pixel(pixels: np.ndarray, rng: np.random.Generator) -> tuple[int, int] | None:
        if len(pixels) == 0:
            return None
        row, col = pixels[int(rng.integers(len(pixels)))]
        return int(row), int(col)

    def _points_in(
        self, pixels: np.ndarray, count: int, rng: np.random.Generator
    ) -> list[tuple[int, int]]:
        drawn = (self._random_pixel(pixels, rng) for _ in range(count))
        return [point for point in drawn if point is not None]

    def _multi_region_points(
        self, regions: Sequence[np.ndarray], rng: np.random.Generator
    ) -> list[tuple[int, int]]:
        pixels = [np.argwhere(region) for region in regions]
        per_region = [self._points_in(p, self._positive_count(rng), rng) for p in pixels]
        per_region = [pts for pts in per_region if pts]
        if len(per_region) <= 1:
            return per_region[0] if per_region else []
        # Merged objects: the first click of every part, then clicks from random parts.
        points = [pts[0] for pts in per_region]
        extra = []
        for _ in range(self._negative_count(rng)):
            # The official code chooses among all parts (even ones without clicks).
            region = pixels[int(rng.integers(len(pixels)))]
            point = self._random_pixel(region, rng)
            if point is not None:
                extra.append(point)
        room = self.max_num_points - len(points)
        if len(extra) > room:
            keep = rng.choice(len(extra), size=room, replace=False)
            extra = [extra[i] for i in keep]
        return points + extra

    def _negative_points(
        self, regions: Sequence[np.ndarray], rng: np.random.Generator
    ) -> list[tuple[int, int]]:
        pixels = [np.argwhere(region) for region in regions]
        points = []
        for _ in range(self._negative_count(rng)):
            strategy = int(rng.choice(len(regions), p=self.negative_strategy_probs))
            point = self._random_pixel(pixels[strategy], rng)
            if point is not None:
                points.append(point)
        return points

    def _layout(
        self,
        positives: list[tuple[int, int]],
        negatives: list[tuple[int, int]],
        rng: np.random.Generator,
    ) -> np.ndarray:
        half = self.max_num_points
        points = np.full((2 * half, 3), -1.0, dtype=np.float32)
        orders = rng.permutation(len(positives) + len(negatives)) + 2
        for i, (row, col) in enumerate(positives):
            points[i] = (row, col, orders[i])
        for i, (row, col) in enumerate(negatives):
            points[half + i] = (row, col, orders[len(positives) + i])
        return points


def masks_consistent_with_clicks(
    objects: np.ndarray | Sequence[np.ndarray], points: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """PiClick's multi-target ground truth: every object the clicks cannot tell apart.

    Follows ``get_masks_by_points`` of the PiClick trainer: an object is a valid answer when
    every positive click lies inside it and every negative click outside; the sampled target is
    added when it is not one of them (a merged target, for instance).

    Parameters
    ----------
    objects : numpy.ndarray or sequence of numpy.ndarray
        (H, W) instance label image (0 background) or a list of (H, W) object masks.
    points : numpy.ndarray
        (2M, 3) clicks in the official layout (rows with order -1 are padding).
    target : numpy.ndarray
        (H, W) the sampled training target.

    Returns
    -------
    numpy.ndarray
        bool (n, H, W), n >= 1.
    """
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 3 or points.shape[0] % 2:
        raise ValueError(f"points must be (2M, 3), got shape {points.shape}")
    half = points.shape[0] // 2
    valid = points[:, 2] >= 0
    rows, cols = points[:, 0].astype(int), points[:, 1].astype(int)
    positive = valid & (np.arange(len(points)) < half)
    negative = valid & (np.arange(len(points)) >= half)
    target = np.asarray(target) > 0
    consistent = []
    for mask in _as_object_masks(objects):
        hit = mask[rows[valid], cols[valid]]
        inside = np.zeros(len(points), dtype=bool)
        inside[valid] = hit
        if inside[positive].all() and not inside[negative].any():
            consistent.append(mask)
    if not any(np.array_equal(mask, target) for mask in consistent):
        consistent.append(target)
    return np.stack(consistent)
