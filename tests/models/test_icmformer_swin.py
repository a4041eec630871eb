"""iCMFormer Swin variants: official layout, parity with the official code, own format.

The parity fixture is made by tools/make_official_icmformer_swin_fixtures.py (see the Swin
section of tests/fixtures/official/ICMFORMER.md).
"""

import numpy as np
import pytest
import torch
from official_fixtures import assert_forward_matches, official_key_shapes

from conftest import FIXTURES
from napari_clickseg.models.checkpoints import load_model, official_config, save_model
from napari_clickseg.models.click_maps import points_tensor
from napari_clickseg.models.icmformer_swin import ICMFormerSwinConfig, ICMFormerSwinModel
from napari_clickseg.models.registry import (
    VARIANTS,
    build_model,
    config_from_dict,
    config_to_dict,
)
from napari_clickseg.models.swin import relative_position_index, shifted_window_mask

OFFICIAL = FIXTURES / "official"
TINY = ICMFormerSwinConfig(
    img_size=224, embed_dim=8, depths=(2, 2, 2, 2), num_heads=(1, 2, 2, 4), window_size=7,
    head_channels=16,
)  # fmt: skip


def _head_output(model, data):
    captured = {}
    handle = model.head.register_forward_hook(lambda m, i, o: captured.update(head=o))
    with torch.no_grad():
        model(*(torch.from_numpy(data[k]) for k in ("image", "prev_mask", "points")))
    handle.remove()
    return captured["head"]


def test_swin_base_keys_and_shapes_equal_official():
    official = official_key_shapes("icmformer_swinb_keys.txt")
    if official is None:
        pytest.skip("../shared/reference is not available")
    with torch.device("meta"):
        model = build_model(VARIANTS["icmformer_swin_base"])
    state = model.state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == official
    assert sum(v.numel() for v in state.values()) == 121_957_497


def test_swin_variants_follow_the_official_configs():
    base, small = VARIANTS["icmformer_swin_base"], VARIANTS["icmformer_swin_small"]
    assert (base.img_size, base.embed_dim, base.window_size, base.head_channels) == (
        384, 128, 12, 256,
    )  # fmt: skip
    assert base.depths == small.depths == (2, 2, 18, 2)
    assert (small.img_size, small.embed_dim, small.num_heads, small.head_channels) == (
        224, 96, (3, 6, 12, 24), 192,
    )  # fmt: skip
    assert base.cross_dim == 512 and small.cross_dim == 384
    assert base.cross_blocks == small.cross_blocks == 8


def test_relative_position_index_and_mask_are_the_swin_ones():
    index = relative_position_index(3)
    assert index.shape == (9, 9) and index.max() == 24 and index[0, 0] == 12
    assert torch.equal(index.diag(), torch.full((9,), 12))
    mask = shifted_window_mask(5, 5, 3, 1)  # padded to 6 x 6: 4 windows
    assert mask.shape == (4, 9, 9)
    assert set(mask.unique().tolist()) == {0.0, -100.0}
    assert (mask[0] == 0).all()  # top-left window lies in one region


def test_forward_shape_any_size_and_click_dependence():
    model = build_model(TINY)
    image, prev = torch.rand(1, 3, 230, 201), torch.zeros(1, 1, 230, 201)
    with torch.no_grad():
        a = model(image, prev, points_tensor([[(100, 100, True)]])).logits
        b = model(image, prev, points_tensor([[(100, 100, True), (20, 150, False)]])).logits
    assert a.shape == (1, 1, 230, 201)
    assert not torch.allclose(a, b)


def test_fused_and_plain_attention_agree():
    model = build_model(TINY)
    image, prev = torch.rand(1, 3, 224, 224), torch.rand(1, 1, 224, 224)
    points = points_tensor([[(50, 60, True), (150, 20, False)]])
    with torch.no_grad():
        model.backbone.set_fused_attention(False)
        plain = model(image, prev, points).logits
        model.backbone.set_fused_attention(True)
        fused = model(image, prev, points).logits
    assert torch.allclose(plain, fused, atol=1e-5)


@pytest.mark.parametrize("fused", [False, True], ids=["plain-attention", "fused-attention"])
def test_swin_logits_match_official_to_1e4(fused):
    model = load_model(OFFICIAL / "icm_swin_tiny.pth")
    assert isinstance(model, ICMFormerSwinModel)
    assert model.config.window_size == 10 and model.config.num_heads == (1, 2, 2, 4)
    data = np.load(OFFICIAL / "icm_swin_tiny_forward.npz")
    model.backbone.set_fused_attention(fused)
    assert_forward_matches(model, data)


def test_swin_fixture_discriminates_cross_blocks():
    model = load_model(OFFICIAL / "icm_swin_tiny.pth")
    data = np.load(OFFICIAL / "icm_swin_tiny_forward.npz")
    for block in model.backbone.blocks2:
        block.forward = lambda clicks, image: clicks
    head = _head_output(model, data)
    assert np.abs(head.numpy() - data["logits_lowres"]).max() > 1e-2


def test_config_from_shapes_and_own_format_round_trip(tmp_path):
    model = build_model(TINY)
    config = official_config(None, model.state_dict())
    assert config == TINY
    assert config_from_dict(config_to_dict(TINY)) == TINY
    loaded = load_model(save_model(model, tmp_path / "swin.safetensors"))
    assert isinstance(loaded, ICMFormerSwinModel) and loaded.config == TINY
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
