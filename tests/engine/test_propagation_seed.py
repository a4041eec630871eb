import numpy as np
import pytest

from napari_clickseg.engine.baseline import RandomWalkerPredictor
from napari_clickseg.engine.metrics import iou
from napari_clickseg.engine.propagation_seed import largest_slice, simulate_seed


def _volume():
    z, y, x = np.ogrid[:12, :40, :36]
    obj = ((z - 7) / 4.0) ** 2 + ((y - 20) / 12.0) ** 2 + ((x - 18) / 10.0) ** 2 < 1
    rng = np.random.default_rng(1)
    image = np.clip(np.where(obj, 190, 50) + rng.normal(0, 8, obj.shape), 0, 255)
    return image.astype(np.uint8), obj


def test_seed_is_the_clicked_mask_on_the_largest_slice_only():
    image, obj = _volume()
    seed = simulate_seed(RandomWalkerPredictor(), image, obj, max_clicks=5, target_iou=0.95)
    assert seed.slice == largest_slice(obj) == 7
    assert not np.delete(seed.mask, 7, axis=0).any()
    assert seed.ious[-1] == pytest.approx(iou(obj[7].astype(np.int8), seed.mask[7]))
    assert seed.ious[-1] > 0.8 and 1 <= len(seed.clicks) <= 5
    assert seed.clicks[0].is_positive


def test_seed_along_another_axis_and_errors():
    image, obj = _volume()
    moved_image, moved_gt = np.moveaxis(image, 0, 2), np.moveaxis(obj, 0, 2)
    seed = simulate_seed(RandomWalkerPredictor(), moved_image, moved_gt, axis=2, max_clicks=3)
    assert seed.slice == 7 and seed.mask[:, :, 7].any()
    with pytest.raises(ValueError, match="ground truth is empty"):
        simulate_seed(RandomWalkerPredictor(), image, np.zeros_like(obj))
    with pytest.raises(ValueError, match="ground truth on slice 0 is empty"):
        simulate_seed(RandomWalkerPredictor(), image, obj, slice_index=0)
    with pytest.raises(ValueError, match="one shape"):
        simulate_seed(RandomWalkerPredictor(), image[:5], obj)
