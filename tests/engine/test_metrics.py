import math

import numpy as np
import pytest

from napari_clickseg.engine.metrics import (
    OFFICIAL_THRESHOLDS,
    iou,
    noc,
    official_threshold,
    summarise,
)


def test_thresholds_compare_in_float32_as_the_official_metrics():
    assert OFFICIAL_THRESHOLDS[2] == 0.9000000000000001  # np.arange noise ...
    # ... which float32 removes: an IoU of exactly 0.9 reaches NoC@90
    assert noc([0.5, 0.9], official_threshold(90)) == 2
    assert noc([0.5, 0.89999999], official_threshold(90)) == 2  # same float32 as 0.9
    assert noc([0.5, 0.7999999], official_threshold(80)) == 20


def test_noc_first_click_reaching_threshold_or_budget():
    assert noc([0.95], 0.9) == 1
    assert noc([0.1, 0.5, 0.91, 0.2], 0.9) == 3
    assert noc([0.1, 0.2], 0.9, max_clicks=20) == 20


def test_nof_counts_objects_reaching_the_threshold_only_at_the_last_click():
    reach_at_20 = [0.5] * 19 + [0.95]
    never = [0.5] * 20
    early = [0.95]
    summary = summarise([reach_at_20, never, early], max_clicks=20)
    assert summary.nof_at(90) == 2  # the official quirk: reaching at click 20 is a failure too
    assert summary.noc_at(90) == pytest.approx((20 + 20 + 1) / 3)


def test_miou_is_truncated_to_the_shortest_curve():
    summary = summarise([[0.2, 0.4, 0.6], [0.4, 0.8]])
    assert summary.miou == pytest.approx((0.3, 0.6))
    assert math.isnan(summary.miou_at(3))


def test_iou_ignores_ignore_pixels():
    gt = np.array([[1, 1, -1, 0]])
    pred = np.array([[True, False, True, True]])
    assert iou(gt, pred) == pytest.approx(1 / 3)
    assert math.isnan(iou(np.zeros((2, 2)), np.zeros((2, 2), bool)))


def test_summary_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="no IoU curves"):
        summarise([])
