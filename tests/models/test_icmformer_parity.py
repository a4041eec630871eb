"""Our iCMFormer against fixtures computed by the official code (tests/fixtures/official).

See tests/fixtures/official/ICMFORMER.md; made by tools/make_official_icmformer_fixtures.py.
"""

import numpy as np
import pytest
from official_fixtures import assert_forward_matches

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
    assert_forward_matches(model, data)


def test_official_icmformer_file_config():
    model = load_model(OFFICIAL / "icm_p16_d8.pth")
    assert model.config.cross_blocks == 2 and model.config.depth == 8
