"""EvalObject validation, the Dataset base class, limit() and the empty-data-set policy."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from napari_clickseg.data.instances import (
    Dataset,
    DatasetError,
    EvalObject,
    InMemoryDataset,
    SkippedObject,
)


def _obj(name: str = "a", shape=(4, 5), rgb: bool = False) -> EvalObject:
    image = np.zeros((*shape, 3) if rgb else shape, np.uint8)
    gt = np.zeros(shape, np.int8)
    gt[1, 1] = 1
    gt[0, 0] = -1
    return EvalObject(name, image, gt, source="src")


class _Counting(Dataset):
    """Sources are ints; source k holds k objects (k = 0 holds one skip record)."""

    def __init__(self, sizes: list[int]) -> None:
        super().__init__("counting")
        self.sizes = sizes
        self.scanned: list[int] = []
        self.loaded: list[int] = []

    def _sources(self) -> list[int]:
        return list(range(len(self.sizes)))

    def _load(self, source: int) -> Iterator[EvalObject | SkippedObject]:
        self.loaded.append(source)
        if self.sizes[source] == 0:
            yield SkippedObject(f"s{source}", str(source), "empty ground truth")
        for k in range(self.sizes[source]):
            yield _obj(f"s{source}/o{k}")

    def _scan(self, source: int) -> tuple[int, tuple[SkippedObject, ...]]:
        self.scanned.append(source)
        return super()._scan(source)


# --------------------------------------------------------------------------------------------------
# EvalObject


def test_eval_object_accepts_gray_and_rgb():
    assert _obj().area == 1
    assert _obj(rgb=True).image.shape == (4, 5, 3)


@pytest.mark.parametrize(
    ("image", "gt", "match"),
    [
        (np.zeros((4, 5), np.float32), None, "uint8"),
        (np.zeros((4, 5, 4), np.uint8), None, r"\(H, W, 3\)"),
        (np.zeros((4, 5), np.uint8), np.ones((4, 5), np.uint8), "int8"),
        (np.zeros((4, 5), np.uint8), np.ones((4, 6), np.int8), "differs from image shape"),
        (np.zeros((4, 5), np.uint8), np.full((4, 5), 2, np.int8), "values must be -1"),
        (np.zeros((4, 5), np.uint8), np.zeros((4, 5), np.int8), "empty ground truth"),
        (np.zeros((4, 5), np.uint8), np.full((4, 5), -1, np.int8), "empty ground truth"),
    ],
)
def test_eval_object_rejects_bad_input(image, gt, match):
    gt = np.ones(image.shape[:2], np.int8) if gt is None else gt
    with pytest.raises(ValueError, match=match):
        EvalObject("x", image, gt)


# --------------------------------------------------------------------------------------------------
# Dataset


def test_in_memory_dataset_iterates_in_order():
    ds = InMemoryDataset([_obj("a"), _obj("b")], name="mem")
    assert ds.name == "mem"
    assert len(ds) == 2
    assert [o.name for o in ds] == ["a", "b"]
    assert ds.skipped == ()
    with pytest.raises(TypeError, match="EvalObject"):
        InMemoryDataset([1])  # type: ignore[list-item]


def test_len_iter_and_skipped_agree():
    ds = _Counting([2, 0, 3])
    assert len(ds) == 5
    assert [o.name for o in ds] == ["s0/o0", "s0/o1", "s2/o0", "s2/o1", "s2/o2"]
    assert ds.skipped == (SkippedObject("s1", "1", "empty ground truth"),)


def test_dataset_without_objects_raises():
    ds = _Counting([0, 0])
    with pytest.raises(
        DatasetError, match=r"no object to evaluate.*2 candidate object\(s\) were skipped"
    ):
        len(ds)
    with pytest.raises(DatasetError, match="no object to evaluate"):
        list(ds)
    assert len(ds.skipped) == 2  # still tells why
    with pytest.raises(DatasetError, match="no object"):
        list(ds.limit(3))


def test_limit_first_n_scans_only_needed_sources():
    ds = _Counting([2, 0, 3, 4, 5])
    sub = ds.limit(4)
    assert [o.name for o in sub] == ["s0/o0", "s0/o1", "s2/o0", "s2/o1"]
    assert len(sub) == 4
    assert sub.name == ds.name
    assert sorted(set(ds.scanned)) == [0, 1, 2]  # sources 3 and 4 never read
    assert 3 not in ds.loaded


def test_limit_larger_than_dataset_takes_all():
    ds = _Counting([1, 2])
    assert len(ds.limit(100)) == 3
    assert len(ds.limit(100, seed=1)) == 3


def test_limit_seeded_is_reproducible_ordered_subset():
    ds = _Counting([5, 0, 7, 3, 9])
    names = [o.name for o in ds]
    a = [o.name for o in ds.limit(6, seed=3)]
    b = [o.name for o in ds.limit(6, seed=3)]
    c = [o.name for o in ds.limit(6, seed=4)]
    assert a == b
    assert a != c
    assert len(a) == len(set(a)) == 6
    assert a == [n for n in names if n in set(a)]  # kept in the data set's order
    assert len(ds.limit(6, seed=3)) == 6


def test_limit_chains_and_validates():
    ds = _Counting([3, 3])
    assert [o.name for o in ds.limit(5).limit(2)] == ["s0/o0", "s0/o1"]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            ds.limit(bad)  # type: ignore[arg-type]


def test_select_keeps_sources_by_position_and_objects_by_pattern():
    data = _Counting([2, 0, 3, 1])
    chosen = data.select(slices=[2, 3])
    assert [o.name for o in chosen] == ["s2/o0", "s2/o1", "s2/o2", "s3/o0"]
    assert len(chosen) == 4 and set(data.loaded) == {2, 3}  # other sources never read
    named = data.select(objects=["*/o1", "s3/*"])
    assert [o.name for o in named] == ["s0/o1", "s2/o1", "s3/o0"] and len(named) == 3
    both = data.select(slices=2, objects="*/o2")
    assert [o.name for o in both] == ["s2/o2"]
    assert [o.name for o in data.select(slices=[0, 2]).limit(2, seed=0)]  # chains with limit
    with pytest.raises(DatasetError, match=r"slices \[4\] do not select sources.*positions 0..3"):
        data.select(slices=[1, 4])
    with pytest.raises(DatasetError, match="no object to evaluate"):
        len(data.select(objects="nothing*"))


def test_every_adapter_takes_slices_and_objects_through_open_dataset(tmp_path):
    from skimage.io import imsave

    from napari_clickseg.data.registry import open_dataset

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for index in range(3):
        mask = np.zeros((8, 8), np.uint8)
        mask[2:5, 2 + index : 5 + index] = 255
        imsave(tmp_path / "images" / f"im{index}.png", mask, check_contrast=False)
        imsave(tmp_path / "masks" / f"im{index}.png", mask, check_contrast=False)
    assert [o.name for o in open_dataset(tmp_path, slices=[0, 2])] == ["im0", "im2"]
    assert [o.name for o in open_dataset(f"folder:{tmp_path}", objects="*1")] == ["im1"]
