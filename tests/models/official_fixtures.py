"""Helpers shared by the tests against fixtures computed by the official code."""

from pathlib import Path

import numpy as np
import torch

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


def official_key_shapes(filename: str) -> dict[str, tuple[int, ...]] | None:
    """Official state_dict key -> shape from ../shared/reference, or None when absent."""
    path = REFERENCE / filename
    if not path.exists():
        return None
    shapes = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, shape = line.split("\t")
            shapes[key] = tuple(int(v) for v in shape.strip("()").split(",") if v.strip())
    return shapes


def assert_forward_matches(model, data, atol: float = 1e-4) -> None:
    """Run the fixture's inputs and compare the head output and the final logits."""
    captured = {}
    handle = model.head.register_forward_hook(lambda m, i, o: captured.update(head=o))
    with torch.no_grad():
        logits = model(
            torch.from_numpy(data["image"]),
            torch.from_numpy(data["prev_mask"]),
            torch.from_numpy(data["points"]),
        ).logits
    handle.remove()
    stride = int(data["logits_stride"])
    np.testing.assert_allclose(captured["head"].numpy(), data["logits_lowres"], rtol=0, atol=atol)
    np.testing.assert_allclose(
        logits[:, :, ::stride, ::stride].numpy(), data["logits_sub"], rtol=0, atol=atol
    )
