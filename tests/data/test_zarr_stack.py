"""A zarr image volume and its labels as evaluation objects, read slice by slice."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import zarr

from napari_clickseg.data.instances import DatasetError
from napari_clickseg.data.registry import detect_kind, open_dataset
from napari_clickseg.data.zarr_stack import ZarrStackDataset

#: The test's memory budget: far below either volume's nominal size (2.1 GB each).
MEMORY_LIMIT = 200e6


def _sparse_pair(root, shape=(128, 4096, 4096), chunks=(1, 1024, 1024)):
    """A 2.1 GB uint8 image and labels on disk, with two discs on slices 40 and 41 only."""
    image = zarr.create_array(store=str(root / "em.zarr"), shape=shape, chunks=chunks, dtype="u1")
    labels = zarr.create_array(
        store=str(root / "em_labels.zarr"), shape=shape, chunks=chunks, dtype="u2"
    )
    rows, cols = np.ogrid[:512, :512]
    disc = (rows - 200) ** 2 + (cols - 200) ** 2 < 60**2
    other = (rows - 380) ** 2 + (cols - 380) ** 2 < 40**2
    for z in (40, 41):
        image[z, 1024:1536, 1024:1536] = np.where(disc | other, 210, 40).astype(np.uint8)
        labels[z, 1024:1536, 1024:1536] = disc * 7 + other * 9
    return root / "em.zarr"


def test_objects_of_a_huge_zarr_pair_are_read_slice_by_slice(tmp_path):
    path = _sparse_pair(tmp_path)
    assert detect_kind(path) == "zarr"
    dataset = open_dataset(path, labels="em_labels.zarr", slices=[39, 40, 41])
    tracemalloc.start()
    try:
        objects = list(dataset)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [o.name for o in objects] == ["z40/label7", "z40/label9", "z41/label7", "z41/label9"]
    assert objects[0].area == int(np.count_nonzero(objects[0].gt)) > 10000
    assert objects[0].image.shape == (4096, 4096) and objects[0].image[1224, 1224] == 210
    assert peak < MEMORY_LIMIT


def test_one_value_labels_split_into_pieces_and_bad_pairs_are_explained(tmp_path):
    shape = (2, 32, 32)
    zarr.create_array(store=str(tmp_path / "a.zarr"), shape=shape, dtype="f4")[:] = 1.5
    labels = np.zeros(shape, np.uint8)
    labels[0, 2:6, 2:6] = labels[0, 20:26, 20:26] = 255
    zarr.create_array(store=str(tmp_path / "l.zarr"), shape=shape, dtype="u1")[:] = labels
    split = ZarrStackDataset(tmp_path / "a.zarr", labels="l.zarr", split_components=True)
    assert [o.name for o in split] == ["z0/label255/part1", "z0/label255/part2"]
    with pytest.raises(DatasetError, match="name its labels volume"):
        ZarrStackDataset(tmp_path / "a.zarr")
    zarr.create_array(store=str(tmp_path / "s.zarr"), shape=(2, 32, 31), dtype="u1")
    with pytest.raises(DatasetError, match="expected two 3D volumes of one shape"):
        ZarrStackDataset(tmp_path / "a.zarr", labels="s.zarr")


def test_clickseg_evaluate_reads_a_zarr_pair(tmp_path, capsys):
    from napari_clickseg.cli import main

    path = _sparse_pair(tmp_path, shape=(64, 2048, 2048), chunks=(1, 512, 512))
    args = ["evaluate", "--model", "baseline", "--data", f"zarr:{path}", "--max-clicks", "3"]
    args += ["--data-option", "labels=em_labels.zarr", "--data-option", "slices=40,41"]
    assert main([*args, "--out", str(tmp_path / "out")]) == 0
    assert "(4 objects)" in capsys.readouterr().out
