"""Shared fixtures: tiny model configs that run in milliseconds on a CPU."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from tiny_models import tiny_simpleclick_config

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield


@pytest.fixture
def tiny_config():
    """A SimpleClick config with the real structure and a few thousand parameters."""
    return tiny_simpleclick_config()


@pytest.fixture
def tiny_model(tiny_config):
    from napari_clickseg.models.registry import build_model

    return build_model(tiny_config)


def write_mha(path, data, compressed=False, spacing=(1.0, 2.0, 3.0), element="MET_SHORT"):
    """A MetaImage file as ITK writes it: header, then (i, j, k) data with i fastest."""
    payload = np.ascontiguousarray(data.transpose(2, 1, 0)).astype("<i2").tobytes()
    if compressed:
        payload = zlib.compress(payload)
    header = [
        "ObjectType = Image",
        "NDims = 3",
        "BinaryData = True",
        "BinaryDataByteOrderMSB = False",
        f"CompressedData = {compressed}",
        "TransformMatrix = 1 0 0 0 1 0 0 0 1",
        "Offset = 0 -239 0",
        f"ElementSpacing = {' '.join(map(str, spacing))}",
        f"DimSize = {' '.join(map(str, data.shape))}",
        f"ElementType = {element}",
        "ElementDataFile = LOCAL",
    ]
    path.write_bytes(("\n".join(header) + "\n").encode() + payload)
    return path
