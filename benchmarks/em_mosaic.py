"""Sections of a large EM image made from 2 x 2 ISBI 2012 sections, with their mitochondria.

ISBI 2012 sections are 512 x 512 crops (4 nm pixels) of the Drosophila ssTEM stack whose full
sections are about 1024 px: tiling four of them gives 1024 x 1024 images with the objects at
their own scale, where a whole-image first view shrinks 4.6x into a 224 px input, as on full
ssTEM sections. Writes ``OUT/raw/N.png`` and ``OUT/mitochondria/N.png`` (the ``sstem:`` layout):

    python benchmarks/em_mosaic.py --data-root ../shared/data --out /tmp/mito1024_val \\
        --slices 16 17 18 19 --arrangements 4          # validation (model card)
    python benchmarks/em_mosaic.py --data-root ../shared/data --out /tmp/mito1024_heldout \\
        --slices 20 21 22 23 24 25 26 27                # held out: two mosaics, each object once
    clickseg evaluate --data sstem:/tmp/mito1024_val --data-option name=ISBI-mito-1024 ...

Each group of four consecutive sections in ``--slices`` makes ``--arrangements`` mosaics (the
four sections cycled through the tiles; 1: each object once).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from skimage import io


def mosaic(tiles: list[np.ndarray]) -> np.ndarray:
    """Four equal tiles as one 2 x 2 image (row-major)."""
    return np.block([[tiles[0], tiles[1]], [tiles[2], tiles[3]]])


def main() -> None:
    """Write the mosaics."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--out", required=True)
    parser.add_argument("--slices", type=int, nargs="+", required=True)
    parser.add_argument("--arrangements", type=int, default=1, choices=(1, 2, 3, 4))
    args = parser.parse_args()
    if len(args.slices) % 4:
        parser.error(f"--slices needs groups of four sections, got {len(args.slices)}")
    root, out = Path(args.data_root), Path(args.out)
    (out / "raw").mkdir(parents=True, exist_ok=True)
    (out / "mitochondria").mkdir(exist_ok=True)
    count, shape = 0, None
    for start in range(0, len(args.slices), 4):
        group = args.slices[start : start + 4]
        for shift in range(args.arrangements):
            order = group[shift:] + group[:shift]
            images = [io.imread(root / "isbi2012_em" / "image" / f"{s}.png") for s in order]
            labels = [
                io.imread(root / "isbi2012_em_mito" / "mitochondria" / f"{s}.png") for s in order
            ]
            image = mosaic(images)
            shape = image.shape
            io.imsave(out / "raw" / f"{count}.png", image, check_contrast=False)
            io.imsave(out / "mitochondria" / f"{count}.png", mosaic(labels), check_contrast=False)
            count += 1
    print(f"wrote {count} mosaics of {shape[0]} x {shape[1]} to {out}")


if __name__ == "__main__":
    main()
