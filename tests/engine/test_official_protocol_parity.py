"""The NoC protocol against the official clicker, loop and metric code.

Fixtures: tests/fixtures/official/protocol.npz, made by
tools/make_official_protocol_fixtures.py (see tests/fixtures/official/PROTOCOL.md).
"""

import numpy as np
import pytest

from conftest import FIXTURES
from napari_clickseg.engine.clicker import Clicker
from napari_clickseg.engine.clicks import Click
from napari_clickseg.engine.evaluation import EvaluationSettings, evaluate_object
from napari_clickseg.engine.metrics import iou, summarise
from napari_clickseg.engine.predictor import Prediction

DATA = np.load(FIXTURES / "official" / "protocol.npz")


def _crop(array, shape):
    return array[: shape[0], : shape[1]]


@pytest.mark.parametrize("index", range(len(DATA["nc_names"])), ids=list(DATA["nc_names"]))
def test_next_click_identical(index):
    shape = DATA["nc_shape"][index]
    clicker = Clicker(_crop(DATA["nc_gt"][index], shape))
    for row, col, positive in DATA["nc_prev_clicks"][index, : DATA["nc_n_prev"][index]]:
        clicker.add_click(Click(float(row), float(col), bool(positive)))
    click = clicker.make_next_click(_crop(DATA["nc_pred"][index], shape))
    expected = DATA["nc_next"][index]
    assert (int(click.row), int(click.col), click.is_positive) == (
        int(expected[0]),
        int(expected[1]),
        bool(expected[2]),
    )
    assert len(clicker.clicks) - 1 == DATA["nc_next_indx"][index]


@pytest.mark.parametrize("index", range(len(DATA["lg_names"])), ids=list(DATA["lg_names"]))
def test_float32_distance_ties_on_large_images(index):
    height, width = DATA["lg_shape"][index]
    gt = np.zeros((height, width), np.int8)
    pred = np.zeros((height, width), bool)
    rows, cols = np.ogrid[:height, :width]
    for row, col, radius_sq, label in DATA["lg_disks"][index]:
        disk = (rows - row) ** 2 + (cols - col) ** 2 <= radius_sq
        if label == 1:
            gt[disk] = 1
        else:
            pred[disk] = True
    click = Clicker(gt).make_next_click(pred)
    expected = DATA["lg_next"][index]
    assert (int(click.row), int(click.col), click.is_positive) == (
        int(expected[0]),
        int(expected[1]),
        bool(expected[2]),
    )


class DiskPainter:
    """The fixture's toy predictor: each click paints a disk with the ground truth."""

    def __init__(self, gt, radius):
        self.gt, self.radius = gt, radius

    def set_image(self, image):
        pass

    def predict(self, clicks):
        probs = np.zeros(self.gt.shape, np.float32)
        rows, cols = np.ogrid[: self.gt.shape[0], : self.gt.shape[1]]
        for click in clicks:
            disk = (rows - click.row) ** 2 + (cols - click.col) ** 2 <= self.radius**2
            probs[disk] = (self.gt == 1)[disk]
        return Prediction(probs, probs[None], None, 0, None, 1)


@pytest.mark.parametrize("index", range(len(DATA["lp_names"])), ids=list(DATA["lp_names"]))
def test_per_object_loop_identical(index):
    gt = _crop(DATA["lp_gt"][index], DATA["lp_shape"][index])
    settings = EvaluationSettings(
        max_clicks=int(DATA["lp_max_clicks"][index]),
        target_iou=float(DATA["lp_max_iou_thr"][index]),
        min_clicks=int(DATA["lp_min_clicks"][index]),
    )
    result = evaluate_object(DiskPainter(gt, int(DATA["lp_radius"][index])), gt, gt, settings)
    count = int(DATA["lp_n"][index])
    clicks = [(int(c.row), int(c.col), int(c.is_positive)) for c in result.clicks]
    assert clicks == [tuple(int(v) for v in row) for row in DATA["lp_clicks"][index, :count]]
    np.testing.assert_array_equal(np.float32(result.ious), DATA["lp_ious"][index, :count])


def _curves(dataset):
    lengths = DATA["mt_curve_len"]
    starts = np.concatenate([[0], np.cumsum(lengths)])
    return [
        DATA["mt_curve_f64"][starts[j] : starts[j + 1]]
        for j in range(len(lengths))
        if DATA["mt_curve_dataset"][j] == dataset
    ]


@pytest.mark.parametrize("dataset", range(len(DATA["mt_dataset_names"])))
@pytest.mark.parametrize("mode", range(len(DATA["mt_mode_names"])))
def test_noc_nof_identical(dataset, mode):
    thresholds = [t for t in DATA["mt_mode_thrs"][mode] if not np.isnan(t)]
    summary = summarise(_curves(dataset), thresholds, int(DATA["mt_dataset_max_clicks"][dataset]))
    count = len(thresholds)
    np.testing.assert_allclose(summary.noc, DATA["mt_noc"][dataset, mode, :count], rtol=1e-12)
    assert list(summary.nof) == list(DATA["mt_nof"][dataset, mode, :count])


@pytest.mark.parametrize("dataset", range(len(DATA["mt_dataset_names"])))
def test_miou_identical(dataset):
    summary = summarise(_curves(dataset), max_clicks=int(DATA["mt_dataset_max_clicks"][dataset]))
    length = min(20, int(DATA["mt_miou_len"][dataset]))
    np.testing.assert_array_equal(
        np.float32(summary.miou[:length]), DATA["mt_miou"][dataset, :length]
    )


@pytest.mark.parametrize("index", range(len(DATA["iou_names"])), ids=list(DATA["iou_names"]))
def test_iou_identical(index):
    shape = DATA["iou_shape"][index]
    value = iou(_crop(DATA["iou_gt"][index], shape), _crop(DATA["iou_pred"][index], shape))
    np.testing.assert_equal(value, DATA["iou_value"][index])
