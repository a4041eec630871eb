import numpy as np
import pytest

from napari_clickseg.engine.clicks import Click
from napari_clickseg.engine.zoom_in import (
    ZoomInSettings,
    bbox_iou,
    clicks_inside_roi,
    expand_bbox,
    next_roi,
    object_roi,
)

SETTINGS = ZoomInSettings()


def test_expand_bbox_uses_min_size_and_round_half_to_even():
    # a 10-px box centred at 49.5 grows to the 200-px minimum: 49.5 -+ 100 -> -50.5, 149.5
    # Python rounds half to even: -50.5 -> -50, 149.5 -> 150
    assert expand_bbox((45, 54, 45, 54), 1.4, 200) == (-50, 150, -50, 150)


def test_expand_bbox_large_object_scales_by_ratio():
    rmin, rmax, cmin, cmax = expand_bbox((100, 399, 0, 499), 1.4, 200)
    assert rmax - rmin == 420  # 1.4 * 300
    assert cmax - cmin == 700


def test_object_roi_includes_positive_clicks_and_clamps():
    mask = np.zeros((300, 400), bool)
    mask[140:160, 190:210] = True
    roi = object_roi(mask, [Click(10, 395, True), Click(290, 5, False)], SETTINGS)
    rmin, rmax, cmin, cmax = roi
    assert rmin == 0 and cmax == 399  # clamped to the image
    assert rmin <= 10 <= rmax and cmin <= 395 <= cmax
    # the negative click is not part of the box
    assert rmax < 290 or cmin > 5


def test_clicks_inside_roi_uses_half_open_test():
    roi = (10, 20, 10, 20)
    assert clicks_inside_roi(roi, [Click(10, 10, True)])
    assert not clicks_inside_roi(roi, [Click(20, 15, True)])  # r >= rmax counts as outside
    assert clicks_inside_roi(roi, [Click(25, 25, False)])  # negatives are not checked


def test_bbox_iou_is_product_of_segment_ious():
    assert bbox_iou((0, 9, 0, 9), (0, 9, 0, 9)) == 1.0
    assert bbox_iou((0, 9, 0, 9), (5, 14, 0, 9)) == pytest.approx(5 / 15)


def test_first_click_gives_whole_image():
    probs = np.zeros((120, 90), np.float32)
    assert next_roi(None, probs, [Click(5, 5, True)], SETTINGS) == (0, 119, 0, 89)


def test_roi_follows_mask_then_stays_until_a_rule_fires():
    probs = np.zeros((600, 600), np.float32)
    probs[280:320, 280:320] = 0.9
    clicks = [Click(300, 300, True)]
    whole = (0, 599, 0, 599)
    crop = next_roi(whole, probs, clicks, SETTINGS)
    assert crop == expand_bbox((280, 319, 280, 319), 1.4, 200)
    # a slightly different mask keeps the stored ROI (IoU >= 0.5)
    probs2 = probs.copy()
    probs2[275:280, 280:320] = 0.9
    assert next_roi(crop, probs2, clicks, SETTINGS) == crop
    # a positive click outside the stored ROI forces a new one
    far = [*clicks, Click(590, 590, True)]
    assert next_roi(crop, probs2, far, SETTINGS) != crop


def test_threshold_is_strictly_greater_than_half():
    probs = np.full((300, 300), 0.5, np.float32)
    assert next_roi(None, probs, [Click(1, 1, True)], SETTINGS) == (0, 299, 0, 299)


def test_crop_floor_scales_the_official_200_px_with_the_input():
    assert ZoomInSettings().crop_floor() == 200
    assert ZoomInSettings(target_size=(448, 448)).crop_floor() == 200
    assert ZoomInSettings(target_size=(224, 224)).crop_floor() == 100
    assert ZoomInSettings(target_size=(224, 224), min_crop_size=150).crop_floor() == 150
    resolved = ZoomInSettings().for_input((224, 224))
    assert resolved.target_size == (224, 224) and resolved.min_crop_size == 100


def test_a_224_px_model_zooms_into_a_small_object_twice_as_far():
    mask = np.zeros((400, 400), bool)
    mask[190:210, 190:210] = True
    small = object_roi(mask, [], ZoomInSettings(target_size=(224, 224)))
    official = object_roi(mask, [], ZoomInSettings(target_size=(448, 448)))
    assert small[1] - small[0] == 100 and official[1] - official[0] == 200


def test_the_first_view_is_the_whole_image_by_default_as_the_official_rule():
    prev = np.zeros((1024, 768), np.float32)
    roi = next_roi(None, prev, [Click(500, 300, True)], SETTINGS)
    assert roi == (0, 1023, 0, 767)


def test_a_capped_first_view_is_a_window_around_the_click_kept_inside_the_image():
    settings = ZoomInSettings(first_view_max_side=448)
    prev = np.zeros((1024, 768), np.float32)
    assert next_roi(None, prev, [Click(500, 300, True)], settings) == (276, 723, 76, 523)
    # near a corner the window shifts inside instead of shrinking
    assert next_roi(None, prev, [Click(5, 760, True)], settings) == (0, 447, 320, 767)
    # a side already under the cap stays whole; a negative click alone gives the whole image
    assert next_roi(None, np.zeros((300, 900), np.float32), [Click(10, 10, True)], settings) == (
        0,
        299,
        0,
        447,
    )
    assert next_roi(None, prev, [Click(500, 300, False)], settings) == (0, 1023, 0, 767)


def test_a_capped_first_view_does_not_change_later_clicks():
    capped = ZoomInSettings(first_view_max_side=256)
    prev = np.zeros((1024, 1024), np.float32)
    prev[400:440, 400:440] = 1.0
    clicks = [Click(420, 420, True), Click(600, 600, False)]
    assert next_roi(None, prev, clicks, capped) == next_roi(None, prev, clicks, SETTINGS)


def test_a_first_view_cap_below_a_patch_is_refused():
    with pytest.raises(ValueError, match="first_view_max_side must be at least 16"):
        ZoomInSettings(first_view_max_side=8)
