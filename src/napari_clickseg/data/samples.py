"""napari sample data (npe2 ``sample_data`` contributions) built from the synthetic generators.

Each function returns a list of napari ``LayerData`` tuples ``(data, metadata, layer_type)``.
"""

from __future__ import annotations

from typing import Any

from napari_clickseg.data.synthetic import make_brain_mri, make_em_stack, make_knee_mri

LayerData = tuple[Any, dict[str, Any], str]

#: Names of the brain MRI channels, in the generator's channel order.
BRAIN_MODALITIES = ("t1", "t1ce", "t2", "flair")


def em_stack_sample() -> list[LayerData]:
    """Synthetic ssTEM stack with its cell and mitochondrion labels.

    Returns
    -------
    list of tuple
        An image layer ``"EM stack"`` and labels layers ``"cells"`` and ``"mitochondria"``.
    """
    image, cells, mito = make_em_stack()
    return [
        (image, {"name": "EM stack", "colormap": "gray", "contrast_limits": (0, 255)}, "image"),
        (cells, {"name": "cells", "opacity": 0.4, "visible": False}, "labels"),
        (mito, {"name": "mitochondria", "opacity": 0.6}, "labels"),
    ]


def brain_mri_sample() -> list[LayerData]:
    """Synthetic multi-modal brain MRI with a BraTS-style tumour segmentation.

    Returns
    -------
    list of tuple
        Image layers ``"t1"``, ``"t1ce"``, ``"t2"``, ``"flair"`` (only FLAIR visible) and a labels
        layer ``"seg"`` (1 necrotic core, 2 oedema, 4 enhancing). Slices are twice as thick as
        the in-plane pixels, which the layers' ``scale`` says.
    """
    image, seg = make_brain_mri()
    scale = (2.0, 1.0, 1.0)
    layers: list[LayerData] = []
    for channel, name in zip(image, BRAIN_MODALITIES, strict=True):
        meta = {
            "name": name,
            "colormap": "gray",
            "scale": scale,
            "contrast_limits": (0.0, float(channel.max())),
            "visible": name == "flair",
        }
        layers.append((channel, meta, "image"))
    layers.append((seg, {"name": "seg", "scale": scale, "opacity": 0.5}, "labels"))
    return layers


def knee_mri_sample() -> list[LayerData]:
    """Synthetic sagittal knee MRI with femoral and tibial cartilage labels.

    Returns
    -------
    list of tuple
        An image layer ``"knee MRI"`` and a labels layer ``"cartilage"`` (1 femoral,
        2 tibial). Sagittal slices are three times as thick as the in-plane pixels.
    """
    image, labels = make_knee_mri()
    scale = (3.0, 1.0, 1.0)
    return [
        (
            image,
            {
                "name": "knee MRI",
                "colormap": "gray",
                "scale": scale,
                "contrast_limits": (0.0, float(image.max())),
            },
            "image",
        ),
        (labels, {"name": "cartilage", "scale": scale, "opacity": 0.5}, "labels"),
    ]
