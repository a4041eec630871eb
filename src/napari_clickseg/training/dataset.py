"""Training samples: (image crop, target mask, initial clicks) from data sets and generators.

Objects come from two kinds of source (:class:`~napari_clickseg.training.config.DataSource`):

- any folder :func:`~napari_clickseg.data.registry.open_dataset` opens (``"isbi:/data/isbi"``,
  ``"brats:..."``, ``"folder:..."``, ...): the adapters' objects, already windowed to uint8,
  grouped back into their images (objects of one image share its array);
- ``"synthetic:<kind>"``: the seeded generators, through the same registry
  (:class:`~napari_clickseg.data.synthetic_dataset.SyntheticDataset`), one training image per
  slice (``em_cells``, ``em_mitochondria``, ``brain``, ``knee``).

Hold-out rules keep objects out of training. A rule is ``"<kind>:<field>=<values>"``: ``kind``
is a data set kind (``isbi``, ``brats``, ..., ``synthetic``) or ``*``; ``field`` is ``name``
(glob patterns on the object name) or a key of the objects' ``meta`` (``slice``, ``case``, ...);
``values`` is a comma list of values and integer ranges ``a-b``. For example
``"isbi:slice=20-29"`` and ``"brats:case=Brats18_TCIA05_396_1"``.

:class:`ClickTrainDataset` draws sample ``i`` of epoch ``e`` from a generator seeded with
``(seed, e, i)``, so a sample does not depend on worker processes, the number of GPUs or on
where a run was resumed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from skimage.transform import resize

from napari_clickseg.engine.zoom_in import bbox_from_mask
from napari_clickseg.training.augment import (
    Augmentation,
    Compose,
    HorizontalFlip,
    RandomBrightnessContrast,
    RandomCrop,
    RandomRotate90,
    RGBShift,
    VerticalFlip,
)
from napari_clickseg.training.click_sampler import MultiPointSampler

__all__ = [
    "ClickTrainDataset",
    "HoldoutRule",
    "PredictorView",
    "TrainImage",
    "build_augmentation",
    "describe_images",
    "load_eval_objects",
    "load_train_images",
    "parse_holdout_rule",
]


# ------------------------------------------------------------------------------------------
# hold-out rules


@dataclass(frozen=True)
class HoldoutRule:
    """Objects of data sets of ``kind`` whose ``field`` has one of ``values`` are held out."""

    kind: str
    field: str
    values: tuple[str, ...]
    text: str = ""

    def matches(self, kind: str, name: str, meta: dict[str, Any]) -> bool:
        """Whether an object (of a data set of ``kind``) falls under the rule."""
        if self.kind not in ("*", kind):
            return False
        if self.field == "name":
            return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.values)
        if self.field not in meta:
            return False
        return str(meta[self.field]) in self.values


def parse_holdout_rule(text: str) -> HoldoutRule:
    """Parse ``"<kind>:<field>=<values>"`` (see the module docstring).

    Raises
    ------
    ValueError
        For text that does not follow the form or a malformed range.
    """
    kind, sep, rest = str(text).partition(":")
    name, eq, values = rest.partition("=")
    if not sep or not eq or not kind.strip() or not name.strip() or not values.strip():
        raise ValueError(
            f"hold-out rule {text!r} must read '<kind>:<field>=<values>', e.g. "
            "'isbi:slice=20-29' or 'brats:case=Brats18_TCIA05_396_1'"
        )
    expanded: list[str] = []
    for item in (v.strip() for v in values.split(",")):
        low, dash, high = item.partition("-")
        if dash and low.isdigit() and high.isdigit():
            if int(low) > int(high):
                raise ValueError(f"hold-out rule {text!r}: range {item!r} runs backwards")
            expanded.extend(str(i) for i in range(int(low), int(high) + 1))
        elif item:
            expanded.append(item)
    return HoldoutRule(kind.strip(), name.strip(), tuple(expanded), str(text))


# ------------------------------------------------------------------------------------------
# images and their objects


@dataclass
class TrainImage:
    """One training image and its objects.

    Attributes
    ----------
    name : str
        Where it comes from (for messages).
    image : numpy.ndarray
        uint8 (H, W, 3), windowed.
    objects : list of numpy.ndarray
        bool (H, W) object masks (at least one).
    ignore : numpy.ndarray or None
        bool (H, W) pixels excluded from the loss and the click sampling (gt value -1).
    object_names : list of str
        The objects' names, in the order of ``objects``.
    source : int
        Index of the training source it was read from.
    """

    name: str
    image: np.ndarray
    objects: list[np.ndarray]
    ignore: np.ndarray | None = None
    object_names: list[str] = field(default_factory=list)
    source: int = 0


def _rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    return np.ascontiguousarray(image, dtype=np.uint8)


def _source_kind(spec: str) -> tuple[str, str]:
    """(kind, rest) of a source spec; the kind of a bare path is detected from its layout."""
    from napari_clickseg.data.registry import DATASET_KINDS, detect_kind

    kind, sep, rest = spec.partition(":")
    if sep and kind in DATASET_KINDS:
        return kind, rest
    return detect_kind(spec), spec


def load_eval_objects(spec: str, options: dict[str, Any] | None = None) -> tuple[str, list[Any]]:
    """Objects of one source as evaluation objects (``name``, ``image``, ``gt``, ``meta``).

    Parameters
    ----------
    spec : str
        ``"<kind>:<path>"``, a folder, or ``"synthetic:<kind>"``.
    options : dict, optional
        Adapter or generator options.

    Returns
    -------
    kind : str
        The data set kind (``"synthetic"`` for generators).
    objects : list of EvalObject
        In the data set's order.
    """
    from napari_clickseg.data.registry import open_dataset

    kind, rest = _source_kind(spec)
    # iter(): one pass over the sources (list(dataset) would first count the objects)
    return kind, list(iter(open_dataset(f"{kind}:{rest}", **dict(options or {}))))


def load_train_images(
    sources: Iterable[Any],
    holdout: Sequence[HoldoutRule] = (),
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[TrainImage], list[str]]:
    """Read every object of the sources, drop held-out ones, group them by image.

    Parameters
    ----------
    sources : iterable of DataSource
        Each with ``spec`` and ``options``.
    holdout : sequence of HoldoutRule
        Objects matching any rule are left out.
    progress : callable, optional
        ``progress(done, total)`` after each source.

    Returns
    -------
    images : list of TrainImage
        Images with at least one kept object.
    excluded : list of str
        ``"<spec>: <object name>"`` of every held-out object.
    """
    sources = list(sources)
    images: list[TrainImage] = []
    excluded: list[str] = []
    for index, source in enumerate(sources):
        kind, objects = load_eval_objects(source.spec, source.options)
        by_image: dict[int, TrainImage] = {}
        for obj in objects:
            if any(rule.matches(kind, obj.name, obj.meta) for rule in holdout):
                excluded.append(f"{source.spec}: {obj.name}")
                continue
            key = id(obj.image)
            entry = by_image.get(key)
            if entry is None:
                entry = TrainImage(
                    f"{source.spec}: {obj.source or obj.name}", _rgb(obj.image), [], source=index
                )
                by_image[key] = entry
            entry.objects.append(obj.gt == 1)
            entry.object_names.append(obj.name)
            ignored = obj.gt == -1
            if ignored.any():
                entry.ignore = ignored if entry.ignore is None else entry.ignore | ignored
        images.extend(by_image.values())
        if progress is not None:
            progress(index + 1, len(sources))
    return images, excluded


def image_draw_probabilities(
    images: Sequence[TrainImage], source_weights: Sequence[float]
) -> np.ndarray:
    """Per-image probabilities that give each source its weight's share of the samples.

    Parameters
    ----------
    images : sequence of TrainImage
        The pool, each with the index of its ``source``.
    source_weights : sequence of float
        One non-negative weight per training source.

    Returns
    -------
    numpy.ndarray
        float64 (len(images),) summing to 1; within a source every image is equally likely.
        A source left without images (all held out) gives its share to the others.

    Raises
    ------
    ValueError
        If no image belongs to a source of positive weight.
    """
    sources = np.array([image.source for image in images], dtype=np.int64)
    weights = np.asarray(source_weights, dtype=np.float64)
    counts = np.bincount(sources, minlength=len(weights))
    per_image = weights[sources] / counts[sources]  # an image's source has >= 1 image
    total = per_image.sum()
    if not total > 0:
        raise ValueError("every training source with a positive weight is empty or held out")
    return per_image / total


# ------------------------------------------------------------------------------------------
# augmentation


class FitAndScale(Augmentation):
    """Enlarge images smaller than the crop to fill it, then rescale by a random factor."""

    def __init__(self, crop_size: int, scale_range: tuple[float, float]) -> None:
        self.crop_size = crop_size
        self.scale_range = scale_range

    def apply(self, image, masks, rng):
        height, width = image.shape[:2]
        fit = max(1.0, self.crop_size / min(height, width))
        scale = fit * rng.uniform(*self.scale_range)
        if abs(scale - 1.0) < 1e-6:
            return image, masks
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        return _resize_all(image, masks, size)


def _resize_all(image: np.ndarray, masks: Sequence[np.ndarray], size: tuple[int, int]):
    """A uint8 image resized bilinearly and its masks by nearest neighbour to ``size``."""
    scaled = resize(image.astype(np.float32), (*size, image.shape[2]), order=1,
                    preserve_range=True, anti_aliasing=False)  # fmt: skip
    scaled = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    scaled_masks = [
        resize(m, size, order=0, preserve_range=True, anti_aliasing=False).astype(m.dtype)
        for m in masks
    ]
    return scaled, scaled_masks


class PredictorView(Augmentation):
    """Show the crop the way the predictor's ZoomIn shows it, by chance; else ``fallback``.

    At evaluation the network sees the whole image resized to its input at the first click,
    then a box about the object (the previous mask's box expanded 1.4x, at least a minimum
    side) resized to its input (:mod:`napari_clickseg.engine.zoom_in`). Random scaling alone
    never shows a 512 px image shrunk to 224 px, nor a 20 px mitochondrion magnified to fill
    the input; this step does, so training sees the scales inference uses.

    Parameters
    ----------
    crop_size : int
        Output side S (the network input).
    whole_prob : float
        Probability of the whole image resized to S x S (the first-click view).
    zoom_prob : float
        Probability of the object's box, expanded by a random factor in ``expansion_range``
        about a jittered centre, at least ``min_side_range`` x S a side, clamped to the image
        and resized to S x S (the view of later clicks).
    fallback : Augmentation
        Applied otherwise (the random rescale of :class:`FitAndScale`).
    expansion_range, min_side_range : tuple of float
        Ranges of the box expansion and of the minimum box side (fraction of S).

    Notes
    -----
    Like the predictor, the views do not keep the aspect ratio. The object is ``masks[0]``.
    """

    def __init__(
        self,
        crop_size: int,
        whole_prob: float,
        zoom_prob: float,
        fallback: Augmentation,
        expansion_range: tuple[float, float] = (1.2, 2.0),
        min_side_range: tuple[float, float] = (0.3, 1.0),
    ) -> None:
        if whole_prob < 0 or zoom_prob < 0 or whole_prob + zoom_prob > 1:
            raise ValueError(
                f"whole_prob and zoom_prob must be >= 0 with a sum <= 1, got {whole_prob} "
                f"and {zoom_prob}"
            )
        self.crop_size = crop_size
        self.whole_prob = whole_prob
        self.zoom_prob = zoom_prob
        self.fallback = fallback
        self.expansion_range = expansion_range
        self.min_side_range = min_side_range

    def apply(self, image, masks, rng):
        draw = rng.random()
        if draw < self.whole_prob:
            return self._resized(image, masks, (0, image.shape[0], 0, image.shape[1]))
        if draw < self.whole_prob + self.zoom_prob and masks and masks[0].any():
            return self._resized(image, masks, self._zoom_box(masks[0] > 0, rng))
        return self.fallback(image, masks, rng)

    def _zoom_box(self, object_mask: np.ndarray, rng: np.random.Generator):
        height, width = object_mask.shape
        rmin, rmax, cmin, cmax = bbox_from_mask(object_mask)
        ratio = rng.uniform(*self.expansion_range)
        min_side = rng.uniform(*self.min_side_range) * self.crop_size
        box = []
        for low, high, limit in ((rmin, rmax, height), (cmin, cmax, width)):
            extent = high - low + 1
            side = min(max(ratio * extent, min_side), limit)
            centre = 0.5 * (low + high + 1) + rng.uniform(-0.1, 0.1) * extent
            start = int(np.rint(np.clip(centre - 0.5 * side, 0, limit - side)))
            box += [start, min(limit, start + max(1, int(np.rint(side))))]
        return tuple(box)

    def _resized(self, image, masks, box):
        top, bottom, left, right = box
        window = (slice(top, bottom), slice(left, right))
        size = (self.crop_size, self.crop_size)
        return _resize_all(image[window], [m[window] for m in masks], size)


def build_augmentation(
    crop_size: int,
    scale_range: tuple[float, float] = (0.75, 1.40),
    augment: bool = True,
    whole_view_prob: float = 0.0,
    zoom_view_prob: float = 0.0,
) -> Augmentation:
    """Resize to fill the crop (random scale), flips and 90-degree turns, crop, colour.

    With ``whole_view_prob`` / ``zoom_view_prob`` the first step is, by chance, one of the
    predictor's views instead of the random scale (:class:`PredictorView`). Without
    ``augment`` only the deterministic fit and a crop keeping the object remain.
    """
    size = (crop_size, crop_size)
    if not augment:
        return Compose([FitAndScale(crop_size, (1.0, 1.0)), RandomCrop(size)])
    scaling: Augmentation = FitAndScale(crop_size, scale_range)
    if whole_view_prob or zoom_view_prob:
        scaling = PredictorView(crop_size, whole_view_prob, zoom_view_prob, scaling)
    return Compose(
        [
            scaling,
            HorizontalFlip(),
            VerticalFlip(),
            RandomRotate90(),
            RandomCrop(size),
            RandomBrightnessContrast(),
            RGBShift(),
        ]
    )


# ------------------------------------------------------------------------------------------
# the torch data set


class ClickTrainDataset(torch.utils.data.Dataset):
    """Random training samples: a crop, its target mask and initial clicks.

    Parameters
    ----------
    images : sequence of TrainImage
        The pool of images and objects.
    crop_size : int
        Side S of the square crops (the model input size).
    sampler : MultiPointSampler
        Chooses the target (merging objects by chance) and draws the clicks.
    augmentation : Augmentation
        Applied to the image with the target, the other objects and the ignore mask.
    samples_per_epoch : int
        ``len()`` of the data set.
    seed : int
        Base seed of every sample's generator.
    min_object_area : int
        A crop whose target keeps fewer pixels is drawn again (up to 20 times).
    copy_paste : callable, optional
        A :class:`~napari_clickseg.training.copy_paste.SUEMCopyPaste`.
    draw_probabilities : numpy.ndarray, optional
        Probability of each image (:func:`image_draw_probabilities`); uniform when None.

    Notes
    -----
    An item is a dict of ``image`` float32 (3, S, S) in [0, 1], ``gt`` float32 (1, S, S) with
    1 object, 0 background and -1 ignored, and ``points`` float32 (2 * max_num_points, 3) in
    the official layout.
    """

    def __init__(
        self,
        images: Sequence[TrainImage],
        crop_size: int,
        sampler: MultiPointSampler,
        augmentation: Augmentation,
        samples_per_epoch: int,
        seed: int = 0,
        min_object_area: int = 16,
        copy_paste: Callable[..., tuple[np.ndarray, np.ndarray]] | None = None,
        draw_probabilities: np.ndarray | None = None,
    ) -> None:
        if not images:
            raise ValueError("no training image: every source was empty or held out")
        self.images = list(images)
        self.crop_size = int(crop_size)
        self.sampler = sampler
        self.augmentation = augmentation
        self.samples_per_epoch = int(samples_per_epoch)
        self.seed = int(seed)
        self.min_object_area = int(min_object_area)
        self.copy_paste = copy_paste
        if draw_probabilities is not None and len(draw_probabilities) != len(self.images):
            raise ValueError(
                f"draw_probabilities has {len(draw_probabilities)} entries for "
                f"{len(self.images)} images"
            )
        self.draw_probabilities = draw_probabilities
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose samples are drawn (changes every sample)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.samples_per_epoch

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        image, gt, other, ignore, parts = self._draw(rng)
        if self.copy_paste is not None:
            new_image, new_gt = self.copy_paste(image, gt, lambda r: self._draw(r)[:2], rng)
            if new_image is not image or not np.array_equal(new_gt, gt):
                image, gt, other, ignore, parts = new_image, new_gt, None, None, None
        points = self.sampler.sample(gt, rng, other_objects=other, parts=parts)
        target = gt.astype(np.float32)
        if ignore is not None:
            target[ignore & ~gt] = -1.0
        return {
            "image": torch.from_numpy(
                np.ascontiguousarray(image.transpose(2, 0, 1)) / np.float32(255)
            ),
            "gt": torch.from_numpy(target[None]),
            "points": torch.from_numpy(np.asarray(points, dtype=np.float32)),
        }

    def _draw(self, rng: np.random.Generator):
        """An augmented crop with a target that keeps at least ``min_object_area`` pixels."""
        for _ in range(20):
            if self.draw_probabilities is None:
                entry = self.images[int(rng.integers(len(self.images)))]
            else:
                entry = self.images[int(rng.choice(len(self.images), p=self.draw_probabilities))]
            chosen = self.sampler.select_object(entry.objects, rng)
            ignore = entry.ignore if entry.ignore is not None else np.zeros_like(chosen.gt_mask)
            masks = [chosen.gt_mask, chosen.other_objects, ignore, *chosen.parts]
            image, masks = self.augmentation(entry.image, masks, rng)
            gt = masks[0].astype(bool)
            if int(gt.sum()) >= self.min_object_area:
                parts = [m.astype(bool) for m in masks[3:]]
                parts = [p for p in parts if p.any()] or [gt]
                ignore_crop = masks[2].astype(bool)
                return (
                    image,
                    gt,
                    masks[1].astype(bool),
                    (ignore_crop if ignore_crop.any() else None),
                    parts,
                )
        raise RuntimeError(
            f"20 crops in a row kept fewer than {self.min_object_area} target pixels; lower "
            "data.min_object_area or check the sources' objects"
        )


def describe_images(images: Sequence[TrainImage]) -> str:
    """One line: how many images and objects, e.g. for the log."""
    objects = sum(len(i.objects) for i in images)
    return f"{len(images)} images, {objects} objects"
