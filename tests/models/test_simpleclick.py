import pytest
import torch
from official_fixtures import official_key_shapes

from napari_clickseg.models.click_maps import points_tensor
from napari_clickseg.models.registry import (
    VARIANTS,
    build_model,
    config_from_dict,
    config_to_dict,
    variant_config,
)

KEY_FILES = {
    "xtiny": "simpleclick_xtiny_keys.txt",
    "vit_base": "simpleclick_vitb_keys.txt",
    "vit_large": "simpleclick_vitl_keys.txt",
    "vit_huge": "simpleclick_vith_keys.txt",
}
# Parameter counts of the official models (reference key dumps), so the test also runs
# where ../shared is absent.
OFFICIAL_PARAMETERS = {
    "xtiny": 4_053_577,
    "vit_base": 98_030_000,
    "vit_large": 324_200_000,
    "vit_huge": 662_184_793,
}


def _meta_model(name):
    with torch.device("meta"):
        return build_model(VARIANTS[name])


@pytest.mark.parametrize("name", list(OFFICIAL_PARAMETERS))
def test_variant_has_official_parameter_count(name):
    count = sum(p.numel() for p in _meta_model(name).state_dict().values())
    assert count == pytest.approx(OFFICIAL_PARAMETERS[name], rel=1e-3)


@pytest.mark.parametrize("name", list(KEY_FILES))
def test_variant_state_dict_equals_official_keys_and_shapes(name):
    official = official_key_shapes(KEY_FILES[name])
    if official is None:
        pytest.skip("../shared/reference is not available")
    ours = {k: tuple(v.shape) for k, v in _meta_model(name).state_dict().items()}
    assert ours == official


def test_forward_returns_one_candidate_logits_at_input_size(tiny_model):
    image = torch.rand(2, 3, 448, 448)
    prev = torch.zeros(2, 1, 448, 448)
    points = points_tensor([[(100, 120, True)], [(50, 60, True), (300, 200, False)]])
    with torch.no_grad():
        out = tiny_model(image, prev, points)
    assert out.logits.shape == (2, 1, 448, 448)
    assert out.scores is None
    assert out.num_candidates == 1
    assert torch.isfinite(out.logits).all()


def test_forward_depends_on_clicks_and_prev_mask(tiny_model):
    image = torch.rand(1, 3, 448, 448)
    prev = torch.zeros(1, 1, 448, 448)
    with torch.no_grad():
        a = tiny_model(image, prev, points_tensor([[(100, 100, True)]])).logits
        b = tiny_model(image, prev, points_tensor([[(300, 300, True)]])).logits
        c = tiny_model(image, torch.ones_like(prev), points_tensor([[(100, 100, True)]])).logits
    assert not torch.allclose(a, b)
    assert not torch.allclose(a, c)


def test_encode_decode_split_equals_forward(tiny_model):
    image = torch.rand(1, 3, 448, 448)
    prev = torch.rand(1, 1, 448, 448)
    points = points_tensor([[(10, 400, True), (200, 200, False)]])
    with torch.no_grad():
        full = tiny_model(image, prev, points).logits
        tokens = tiny_model.encode_image(image)
        split = tiny_model.decode(tokens, prev, points).logits
    assert torch.equal(full, split)


def test_forward_at_672_interpolates_positions(tiny_model):
    with torch.no_grad():
        out = tiny_model(
            torch.rand(1, 3, 672, 672), torch.zeros(1, 1, 672, 672), points_tensor([[(5, 5, 1)]])
        )
    assert out.logits.shape == (1, 1, 672, 672)


def test_fused_and_plain_attention_agree(tiny_model):
    image, prev = torch.rand(1, 3, 448, 448), torch.rand(1, 1, 448, 448)
    points = points_tensor([[(100, 100, True)]])
    with torch.no_grad():
        tiny_model.backbone.set_fused_attention(False)
        plain = tiny_model(image, prev, points).logits
        tiny_model.backbone.set_fused_attention(True)
        fused = tiny_model(image, prev, points).logits
    assert torch.allclose(plain, fused, atol=1e-5)


@pytest.mark.parametrize("upsample", ["x2", "x4"])
def test_head_upsampling_options_run(tiny_config, upsample):
    import dataclasses

    model = build_model(dataclasses.replace(tiny_config, upsample=upsample))
    with torch.no_grad():
        out = model(torch.rand(1, 3, 448, 448), torch.zeros(1, 1, 448, 448), points_tensor([[]]))
    assert out.logits.shape == (1, 1, 448, 448)


def test_config_dict_round_trip():
    config = variant_config("vit_huge", img_size=672)
    assert config_from_dict(config_to_dict(config)) == config


def test_config_from_dict_rejects_unknown_fields_and_architectures():
    data = config_to_dict(variant_config("xtiny"))
    with pytest.raises(ValueError, match="unknown fields: bogus"):
        config_from_dict({**data, "bogus": 1})
    with pytest.raises(ValueError, match="architecture 'nope'"):
        config_from_dict({**data, "architecture": "nope"})


def test_unknown_variant_lists_known_ones():
    with pytest.raises(KeyError, match="xtiny, vit_base"):
        variant_config("vit_giant")
