import dataclasses

import pytest
import torch
from official_fixtures import official_key_shapes

from napari_clickseg.models.checkpoints import load_model, official_config, save_model
from napari_clickseg.models.click_maps import points_tensor
from napari_clickseg.models.icmformer import ICMFormerConfig, ICMFormerModel
from napari_clickseg.models.registry import VARIANTS, build_model


@pytest.fixture
def tiny_icm(tiny_config):
    fields = dataclasses.asdict(tiny_config)
    return build_model(ICMFormerConfig(**fields))


def test_vit_base_keys_and_shapes_equal_official():
    official = official_key_shapes("icmformer_vitb_keys.txt")
    if official is None:
        pytest.skip("../shared/reference is not available")
    with torch.device("meta"):
        model = build_model(VARIANTS["icmformer_vit_base"])
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == official


@pytest.mark.parametrize(("name", "blocks"), [("vit_base", 3), ("vit_large", 5), ("vit_huge", 6)])
def test_official_number_of_cross_blocks(name, blocks):
    assert VARIANTS[f"icmformer_{name}"].cross_blocks == blocks


def test_forward_shape_and_click_dependence(tiny_icm):
    assert isinstance(tiny_icm, ICMFormerModel)
    image, prev = torch.rand(1, 3, 448, 448), torch.zeros(1, 1, 448, 448)
    with torch.no_grad():
        a = tiny_icm(image, prev, points_tensor([[(100, 100, True)]])).logits
        b = tiny_icm(image, prev, points_tensor([[(300, 300, True)]])).logits
    assert a.shape == (1, 1, 448, 448) and not torch.allclose(a, b)


def test_cross_blocks_change_the_output(tiny_icm):
    image, prev = torch.rand(1, 3, 448, 448), torch.rand(1, 1, 448, 448)
    points = points_tensor([[(100, 100, True)]])
    with torch.no_grad():
        before = tiny_icm(image, prev, points).logits
        tiny_icm.backbone.blocks2[0].mlp.fc2.bias.add_(1.0)
        after = tiny_icm(image, prev, points).logits
    assert not torch.allclose(before, after)


def test_fused_and_plain_attention_agree(tiny_icm):
    image, prev = torch.rand(1, 3, 448, 448), torch.rand(1, 1, 448, 448)
    points = points_tensor([[(100, 100, True), (300, 20, False)]])
    with torch.no_grad():
        tiny_icm.backbone.set_fused_attention(False)
        plain = tiny_icm(image, prev, points).logits
        tiny_icm.backbone.set_fused_attention(True)
        fused = tiny_icm(image, prev, points).logits
    assert torch.allclose(plain, fused, atol=1e-5)


def test_config_read_off_the_shapes_and_own_format_round_trip(tmp_path, tiny_icm):
    config = official_config(None, tiny_icm.state_dict())
    assert isinstance(config, ICMFormerConfig) and config.cross_blocks == 2
    loaded = load_model(save_model(tiny_icm, tmp_path / "icm.safetensors"))
    assert isinstance(loaded, ICMFormerModel) and loaded.config == tiny_icm.config
