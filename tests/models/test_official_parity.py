"""Our SimpleClick against fixtures computed by the official code (tests/fixtures/official)."""

import numpy as np
import pytest
from official_fixtures import assert_forward_matches

from conftest import FIXTURES
from napari_clickseg.models.checkpoints import load_model

OFFICIAL = FIXTURES / "official"
CONFIGS = ["p16_d8", "p14_d8", "p16_d12"]


@pytest.fixture(params=CONFIGS)
def official_case(request):
    name = request.param
    return load_model(OFFICIAL / f"{name}.pth"), np.load(OFFICIAL / f"{name}_forward.npz")


@pytest.mark.parametrize("fused", [False, True], ids=["plain-attention", "fused-attention"])
def test_raw_logits_match_official_to_1e4(official_case, fused):
    model, data = official_case
    model.backbone.set_fused_attention(fused)
    assert_forward_matches(model, data)


def test_official_file_config_read_exactly():
    model = load_model(OFFICIAL / "p14_d8.pth")
    config = model.config
    assert (config.patch_size, config.embed_dim, config.depth, config.num_heads) == (14, 32, 8, 2)
    assert config.neck_out_dims == (16, 32, 48, 64) and config.head_channels == 16
    assert config.img_size == 448 and config.disk_radius == 5.0 and config.with_prev_mask
