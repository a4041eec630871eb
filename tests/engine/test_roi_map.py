import numpy as np
import pytest
import torch
import torch.nn.functional as F

from napari_clickseg.engine.roi_map import RoiMap, bilinear_at, linear_weights, resize_at


def _torch_resize(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    tensor = torch.from_numpy(values)[None]
    out = F.interpolate(tensor, size=size, mode="bilinear", align_corners=True)
    return out[0].numpy()


@pytest.mark.parametrize("seed", range(12))
def test_pointwise_bilinear_matches_torch(seed):
    rng = np.random.default_rng(seed)
    hi, wi, ho, wo = (int(v) for v in rng.integers(1, 400, 4))
    source = rng.random((2, hi, wi), dtype=np.float32)
    rows, cols = linear_weights(hi, ho), linear_weights(wi, wo)
    ours = bilinear_at(source, rows, cols)
    # Bitwise equal on x86-64 builds (fused multiply-adds); a last-bit difference elsewhere.
    np.testing.assert_allclose(ours, _torch_resize(source, (ho, wo)), rtol=0, atol=2e-7)


def test_resize_reads_at_most_two_rows_and_columns_per_output():
    rng = np.random.default_rng(0)
    source = rng.random((1, 3000, 2500), dtype=np.float32)
    read_sizes = []

    def read(rows, cols):
        read_sizes.append((rows.size, cols.size))
        return source[:, rows][:, :, cols]

    out = resize_at(read, (3000, 2500), (64, 48))
    assert len(read_sizes) == 1 and read_sizes[0][0] <= 128 and read_sizes[0][1] <= 96
    np.testing.assert_allclose(out, _torch_resize(source, (64, 48)), rtol=0, atol=2e-7)


def _old_paste(low, roi, shape):
    rmin, rmax, cmin, cmax = roi
    canvas = np.zeros(shape, np.float32)
    canvas[rmin : rmax + 1, cmin : cmax + 1] = _torch_resize(
        low[None], (rmax - rmin + 1, cmax - cmin + 1)
    )[0]
    return canvas


def _random_map(seed):
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(50, 300)), int(rng.integers(50, 300)))
    rmin, cmin = int(rng.integers(0, shape[0] // 2)), int(rng.integers(0, shape[1] // 2))
    rmax = int(rng.integers(rmin, shape[0]))
    cmax = int(rng.integers(cmin, shape[1]))
    low = np.zeros((24, 20), np.float32)
    r, c = np.ogrid[:24, :20]
    centre = rng.uniform(0, 24), rng.uniform(0, 20)
    low[:] = np.exp(-((r - centre[0]) ** 2 + (c - centre[1]) ** 2) / rng.uniform(4, 60))
    return RoiMap.pasted(shape, (rmin, rmax, cmin, cmax), low), _old_paste(
        low, (rmin, rmax, cmin, cmax), shape
    )


@pytest.mark.parametrize("seed", range(10))
def test_roi_map_is_the_pasted_canvas(seed):
    compact, dense = _random_map(seed)
    np.testing.assert_allclose(compact.dense(), dense, rtol=0, atol=2e-7)
    rows = np.sort(np.random.default_rng(seed).choice(dense.shape[0], 17, replace=False))
    cols = np.arange(0, dense.shape[1], 7)
    np.testing.assert_allclose(compact.values(rows, cols), dense[np.ix_(rows, cols)], atol=2e-7)
    assert compact.nbytes == 24 * 20 * 4


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("threshold", [0.1, 0.49, 0.5, 0.9, 2.0])
def test_bbox_and_mask_above_threshold_are_exact(seed, threshold):
    compact, _ = _random_map(seed)
    dense = compact.dense()
    above = dense > threshold
    np.testing.assert_array_equal(compact.above(threshold), above)
    box = compact.bbox_above(threshold)
    if not above.any():
        assert box is None
    else:
        rows, cols = np.nonzero(above)
        assert box == (rows.min(), rows.max(), cols.min(), cols.max())


def test_from_dense_keeps_the_nonzero_box_only():
    values = np.zeros((1000, 800), np.float32)
    values[100:120, 300:340] = 0.7
    compact = RoiMap.from_dense(values)
    assert compact.roi == (100, 119, 300, 339) and compact.nbytes == 20 * 40 * 4
    np.testing.assert_array_equal(compact.dense(), values)
    assert RoiMap.from_dense(np.zeros((5, 5))).bbox_above(0.0) is None
    assert not RoiMap.zeros((5, 5)).above(0.5).any()
