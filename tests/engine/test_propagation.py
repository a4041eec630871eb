import dataclasses
import threading

import numpy as np
import pytest
import torch
from scipy import ndimage as ndi

from napari_clickseg.engine.baseline import RandomWalkerPredictor
from napari_clickseg.engine.image_input import to_rgb01
from napari_clickseg.engine.predictor import Prediction, Predictor
from napari_clickseg.engine.propagation import (
    PropagationSettings,
    StopReason,
    propagate,
)
from napari_clickseg.engine.propagation_clicks import interior_maximum
from napari_clickseg.models.interface import ClickSegModel, ModelOutput


class ComponentPredictor:
    """Fake predictor: the bright (> 0.5) connected region under the first positive click.

    Records every call so tests can check what propagation fed it.
    """

    def __init__(self, predicts_without_clicks: bool = False) -> None:
        self.images: list[np.ndarray] = []
        self.priors: list[np.ndarray | None] = []
        self.clicks: list[list] = []
        self.set_image_args: list[tuple] = []
        self.predicts_without_clicks = predicts_without_clicks
        self._prior = None

    def set_image(self, image, channels=None, intensity_range=None):
        self.set_image_args.append((channels, intensity_range))
        self._gray = to_rgb01(image, channels, intensity_range).mean(axis=2)
        self.images.append(self._gray)
        self._prior = None

    def set_prev_mask(self, mask):
        self._prior = np.asarray(mask, np.float32).copy()

    def predict(self, clicks):
        self.priors.append(self._prior)
        self.clicks.append(list(clicks))
        bright = self._gray > 0.5
        if not clicks:  # mask-only: the bright region under the prior
            mask = bright & (self._prior > 0.5)
        else:
            labels, _ = ndi.label(bright)
            first = clicks[0]
            label = labels[int(first.row), int(first.col)]
            mask = (labels == label) if label else np.zeros_like(bright)
        probs = mask.astype(np.float32)
        return Prediction(probs, probs[None], None, 0, None, 1, 0.49)


def _ellipsoid(shape=(30, 40, 40), centre=(15, 20, 20), radii=(10, 12, 12)):
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    return sum(((a - c) / r) ** 2 for a, c, r in zip((z, y, x), centre, radii, strict=True)) < 1


def _seed(obj, *slices):
    seed = np.zeros(obj.shape, bool)
    for z in slices:
        seed[z] = obj[z]
    return seed


def _image(obj):
    return np.where(obj, 220, 20).astype(np.uint8)


NO_IOU_STOP = PropagationSettings(iou_threshold=0.0)


def test_follows_the_object_through_the_volume_and_stops_after_empty_slices():
    obj = _ellipsoid()
    present = np.flatnonzero(obj.any(axis=(1, 2)))
    seed = _seed(obj, 15)
    result = propagate(ComponentPredictor(), _image(obj), seed, settings=NO_IOU_STOP)
    np.testing.assert_array_equal(result.mask, obj)
    assert result.written == tuple(int(z) for z in present if z != 15)
    down, up = result.fronts
    assert (down.direction, up.direction) == (-1, 1)
    assert down.reason == up.reason == StopReason.EMPTY_SLICES
    assert (down.last_written, up.last_written) == (present[0], present[-1])
    # two empty predictions past each end (max_empty=2), none written
    assert down.predicted == 15 - present[0] + 2
    assert result.iou_with_previous[present[0] - 1] == 0.0
    assert not result.cancelled


def test_max_empty_lets_an_object_cross_a_missing_slice():
    obj = _ellipsoid()
    image = _image(obj)
    image[18] = 20  # a blank slice inside the object (e.g. an artefact)
    seed = _seed(obj, 15)
    strict_settings = PropagationSettings(iou_threshold=0.0, max_empty=1)
    strict = propagate(ComponentPredictor(), image, seed, settings=strict_settings)
    assert strict.fronts[1].reason == StopReason.EMPTY_SLICES
    assert strict.fronts[1].last_written == 17
    lenient = propagate(
        ComponentPredictor(),
        image,
        seed,
        settings=PropagationSettings(iou_threshold=0, max_empty=2),
    )
    assert 18 not in lenient.written and {19, 20, 24} <= set(lenient.written)
    # the slice after the gap is predicted from the last non-empty mask (slice 17's)
    assert lenient.iou_with_previous[19] > 0.5


def test_stops_when_the_iou_with_the_previous_slice_drops():
    obj = np.zeros((20, 40, 40), bool)
    obj[:, 5:35, 5:35] = True
    obj[12:, :, :] = False
    obj[12:, 15:25, 15:25] = True  # shrinks to a ninth of its area at slice 12
    result = propagate(
        ComponentPredictor(),
        _image(obj),
        _seed(obj, 5),
        settings=PropagationSettings(iou_threshold=0.5),
    )
    up = result.fronts[1]
    assert up.reason == StopReason.IOU_DROP and up.last_written == 11
    assert 12 not in result.written and not result.mask[12:].any()
    assert result.iou_with_previous[12] == pytest.approx(100 / 900)
    assert result.fronts[0].reason == StopReason.VOLUME_END
    assert result.written == (0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11)


def test_slice_range_limits_what_is_written():
    obj = _ellipsoid()
    result = propagate(
        ComponentPredictor(),
        _image(obj),
        _seed(obj, 15),
        settings=PropagationSettings(iou_threshold=0.0, slice_range=(10, 20)),
    )
    assert result.written == (10, 11, 12, 13, 14, 16, 17, 18, 19, 20)
    assert [f.reason for f in result.fronts] == [StopReason.RANGE_END, StopReason.RANGE_END]
    assert not result.mask[:10].any() and not result.mask[21:].any()


def _two_columns(shape=(30, 40, 60), left_end=None):
    """Two bright square columns through the volume; the left one may end early."""
    left = np.zeros(shape, bool)
    left[:, 10:30, 5:25] = True
    right = np.zeros(shape, bool)
    right[:, 10:30, 35:55] = True
    if left_end is not None:
        left[left_end + 1 :] = False
    return left, right


def test_gap_between_two_seeds_is_filled_from_both_ends_each_slice_once():
    left, right = _two_columns()
    seed = np.zeros(left.shape, bool)
    seed[8], seed[20] = left[8], right[20]  # two seeds on different columns: provenance shows
    requested = []
    image = _image(left | right)

    def get_slice(index):
        requested.append(index)
        return image[index]

    result = propagate(
        ComponentPredictor(),
        get_slice,
        seed,
        settings=PropagationSettings(iou_threshold=0.0, slice_range=(8, 20)),
    )
    gap = range(9, 20)
    assert sorted(requested) == list(gap)  # every gap slice once, no seed slice
    assert requested[:4] == [9, 19, 10, 18]  # the two fronts take turns
    for z in range(9, 15):  # lower half from the lower seed
        np.testing.assert_array_equal(result.mask[z], left[z])
    for z in range(15, 20):  # upper half from the upper seed
        np.testing.assert_array_equal(result.mask[z], right[z])
    gap_fronts = result.fronts[1:3]
    assert [f.reason for f in gap_fronts] == [StopReason.MET_OTHER_FRONT] * 2
    assert (gap_fronts[0].last_written, gap_fronts[1].last_written) == (14, 15)


def test_when_one_gap_front_stops_the_other_fills_the_rest():
    left, right = _two_columns(left_end=11)
    seed = np.zeros(left.shape, bool)
    seed[8], seed[20] = left[8], right[20]
    result = propagate(
        ComponentPredictor(),
        _image(left | right),
        seed,
        settings=PropagationSettings(iou_threshold=0.0, max_empty=1, slice_range=(8, 20)),
    )
    up, down = result.fronts[1:3]
    assert up.reason == StopReason.EMPTY_SLICES and up.last_written == 11
    assert down.reason == StopReason.MET_OTHER_FRONT and down.last_written == 12
    assert result.written == tuple(range(9, 20))
    np.testing.assert_array_equal(result.mask[9:12], left[9:12])
    np.testing.assert_array_equal(result.mask[12:20], right[12:20])


def test_seed_slices_are_never_predicted_or_changed():
    obj = _ellipsoid()
    seed = _seed(obj, 10, 20)
    seed[10, 0:3, 0:3] = True  # the user's own stroke outside the object stays as drawn
    given = seed.copy()
    requested = []
    image = _image(obj)

    def get_slice(index):
        requested.append(index)
        return image[index]

    result = propagate(ComponentPredictor(), get_slice, seed, settings=NO_IOU_STOP)
    np.testing.assert_array_equal(seed, given)  # input not modified
    assert 10 not in requested and 20 not in requested
    assert result.seeds == (10, 20)
    np.testing.assert_array_equal(result.mask[[10, 20]], given[[10, 20]])
    assert not set(result.written) & {10, 20}


def test_explicit_seed_slices_ignore_other_mask_slices():
    obj = _ellipsoid()
    seed = _seed(obj, 15, 22)
    result = propagate(
        ComponentPredictor(), _image(obj), seed, seed_slices=[15], settings=NO_IOU_STOP
    )
    assert result.seeds == (15,)
    assert 22 in result.written
    stray = _seed(obj, 15, 22)
    stray[27, 0:2, 0:2] = True  # beyond the range: not a seed, so not in the result
    ranged = PropagationSettings(iou_threshold=0.0, slice_range=(5, 27))
    fenced = propagate(ComponentPredictor(), _image(obj), stray, seed_slices=[15], settings=ranged)
    assert not fenced.mask[27].any() and 27 not in fenced.written


@pytest.mark.parametrize("use_event", [False, True])
def test_cancel_stops_early_with_a_consistent_partial_result(use_event):
    obj = _ellipsoid()
    predictor = ComponentPredictor()
    event = threading.Event()

    def progress(done, total):
        if done >= 4:
            event.set()

    result = propagate(
        predictor,
        _image(obj),
        _seed(obj, 15),
        settings=NO_IOU_STOP,
        progress=progress,
        should_stop=event.is_set if use_event else (lambda: event.is_set()),
    )
    assert result.cancelled
    assert len(predictor.clicks) == 4
    assert len(result.written) == 4
    assert StopReason.CANCELLED in {f.reason for f in result.fronts}
    for z in range(obj.shape[0]):
        if z in result.written or z == 15:
            np.testing.assert_array_equal(result.mask[z], obj[z])
        else:
            assert not result.mask[z].any()


def test_progress_reports_monotone_counts_and_ends_at_total():
    obj = _ellipsoid()
    calls = []
    predictor = ComponentPredictor()
    propagate(
        predictor,
        _image(obj),
        _seed(obj, 15),
        settings=NO_IOU_STOP,
        progress=lambda done, total: calls.append((done, total)),
    )
    totals = {t for _, t in calls}
    assert totals == {obj.shape[0] - 1}
    dones = [d for d, _ in calls]
    assert dones == sorted(dones) and dones[-1] == obj.shape[0] - 1
    assert len(calls) >= len(predictor.clicks)  # one report per prediction (and a final one)
    assert dones[0] == 1


def test_progress_with_gaps_counts_each_non_seed_slice_in_the_range_once():
    obj = _ellipsoid()
    calls = []
    result = propagate(
        ComponentPredictor(),
        _image(obj),
        _seed(obj, 9, 15, 16, 21),
        settings=PropagationSettings(iou_threshold=0.0, slice_range=(3, 27)),
        progress=lambda done, total: calls.append((done, total)),
    )
    total = (27 - 3 + 1) - 4
    assert {t for _, t in calls} == {total}
    dones = [d for d, _ in calls]
    assert dones == sorted(dones) and dones[-1] == total
    assert result.written == tuple(z for z in range(6, 25) if z not in (9, 15, 16, 21))


@pytest.mark.parametrize("axis", [1, 2])
def test_any_axis_gives_the_same_result_as_axis_zero(axis):
    obj = _ellipsoid(shape=(30, 34, 38), centre=(15, 16, 18), radii=(10, 11, 12))
    reference = propagate(ComponentPredictor(), _image(obj), _seed(obj, 15), settings=NO_IOU_STOP)
    moved = np.moveaxis(obj, 0, axis)
    seed = np.moveaxis(_seed(obj, 15), 0, axis)
    result = propagate(ComponentPredictor(), _image(moved), seed, axis=axis, settings=NO_IOU_STOP)
    assert result.axis == axis
    np.testing.assert_array_equal(np.moveaxis(result.mask, axis, 0), reference.mask)
    assert result.written == reference.written


def test_multichannel_volume_and_channel_choice_reach_the_predictor():
    obj = _ellipsoid()
    image = np.zeros((*obj.shape, 4), np.uint8)
    image[..., 3] = _image(obj)  # the object shows only in the fourth channel
    predictor = ComponentPredictor()
    result = propagate(predictor, image, _seed(obj, 15), settings=NO_IOU_STOP, channels=(3, 3, 3))
    np.testing.assert_array_equal(result.mask, obj)
    assert predictor.set_image_args[0] == ((3, 3, 3), None)
    blind = propagate(ComponentPredictor(), image, _seed(obj, 15), settings=NO_IOU_STOP)
    assert blind.written == ()  # channels 0-2 are black: every prediction is empty


def test_float_volumes_share_one_intensity_window():
    obj = _ellipsoid()
    volume = np.where(obj, 900.0, 100.0).astype(np.float32)
    volume[25:] = 100.0  # slices without the object must not be stretched on their own
    predictor = ComponentPredictor()
    propagate(predictor, volume, _seed(obj, 15), settings=NO_IOU_STOP)
    assert {args[1] for args in predictor.set_image_args} == {(100.0, 900.0)}


@pytest.mark.parametrize(
    ("mode", "with_prior", "clicks"),
    [
        ("center", False, 1),
        ("mask+center", True, 1),
        ("points", False, None),
        ("mask+points", True, None),
    ],
)
def test_each_mode_feeds_the_clicks_and_prior_it_claims(mode, with_prior, clicks):
    obj = _ellipsoid()
    seed = _seed(obj, 15)
    predictor = ComponentPredictor()
    propagate(
        predictor,
        _image(obj),
        seed,
        settings=PropagationSettings(mode=mode, iou_threshold=0.0, slice_range=(14, 15)),
    )
    (given,) = predictor.clicks
    (prior,) = predictor.priors
    previous = obj[15]
    if with_prior:
        np.testing.assert_array_equal(prior, previous.astype(np.float32))
    else:
        assert prior is None
    centre = interior_maximum(previous)
    assert given[0] == centre
    assert all(previous[int(c.row), int(c.col)] and c.is_positive for c in given)
    if clicks is not None:
        assert len(given) == clicks


def test_points_mode_clicks_every_part_of_a_two_part_mask():
    left, right = _two_columns()
    both = left | right
    predictor = ComponentPredictor()
    propagate(
        predictor,
        _image(both),
        _seed(both, 15),
        settings=PropagationSettings(mode="points", iou_threshold=0.0, slice_range=(14, 15)),
    )
    (given,) = predictor.clicks
    assert {bool(left[15, int(c.row), int(c.col)]) for c in given} == {True, False}


def test_mask_only_mode_needs_a_predictor_that_predicts_without_clicks():
    obj = _ellipsoid()
    with pytest.raises(ValueError, match=r"needs at least one click.*mask\+center"):
        propagate(
            ComponentPredictor(),
            _image(obj),
            _seed(obj, 15),
            settings=PropagationSettings(mode="mask"),
        )
    with pytest.raises(ValueError, match="RandomWalkerPredictor"):
        propagate(
            RandomWalkerPredictor(),
            _image(obj),
            _seed(obj, 15),
            settings=PropagationSettings(mode="mask"),
        )
    predictor = ComponentPredictor(predicts_without_clicks=True)
    result = propagate(
        predictor,
        _image(obj),
        _seed(obj, 15),
        settings=PropagationSettings(mode="mask", iou_threshold=0),
    )
    assert all(c == [] for c in predictor.clicks)
    assert all(p is not None for p in predictor.priors)
    np.testing.assert_array_equal(result.mask, obj)


def test_random_walker_baseline_propagates_a_noisy_ellipsoid():
    obj = _ellipsoid(shape=(24, 48, 48), centre=(12, 24, 24), radii=(9, 15, 15))
    rng = np.random.default_rng(0)
    image = np.clip(_image(obj) + rng.normal(0, 15, obj.shape), 0, 255).astype(np.uint8)
    result = propagate(RandomWalkerPredictor(), image, _seed(obj, 12))
    dice = 2 * (result.mask & obj).sum() / (result.mask.sum() + obj.sum())
    assert dice > 0.9
    assert [f.reason for f in result.fronts] == [StopReason.IOU_DROP] * 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed_mask": np.zeros((30, 40, 40), bool)}, "seed mask is empty"),
        ({"seed_slices": [3]}, "the mask on slice 3 is empty; nothing to propagate"),
        ({"seed_slices": [30]}, "seed slice 30 is out of range"),
        ({"seed_slices": [-1]}, "seed slice -1 is out of range"),
        ({"seed_mask": np.zeros((30, 40), bool)}, "must be a 3D volume"),
        ({"image": np.zeros((30, 40, 41), np.uint8)}, "seed mask's shape"),
        ({"axis": 3}, "axis must be 0, 1 or 2"),
        ({"settings": PropagationSettings(slice_range=(0, 30))}, "outside axis 0's slices"),
        ({"settings": PropagationSettings(slice_range=(0, 10))}, "outside the slice range"),
    ],
)
def test_bad_input_gives_a_clear_error(kwargs, message):
    obj = _ellipsoid()
    arguments = {"image": _image(obj), "seed_mask": _seed(obj, 15), **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        propagate(ComponentPredictor(), **arguments)


def test_wrong_slice_shape_from_a_getter_is_reported():
    obj = _ellipsoid()
    with pytest.raises(ValueError, match="slice 14 of the image has shape"):
        propagate(ComponentPredictor(), lambda z: np.zeros((5, 5), np.uint8), _seed(obj, 15))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"iou_threshold": 1.5}, "iou_threshold must lie in"),
        ({"iou_threshold": -0.1}, "iou_threshold must lie in"),
        ({"mode": "clicks"}, "mode must be one of"),
        ({"max_empty": 0}, "max_empty"),
        ({"slice_range": (5, 2)}, "first <= last"),
        ({"min_area": 0}, "min_area"),
        ({"negatives": -1}, "negatives"),
        ({"negative_margin": 0}, "negative_margin"),
    ],
)
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PropagationSettings(**kwargs)


def test_negatives_add_ring_clicks_after_the_positive_ones():
    obj = _ellipsoid()
    predictor = ComponentPredictor()
    settings = PropagationSettings(
        mode="center", negatives=6, iou_threshold=0.0, slice_range=(14, 15)
    )
    propagate(predictor, _image(obj), _seed(obj, 15), settings=settings)
    (given,) = predictor.clicks
    assert given[0] == interior_maximum(obj[15])
    negatives = given[1:]
    assert len(negatives) == 6 and not any(c.is_positive for c in negatives)
    assert not any(obj[15, int(c.row), int(c.col)] for c in negatives)


class PriorEcho(ClickSegModel):
    """A 'network' whose output is its previous-mask input: shows whether the prior arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(()))

    def forward(self, image, prev_mask, points):
        return ModelOutput(logits=8.0 * prev_mask - 4.0 + self.anchor)


def test_the_network_predictor_receives_the_prior_only_in_mask_modes():
    obj = _ellipsoid(shape=(8, 48, 48), centre=(4, 24, 24), radii=(20, 12, 12))
    seed = _seed(obj, 4)
    predictor = Predictor(PriorEcho(), "cpu")
    settings = PropagationSettings(mode="mask+center", iou_threshold=0.0, slice_range=(2, 6))
    echoed = propagate(predictor, _image(obj), seed, settings=settings)
    assert echoed.written == (2, 3, 5, 6)
    for z in echoed.written:  # the seed mask carried through ZoomIn and back
        assert echoed.iou_with_previous[z] > 0.9
    without_prior = PropagationSettings(mode="center", iou_threshold=0.0, slice_range=(2, 6))
    blank = propagate(Predictor(PriorEcho(), "cpu"), _image(obj), seed, settings=without_prior)
    assert blank.written == ()
    assert [f.reason for f in blank.fronts] == [StopReason.EMPTY_SLICES] * 2


def test_the_network_predictor_propagates_from_the_mask_alone():
    obj = _ellipsoid(shape=(8, 48, 48), centre=(4, 24, 24), radii=(20, 12, 12))
    settings = PropagationSettings(mode="mask", iou_threshold=0.0, slice_range=(2, 6))
    echoed = propagate(Predictor(PriorEcho(), "cpu"), _image(obj), _seed(obj, 4), settings=settings)
    assert echoed.written == (2, 3, 5, 6)
    for z in echoed.written:
        assert echoed.iou_with_previous[z] > 0.9


def _roi_sides_during_propagation(settings):
    obj = _ellipsoid(shape=(5, 300, 300), centre=(2, 150, 150), radii=(20, 10, 10))
    model = PriorEcho()
    model.input_size = (224, 224)  # a small model: its own ZoomIn floor is 100 px
    predictor = Predictor(model, "cpu")
    sides, predict = [], predictor.predict

    def recording(clicks):
        prediction = predict(clicks)
        sides.append(prediction.roi[1] - prediction.roi[0] + 1)
        return prediction

    predictor.predict = recording
    propagate(predictor, _image(obj), _seed(obj, 2), settings=settings)
    assert predictor.zoom_in.min_crop_size == 100  # restored afterwards
    return sides


def test_propagation_crops_with_the_official_200_px_floor_unless_told_otherwise():
    settings = PropagationSettings(mode="mask+center", iou_threshold=0.0)
    assert set(_roi_sides_during_propagation(settings)) == {201}
    own = dataclasses.replace(settings, zoom_min_crop=None)
    assert set(_roi_sides_during_propagation(own)) == {101}
    with pytest.raises(ValueError, match="zoom_min_crop must be at least 1 pixel"):
        PropagationSettings(zoom_min_crop=0)


def test_default_mode_is_the_measured_best_and_shared_by_the_cli():
    """``points`` won on the validation BraTS case (docs/propagation.md); the CLI uses the same."""
    from napari_clickseg.cli import build_parser
    from napari_clickseg.engine.propagation import DEFAULT_MODE

    assert DEFAULT_MODE == "points"
    assert PropagationSettings().mode == DEFAULT_MODE
    argv = ["propagate", "volume.tif", "--seed-mask", "seed.tif", "--out", "o.tif"]
    args = build_parser().parse_args(argv)
    assert args.mode == DEFAULT_MODE
