"""A classical interactive baseline that needs no weights: watershed or random walker from clicks.

It answers the same calls as :class:`~napari_clickseg.engine.predictor.Predictor`
(``set_image``, ``predict``, ``reset``, states), so sessions, the evaluation and the demo can
run it where no trained model is at hand, and every table has a fair floor to compare against.

One prediction, on a crop like the networks' ZoomIn:

- **Crop**: the box of the clicks and of the previous mask (> 0.5), expanded
  ``expand_ratio`` times and at least ``min_crop`` pixels a side, inside the image. Its cost
  follows the object, not the image (a 1024 px section costs what a 256 px one does).
- **First view**: if the object runs into the crop's seeded border, the crop was too small for
  it, and the prediction is redone on a crop twice as large, up to the whole image.
- **Seeds** (markers): each click a disk of ``seed_radius`` (positive: object, negative:
  background); the crop's border where it lies inside the image is background (the image's own
  border is not: objects touch it); and the previous mask (the baseline's own last answer) as a
  prior: its interior, eroded by ``prior_margin`` pixels, seeds the object and its eroded
  outside the background, except near a click that contradicts it. A click frees the prior
  around it out to ``influence_ratio`` times its distance to the prior's boundary (where the
  simulated user clicks, that distance is about the size of the error it corrects), or out to
  that distance alone on a thin error (under ``thin_error`` pixels).
- **Segmentation** of the crop: ``"watershed"`` floods the gradient magnitude of the smoothed
  crop from the seeds (scikit-image, Meyer's algorithm; probabilities 0 or 1); or
  ``"random_walker"`` (Grady 2006, scikit-image, direct solver, edge sharpness ``beta``).
- **Only what the clicks change**: the result is compared with the segmentation from the
  prior's seeds alone; pixels move only where the two differ, inside the zone of a click, only
  in the click's direction (a positive click adds, a negative one removes) and only in the
  connected part of the change that holds the click (cut back to the disk of the click's
  distance when that part is over four times that disk: a leak). Elsewhere the
  previous mask stays, so a click never moves parts of the boundary it did not touch.
- **Clicked pixels keep their sign**: a positive click's own pixel is object and a negative
  one's background, whatever seed disks of later clicks cover them, so a few clicks around a
  tiny object never wipe it out.
- A mask given from outside with :meth:`ClickBaseline.set_prev_mask` (propagation's
  neighbouring slice) only places the crop: the image and the clicks decide, so the object can
  change or end from slice to slice.

Outside the crop the probability is 0. :data:`DEFAULT_METHOD` and the crop parameters were
chosen on validation data (docs/results.md, "The classical baseline").
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import binary_erosion, distance_transform_edt, gaussian_filter, label
from skimage.filters import sobel
from skimage.segmentation import random_walker, watershed

from napari_clickseg.engine.clicks import Click, check_clicks_inside
from napari_clickseg.engine.image_input import to_rgb01
from napari_clickseg.engine.predictor import DEFAULT_THRESHOLD, Prediction, PredictorState
from napari_clickseg.engine.zoom_in import clamp_bbox, expand_bbox

METHODS = ("watershed", "random_walker")
DEFAULT_METHOD = "watershed"

_OBJECT, _BACKGROUND = 1, 2
#: An object likelier than this at the crop's seeded border is taken to be cut by the crop
#: (low, because the random walker's probabilities fade towards the seeds it runs into).
_BORDER_PROBABILITY = 0.2
#: A click's change larger than this many times the disk of its depth is taken as a leak.
_LEAK_FACTOR = 4.0


@dataclass(frozen=True)
class BaselineSettings:
    """Parameters of the click baseline (defaults chosen on validation data).

    Attributes
    ----------
    method : {'watershed', 'random_walker'}
        How the crop is segmented from its seeds.
    min_crop : int
        Smallest crop side in pixels (the first click's view).
    expand_ratio : float
        The box of the clicks and the previous mask is expanded this many times.
    seed_radius : int
        Radius of each click's seed disk.
    prior_margin : int
        The previous mask seeds pixels at least this far inside (or outside) its boundary.
    influence_ratio : float
        A click that contradicts the previous mask may change it within this many times its
        distance to the mask's boundary ...
    thin_error : float
        ... but only within that distance itself when it is smaller than this (pixels): a
        click on a thin error changes no more than its inscribed disk.
    sigma : float
        Gaussian smoothing before the watershed's gradient.
    beta : float
        Random walker edge sharpness (scikit-image's default of 130 leaks through EM
        membranes; 1000 holds).
    """

    method: str = DEFAULT_METHOD
    min_crop: int = 128
    expand_ratio: float = 1.4
    seed_radius: int = 2
    prior_margin: int = 2
    influence_ratio: float = 3.0
    thin_error: float = 2.5
    sigma: float = 2.0
    beta: float = 1000.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"baseline method must be one of {METHODS}, got {self.method!r}")
        if self.min_crop < 8 or self.expand_ratio < 1 or self.seed_radius < 0:
            raise ValueError(
                "baseline min_crop must be at least 8 px, expand_ratio at least 1 and "
                f"seed_radius non-negative; got {self.min_crop}, {self.expand_ratio}, "
                f"{self.seed_radius}"
            )


class ClickBaseline:
    """Watershed or random-walker segmentation from clicks, with the previous mask as a prior.

    Parameters
    ----------
    settings : BaselineSettings, optional
        The method and its parameters.
    threshold : float
        Binarisation threshold of the predictions.
    """

    def __init__(
        self, settings: BaselineSettings | None = None, threshold: float = DEFAULT_THRESHOLD
    ) -> None:
        self.settings = settings or BaselineSettings()
        self.threshold = threshold
        self._gray: np.ndarray | None = None
        self._probs: np.ndarray | None = None
        # True when the previous mask is this baseline's own last answer (a session's), False
        # for a prior given from outside (propagation's mask from the neighbouring slice)
        self._own_prior = True

    def describe(self) -> dict[str, object]:
        """The method and its parameters (for reports)."""
        return {"baseline": asdict(self.settings)}

    def set_image(
        self,
        image: np.ndarray,
        channels: Sequence[int] | None = None,
        intensity_range: tuple[float, float] | None = None,
    ) -> None:
        """Set the image (same conventions as :meth:`Predictor.set_image`)."""
        self._gray = to_rgb01(image, channels, intensity_range).mean(axis=2)
        self.reset()

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of the current image."""
        if self._gray is None:
            raise RuntimeError("no image set: call set_image(image) first")
        return self._gray.shape

    def reset(self) -> None:
        """Forget the previous mask."""
        self._probs = np.zeros(self.image_shape, np.float32)
        self._own_prior = True

    def get_state(self) -> PredictorState:
        """A copy of the previous probability map."""
        probs = self._probs.copy()
        probs.flags.writeable = False
        return PredictorState.from_arrays(probs, None, probs)

    def set_state(self, state: PredictorState) -> None:
        """Restore a state from :meth:`get_state`."""
        self._probs = state.prev_probs.copy()
        self._own_prior = True

    def set_prev_mask(self, mask: np.ndarray) -> None:
        """Use ``mask`` as the previous mask (the prior of the next prediction)."""
        mask = np.asarray(mask, np.float32)
        if mask.shape != self.image_shape:
            raise ValueError(f"prior mask shape {mask.shape} differs from image {self.image_shape}")
        self._probs = mask.copy()
        self._own_prior = False

    def predict(self, clicks: Sequence[Click | tuple[float, float, bool]]) -> Prediction:
        """Segment from all clicks so far and the previous mask.

        Parameters
        ----------
        clicks : sequence of Click or (row, col, is_positive)
            Clicks in image pixels.

        Returns
        -------
        Prediction
        """
        click_list = [Click.from_tuple(c) for c in clicks]
        if not click_list:
            raise ValueError("predict needs at least one click")
        check_clicks_inside(click_list, self.image_shape)
        prior = self._probs > 0.5
        box = self._crop(click_list, prior)
        while True:
            crop_probs, reaches_border = self._segment_box(box, click_list, prior)
            larger = self._grow(box)
            if not reaches_border or larger == box:
                break
            box = larger
        probs = np.zeros(self.image_shape, np.float32)
        rmin, rmax, cmin, cmax = box
        probs[rmin : rmax + 1, cmin : cmax + 1] = crop_probs
        self._probs = probs
        self._own_prior = True
        return Prediction(
            probs=probs,
            candidates=probs[None],
            scores=None,
            selected=0,
            roi=None,
            passes=1,
            threshold=self.threshold,
        )

    def select_candidate(self, prediction: Prediction, index: int) -> Prediction:
        """The baseline has one candidate; index 0 returns the prediction unchanged."""
        if index != 0:
            raise IndexError(f"candidate {index} does not exist: the prediction has 1")
        self._probs = prediction.probs.copy()
        self._own_prior = True
        return prediction

    # ---------------------------------------------------------------------------------------

    def _crop(self, clicks: list[Click], prior: np.ndarray) -> tuple[int, int, int, int]:
        height, width = self.image_shape
        rows = [int(c.row) for c in clicks]
        cols = [int(c.col) for c in clicks]
        prior_rows, prior_cols = (
            np.flatnonzero(prior.any(axis=1)),
            np.flatnonzero(prior.any(axis=0)),
        )
        if prior_rows.size:
            rows += [int(prior_rows[0]), int(prior_rows[-1])]
            cols += [int(prior_cols[0]), int(prior_cols[-1])]
        box = (min(rows), max(rows), min(cols), max(cols))
        return clamp_bbox(
            expand_bbox(box, self.settings.expand_ratio, self.settings.min_crop), height, width
        )

    def _segment_box(
        self, box: tuple[int, int, int, int], clicks: list[Click], prior: np.ndarray
    ) -> tuple[np.ndarray, bool]:
        """Probabilities in ``box``, and whether the object reaches its background border."""
        rmin, rmax, cmin, cmax = box
        window = (slice(rmin, rmax + 1), slice(cmin, cmax + 1))
        local = [Click(c.row - rmin, c.col - cmin, c.is_positive) for c in clicks]
        local = [c for c in local if 0 <= c.row <= rmax - rmin and 0 <= c.col <= cmax - cmin]
        height, width = self.image_shape
        inside_image = (rmin > 0, rmax < height - 1, cmin > 0, cmax < width - 1)
        # A prior given from outside (propagation: the neighbouring slice's mask) only places
        # the crop; the image and the clicks decide, so the mask can change or end slice by slice.
        local_prior = prior[window] if self._own_prior else np.zeros(_window_shape(window), bool)
        zones = self._influence(local_prior, local) if local_prior.any() else None
        influence = None if zones is None else zones[0] | zones[1]
        markers = self._markers(local, local_prior, inside_image, influence)
        if not (markers == _OBJECT).any():
            return np.zeros(markers.shape, np.float32), False
        gray = self._gray[window]
        probs = self._segment(gray, markers)
        if zones is not None:
            # Only what the clicks change moves, only near them, and only their way (a positive
            # click adds, a negative one removes): elsewhere the previous mask stays, so its
            # boundary is not re-decided click after click.
            unchanged = self._segment(gray, self._markers([], local_prior, inside_image))
            obj, was = probs > 0.5, unchanged > 0.5
            acting = zones[2]
            positive = [a for a in acting if a[0].is_positive]
            negative = [a for a in acting if not a[0].is_positive]
            added = _touching(obj & ~was & zones[0], positive)
            removed = _touching(~obj & was & zones[1], negative)
            probs = np.where(added | removed, probs, self._probs[window]).astype(np.float32)
        # What the user clicked is as they said: a positive click's pixel is object, a negative
        # one's background, whatever the clicks after it changed around it.
        for click in local:
            probs[round(click.row), round(click.col)] = float(click.is_positive)
        return probs, _reaches_border(probs > _BORDER_PROBABILITY, inside_image)

    def _grow(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """The box twice as large about its centre, inside the image."""
        height, width = self.image_shape
        return clamp_bbox(expand_bbox(box, 2.0, 0), height, width)

    def _markers(
        self,
        clicks: list[Click],
        prior: np.ndarray,
        inside_image: tuple[bool, bool, bool, bool],
        influence: np.ndarray | None = None,
    ) -> np.ndarray:
        """Seeds of the crop: its inner border, the prior's confident parts, the clicks."""
        height, width = prior.shape
        markers = np.zeros((height, width), np.int32)
        top, bottom, left, right = inside_image
        if top:
            markers[0, :] = _BACKGROUND
        if bottom:
            markers[-1, :] = _BACKGROUND
        if left:
            markers[:, 0] = _BACKGROUND
        if right:
            markers[:, -1] = _BACKGROUND
        if prior.any():
            self._seed_prior(
                markers, prior, np.zeros(prior.shape, bool) if influence is None else influence
            )
        rows, cols = np.ogrid[:height, :width]
        for click in clicks:
            disk = (rows - click.row) ** 2 + (cols - click.col) ** 2 <= self.settings.seed_radius**2
            markers[disk] = _OBJECT if click.is_positive else _BACKGROUND
        for click in clicks:  # a later click's disk never takes an earlier click's own pixel
            markers[round(click.row), round(click.col)] = (
                _OBJECT if click.is_positive else _BACKGROUND
            )
        if not (markers == _BACKGROUND).any():
            # the crop is the whole image and nothing says background: its border does
            markers[[0, -1], :] = np.where(
                markers[[0, -1], :] == 0, _BACKGROUND, markers[[0, -1], :]
            )
            markers[:, [0, -1]] = np.where(
                markers[:, [0, -1]] == 0, _BACKGROUND, markers[:, [0, -1]]
            )
        return markers

    def _influence(
        self, prior: np.ndarray, clicks: list[Click]
    ) -> tuple[np.ndarray, np.ndarray, list[tuple[Click, float]]]:
        """Where the clicks that contradict the prior may change it: a disk around each.

        Returns the zones of the positive clicks (which may add object) and of the negative
        ones (which may remove it), and each contradicting click with its depth.
        """
        distance_in = distance_transform_edt(np.pad(prior, 1))[1:-1, 1:-1]
        distance_out = distance_transform_edt(np.pad(~prior, 1, constant_values=True))[1:-1, 1:-1]
        rows, cols = np.ogrid[: prior.shape[0], : prior.shape[1]]
        adds, removes = np.zeros(prior.shape, bool), np.zeros(prior.shape, bool)
        acting: list[tuple[Click, float]] = []
        for click in clicks:
            r, c = round(click.row), round(click.col)
            depth = distance_out[r, c] if click.is_positive else distance_in[r, c]
            if depth > 0:  # else the click agrees with the prior
                ratio = self.settings.influence_ratio if depth >= self.settings.thin_error else 1.0
                radius = ratio * depth
                zone = adds if click.is_positive else removes
                zone |= (rows - click.row) ** 2 + (cols - click.col) ** 2 <= radius**2
                acting.append((click, float(depth)))
        return adds, removes, acting

    def _seed_prior(self, markers: np.ndarray, prior: np.ndarray, influence: np.ndarray) -> None:
        """Seed the previous mask's confident inside and outside, except where clicks act."""
        margin = self.settings.prior_margin
        inside = binary_erosion(prior, iterations=margin) if margin else prior.copy()
        outside = binary_erosion(~prior, iterations=margin, border_value=1) if margin else ~prior
        markers[outside & ~influence] = _BACKGROUND
        markers[inside & ~influence] = _OBJECT

    def _segment(self, gray: np.ndarray, markers: np.ndarray) -> np.ndarray:
        if self.settings.method == "watershed":
            smooth = gaussian_filter(gray, self.settings.sigma) if self.settings.sigma else gray
            labels = watershed(sobel(smooth), markers)
            return (labels == _OBJECT).astype(np.float32)
        present = set(np.unique(markers).tolist())
        if 0 not in present:  # every pixel is seeded: nothing to solve
            return (markers == _OBJECT).astype(np.float32)
        if _BACKGROUND not in present or _OBJECT not in present:
            # one label only: the random walker has nothing to decide between
            return np.full(markers.shape, float(_OBJECT in present), np.float32)
        with warnings.catch_warnings():
            # At high beta the solution leaves [0, 1] by a hair; scikit-image warns.
            warnings.simplefilter("ignore", UserWarning)
            full = random_walker(
                gray, markers, beta=self.settings.beta, mode="bf", return_full_prob=True
            )
        return np.clip(full[0], 0.0, 1.0).astype(np.float32)


def _touching(changed: np.ndarray, acting: list[tuple[Click, float]]) -> np.ndarray:
    """The connected parts of ``changed`` that hold a click: what the clicks did.

    A part far larger than the error the click points at (more than :data:`_LEAK_FACTOR` times
    the disk of the click's depth) has leaked through a weak edge; of such a part only that
    disk is kept.
    """
    kept = np.zeros(changed.shape, bool)
    if not acting or not changed.any():
        return kept
    parts, _ = label(changed)
    rows, cols = np.ogrid[: changed.shape[0], : changed.shape[1]]
    for click, depth in acting:
        part_id = parts[round(click.row), round(click.col)]
        if part_id == 0:
            continue
        part = parts == part_id
        if part.sum() > _LEAK_FACTOR * np.pi * depth**2:
            part &= (rows - click.row) ** 2 + (cols - click.col) ** 2 <= (depth + 0.5) ** 2
        kept |= part
    return kept


def _window_shape(window: tuple[slice, slice]) -> tuple[int, int]:
    """The (rows, cols) of a crop window."""
    return (window[0].stop - window[0].start, window[1].stop - window[1].start)


def _reaches_border(mask: np.ndarray, inside_image: tuple[bool, bool, bool, bool]) -> bool:
    """Whether the object runs into a background-seeded crop side along 5 % of it or more.

    Then the object was probably cut by the crop (larger than the first view guessed), and the
    prediction is redone on a larger crop.
    """
    top, bottom, left, right = inside_image
    sides = [
        (top, mask[1, :]),
        (bottom, mask[-2, :]),
        (left, mask[:, 1]),
        (right, mask[:, -2]),
    ]
    return any(seeded and line.sum() >= max(2, 0.05 * line.size) for seeded, line in sides)


class RandomWalkerPredictor(ClickBaseline):
    """The click baseline with the random walker (see :class:`ClickBaseline`).

    Its first view is larger than the watershed's (``min_crop`` 128 px): from one small click
    seed the random walker's probabilities fade before they reach a near border, so a crop that
    is too tight gives a mask that is too small rather than one that runs into the border.

    Parameters
    ----------
    beta : float
        Edge sharpness of the random walker.
    seed_radius : int
        Radius in pixels of the disk each click seeds.
    min_crop : int
        Smallest crop side in pixels.
    threshold : float
        Binarisation threshold of the predictions.
    """

    def __init__(
        self,
        beta: float = 1000.0,
        seed_radius: int = 2,
        min_crop: int = 128,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        super().__init__(
            BaselineSettings(
                method="random_walker", beta=beta, seed_radius=seed_radius, min_crop=min_crop
            ),
            threshold,
        )
