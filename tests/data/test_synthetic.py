"""Synthetic generators: shapes, dtypes, determinism and plausible labels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_clickseg.data.synthetic import (
    make_2d_sample,
    make_brain_mri,
    make_em_stack,
    make_knee_mri,
)


@pytest.fixture(scope="module")
def em():
    return make_em_stack()


@pytest.fixture(scope="module")
def brain():
    return make_brain_mri()


@pytest.fixture(scope="module")
def knee():
    return make_knee_mri()


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


# --------------------------------------------------------------------------------------------------
# shapes, dtypes, determinism


def test_em_shapes_and_dtypes(em):
    image, cells, mito = em
    assert image.shape == cells.shape == mito.shape == (16, 256, 256)
    assert image.dtype == np.uint8
    assert cells.dtype == np.int32
    assert mito.dtype == np.int32
    assert image.std() > 20  # not a flat image


def test_em_custom_size():
    image, cells, mito = make_em_stack(n_slices=3, shape=(64, 96), seed=5)
    assert image.shape == cells.shape == mito.shape == (3, 64, 96)


def test_brain_shapes_and_dtypes(brain):
    image, seg = brain
    assert image.shape == (4, 64, 128, 128)
    assert image.dtype == np.float32
    assert seg.shape == (64, 128, 128)
    assert seg.dtype == np.uint8
    assert np.isfinite(image).all()


def test_knee_shapes_and_dtypes(knee):
    image, labels = knee
    assert image.shape == labels.shape == (48, 160, 160)
    assert image.dtype == np.float32
    assert labels.dtype == np.uint8
    assert np.isfinite(image).all()


def test_2d_sample_shapes_and_dtypes():
    image, mask, click = make_2d_sample()
    assert image.shape == (256, 256, 3)
    assert image.dtype == np.uint8
    assert mask.shape == (256, 256)
    assert mask.dtype == np.bool_
    assert isinstance(click, tuple) and len(click) == 2
    assert all(isinstance(c, int) for c in click)


@pytest.mark.parametrize(
    ("make", "kwargs"),
    [
        (make_em_stack, {"n_slices": 4, "shape": (64, 64)}),
        (make_brain_mri, {"shape": (24, 48, 48)}),
        (make_knee_mri, {"shape": (16, 64, 64)}),
        (make_2d_sample, {}),
    ],
)
def test_deterministic_per_seed(make, kwargs):
    first, again, other = make(seed=3, **kwargs), make(seed=3, **kwargs), make(seed=4, **kwargs)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(first[0], other[0])


# --------------------------------------------------------------------------------------------------
# EM


def test_em_cells_separated_by_membrane(em):
    image, cells, _ = em
    for z in range(cells.shape[0]):
        lab = cells[z]
        for a, b in ((lab[1:, :], lab[:-1, :]), (lab[:, 1:], lab[:, :-1])):
            touching = (a > 0) & (b > 0)
            assert (a[touching] == b[touching]).all(), f"cells touch without membrane in {z}"
    membrane = cells == 0
    assert 0.05 < membrane.mean() < 0.35
    assert image[membrane].mean() < image[~membrane].mean() - 40


def test_em_cells_drift_smoothly(em):
    _, cells, _ = em
    ious = []
    for z in range(cells.shape[0] - 1):
        for cell in np.unique(cells[z])[1:]:
            a, b = cells[z] == cell, cells[z + 1] == cell
            if a.sum() > 500:
                ious.append(_iou(a, b))
    assert len(ious) > 100
    assert np.median(ious) > 0.8  # neighbouring slices overlap: propagation makes sense
    assert np.median(ious) < 0.99  # but objects do move


def test_em_mitochondria_inside_single_cells(em):
    image, cells, mito = em
    ids = np.unique(mito)[1:]
    assert ids.size >= 5
    for m in ids:
        hosts = np.unique(cells[mito == m])
        assert hosts.size == 1 and hosts[0] > 0
    inside = mito > 0
    assert image[inside].mean() < image[(cells > 0) & ~inside].mean() - 30


def test_2d_sample_target(em):
    image, mask, (row, col) = make_2d_sample()
    assert mask[row, col]
    assert 500 < mask.sum() < 10000
    assert not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())
    assert ndi.label(mask)[1] == 1
    np.testing.assert_array_equal(image[..., 0], image[..., 1])


# --------------------------------------------------------------------------------------------------
# brain MRI


def test_brain_labels_are_brats(brain):
    _, seg = brain
    assert set(np.unique(seg)) == {0, 1, 2, 4}
    assert (seg == 2).sum() > (seg == 4).sum() > 0
    assert (seg == 1).sum() > 0


def test_brain_tumour_compartments_nested(brain):
    _, seg = brain
    core = seg == 1
    solid = core | (seg == 4)
    whole = seg > 0
    assert not (ndi.binary_dilation(core) & ~solid).any(), "core must be inside the rim"
    assert not (ndi.binary_dilation(solid) & ~whole).any(), "rim must be inside the oedema"
    assert ndi.label(whole)[1] == 1


def test_brain_tumour_inside_head(brain):
    image, seg = brain
    background = image[3] < 0.05
    assert background.mean() > 0.2  # skull-stripped: dark outside the brain
    assert not (background & (seg > 0)).mean() > 0.001


def test_brain_modality_contrasts(brain):
    image, seg = brain
    t1, t1ce, t2, flair = image
    enhancing, oedema, core = seg == 4, seg == 2, seg == 1
    healthy = (seg == 0) & (flair > 0.3)
    assert t1ce[enhancing].mean() > t1ce[healthy].mean() + 0.2
    assert t1ce[enhancing].mean() > t1[enhancing].mean() + 0.2
    assert flair[oedema].mean() > flair[healthy].mean() + 0.2
    assert t2[core].mean() > t2[healthy].mean() + 0.2


# --------------------------------------------------------------------------------------------------
# knee MRI


def test_knee_cartilage_in_expected_slices(knee):
    _, labels = knee
    nz = labels.shape[0]
    assert set(np.unique(labels)) == {0, 1, 2}
    per_slice = (labels > 0).any(axis=(1, 2))
    assert per_slice[nz // 2]
    assert per_slice[nz // 3 : 2 * nz // 3].all()
    assert not per_slice[:3].any() and not per_slice[-3:].any()


def test_knee_cartilage_geometry(knee):
    image, labels = knee
    mid = labels[labels.shape[0] // 2]
    rows_fem = np.nonzero(mid == 1)[0]
    rows_tib = np.nonzero(mid == 2)[0]
    assert rows_fem.size and rows_tib.size
    assert np.median(rows_fem) < np.median(rows_tib)  # femur above tibia
    thickness = (mid == 1).sum(axis=0)
    assert 0 < thickness.max() <= 8  # thin bands, not blobs
    femoral, tibial = labels == 1, labels == 2
    assert not (ndi.binary_dilation(femoral) & tibial).any(), "fluid between the cartilages"
    cartilage = image[labels > 0].mean()
    assert cartilage > image[labels == 0].mean() + 0.2
