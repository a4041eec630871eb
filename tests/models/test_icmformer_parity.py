"""Our iCMFormer against fixtures computed by the official code (tests/fixtures/official).

See tests/fixtures/official/ICMFORMER.md; made by tools/make_official_icmformer_fixtures.py.
"""

import numpy as np
import pytest
import torch

from conftest import FIXTURES
from napari_clickseg.models.checkpoints import load_model
from napari_clickseg.models.icmformer import ICMFormerModel

OFFICIAL = FIXTURES / "official"


@pytest.mark.parametrize("name", ["icm_p16_d12", "icm_p16_d8"])
@pytest.mark.parametrize("fused", [False, True], ids=["plain-attention", "fused-attention"])
def test_icmformer_logits_match_official_to_1e4(name, fused):
    model = load_model(OFFICIAL / f"{name}.pth")
    assert isinstance(model, ICMFormerModel)
    data = np.load(OFFICIAL / f"{name}_forward.npz")
    model.backbone.set_fused_attention(fused)
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
    np.testing.assert_allclose(captured["head"].numpy(), data["logits_lowres"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(
        logits[:, :, ::stride, ::stride].numpy(), data["logits_sub"], rtol=0, atol=1e-4
    )


def test_official_icmformer_file_config():
    model = load_model(OFFICIAL / "icm_p16_d8.pth")
    assert model.config.cross_blocks == 2 and model.config.depth == 8
