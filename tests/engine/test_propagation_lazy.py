"""Propagation through a zarr volume larger than the test may load: bounded memory."""

import tracemalloc

import numpy as np
import zarr
from fake_models import ImageEcho

from napari_clickseg.engine.predictor import Predictor
from napari_clickseg.engine.propagation import PropagationSettings, propagate
from napari_clickseg.io.zarr_volumes import create_zarr_labels, open_lazy_volume

#: The test's memory budget: a tenth of the volume's nominal size.
MEMORY_LIMIT = 300e6


def _sparse_volume(path, shape=(256, 4096, 4096), chunks=(1, 1024, 1024)):
    """A 4.3 GB uint8 volume on disk with a bright disc on slices 100-119 (a few chunks)."""
    volume = zarr.create_array(store=str(path), shape=shape, chunks=chunks, dtype="uint8")
    rows, cols = np.ogrid[:512, :512]
    disc = np.where((rows - 256) ** 2 + (cols - 256) ** 2 < 120**2, 220, 30).astype(np.uint8)
    for z in range(100, 120):
        volume[z, 1024:1536, 2048:2560] = disc
    seed = zarr.create_array(
        store=str(path.parent / "seed.zarr"), shape=shape, chunks=chunks, dtype="uint8"
    )
    seed[110, 1024:1536, 2048:2560] = disc > 100
    return volume


def test_propagation_reads_a_huge_zarr_volume_slice_by_slice(tmp_path):
    _sparse_volume(tmp_path / "big.zarr")
    volume = open_lazy_volume(tmp_path / "big.zarr")
    seed = open_lazy_volume(tmp_path / "seed.zarr")
    assert volume.nbytes > 4e9
    out = create_zarr_labels(tmp_path / "out.zarr", volume.shape, (1, 1024, 1024), np.uint8)
    predictor = Predictor(ImageEcho(), "cpu")
    tracemalloc.start()
    try:
        result = propagate(
            predictor,
            volume.data,
            seed.data,
            seed_slices=[110],
            settings=PropagationSettings(mode="mask+center", max_empty=1),
            out=out,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT, f"peak traced allocation {peak / 1e6:.0f} MB"
    assert result.mask is out
    assert result.written == tuple(z for z in range(100, 120) if z != 110)
    assert out[99].max() == 0 and out[120].max() == 0
    centre = np.asarray(out[105, 1024:1536, 2048:2560])
    assert centre[256, 256] == 1 and centre[0, 0] == 0
