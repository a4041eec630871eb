"""Detecting ground truth that gives all objects one label value (ISBI-style)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_clickseg.engine.component_split import advise_component_split
from napari_clickseg.engine.planes import Plane

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def _cells(value=255, slices=3):
    """Membrane grid (0) around 9 cells (``value``) per slice, as ISBI labels."""
    labels = np.full((slices, 30, 30), value, np.uint8)
    labels[:, ::10, :] = 0
    labels[:, :, ::10] = 0
    return labels


def test_one_value_in_several_pieces_is_advised_to_split():
    labels = _cells()
    advice = advise_component_split(labels, Plane.canonical(3, 0))
    assert advice.split and advice.value == 255 and advice.pieces == 9
    assert "one label value (255)" in advice.message and "9 separate pieces" in advice.message
    # along another axis the same grid gives pieces too, and a 2D image works alike
    assert advise_component_split(labels, Plane.canonical(3, 2)).split
    flat = advise_component_split(labels[0], Plane.canonical(2, None))
    assert flat.split and "the image holds 9" in flat.message


def test_instance_labels_and_single_blobs_are_left_alone():
    instances = _cells(1)
    instances[:, 11:20, 11:20] = 2  # a second value: objects already have their own values
    assert not advise_component_split(instances, Plane.canonical(3, 0)).split
    blob = np.zeros((3, 30, 30), np.uint8)
    blob[:, 5:15, 5:15] = 1  # one value, one piece per slice (a binary tumour mask)
    advice = advise_component_split(blob, Plane.canonical(3, 0))
    assert not advice.split and advice.value == 1 and advice.message == ""
    empty = np.zeros((2, 8, 8), np.uint8)
    assert not advise_component_split(empty, Plane.canonical(3, 0)).split


def test_only_the_chosen_slices_count():
    labels = _cells(1, slices=4)
    labels[3, 11:20, 11:20] = 2  # a second value on a slice outside the selection
    assert advise_component_split(labels, Plane.canonical(3, 0), slices=[0, 1, 2]).split
    assert not advise_component_split(labels, Plane.canonical(3, 0), slices=[2, 3]).split


def test_real_isbi_labels_when_present():
    folder = SHARED_DATA / "isbi2012_em" / "label"
    if not folder.is_dir():
        pytest.skip("ISBI data not present")
    from skimage import io as skio

    labels = np.stack([skio.imread(folder / f"{i}.png") for i in range(3)])
    advice = advise_component_split(labels, Plane.canonical(3, 0))
    assert advice.split and advice.value == 255 and advice.pieces > 50
