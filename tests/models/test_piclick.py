from pathlib import Path

import numpy as np
import pytest
import torch
from official_fixtures import official_key_shapes

from napari_clickseg.models.checkpoints import load_model, save_model
from napari_clickseg.models.click_maps import points_tensor
from napari_clickseg.models.piclick import PiClickConfig, PiClickModel
from napari_clickseg.models.registry import VARIANTS, build_model

FIXTURES = Path(__file__).parents[1] / "fixtures" / "official"
TINY = FIXTURES / "piclick_tiny.pth"
ATOL = 1e-4


@pytest.fixture(scope="module")
def official_tiny():
    return load_model(TINY)


@pytest.fixture(scope="module")
def forward_data():
    return dict(np.load(FIXTURES / "piclick_tiny_forward.npz"))


def test_vit_base_keys_and_shapes_equal_official():
    official = official_key_shapes("piclick_vitb_keys.txt")
    if official is None:
        pytest.skip("../shared/reference is not available")
    with torch.device("meta"):
        model = build_model(VARIANTS["piclick_vit_base"])
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == official


def test_strict_load_of_official_tiny(official_tiny):
    assert isinstance(official_tiny, PiClickModel)
    config = official_tiny.config
    assert (config.embed_dim, config.depth, config.feat_channels) == (32, 8, 32)
    assert (config.gn_groups, config.encoder_heads, config.decoder_heads) == (16, 4, 4)
    assert (config.num_queries, config.pe_feats, config.decoder_layers) == (7, 16, 9)


def _run(model, data):
    image = torch.from_numpy(data["image_u8"]).float() / 255
    prev = torch.from_numpy(data["prev_mask"])
    points = torch.from_numpy(data["points"])
    with torch.no_grad():
        return model.predictions(image, prev, points), model(image, prev, points)


def test_parity_with_official_forward(official_tiny, forward_data):
    data = forward_data
    pred, out = _run(official_tiny, data)
    for name, ours in [
        ("cls_logits", pred.cls_logits),
        ("iou_logits", pred.iou_logits),
        ("onehot_logits", pred.onehot_logits),
    ]:
        np.testing.assert_allclose(ours.numpy(), data[name], rtol=0, atol=ATOL, err_msg=name)
    layers = torch.nn.functional.interpolate(
        pred.mask_logits.flatten(0, 1), size=(448, 448), mode="bilinear", align_corners=True
    ).view(10, 2, 7, 448, 448)
    np.testing.assert_allclose(
        layers[..., ::16, ::16].numpy(), data["mask_logits_layers_sub16"], rtol=0, atol=ATOL
    )
    # the official select_last_layer sorts the candidates by sigmoid(iou), descending
    iou = 1 / (1 + np.exp(-data["iou_logits"][-1, ..., 0]))
    order = np.argsort(-iou, axis=1, kind="stable")
    np.testing.assert_allclose(np.take_along_axis(iou, order, 1), data["sel_iou"], atol=1e-6)
    logits = out.logits.numpy()
    query_order = np.argsort(order, axis=1)
    unsorted = np.take_along_axis(logits, query_order[..., None, None], 1)
    np.testing.assert_allclose(
        unsorted[:, :, ::4, ::4], data["mask_logits_final_sub4"], rtol=0, atol=ATOL
    )
    np.testing.assert_allclose(
        unsorted[:, :, 180:244, 220:284], data["mask_logits_final_crop"], rtol=0, atol=ATOL
    )
    np.testing.assert_allclose(
        logits[:, :, ::16, ::16], data["sel_mask_sub16"], rtol=0, atol=ATOL
    )
    np.testing.assert_allclose(
        out.scores.numpy(), 6 * data["sel_iou"] + data["sel_onehot"], rtol=0, atol=ATOL
    )
    np.testing.assert_allclose(out.match_features.numpy(), data["sel_cls"], rtol=0, atol=ATOL)


def test_click_tokens_match_official(official_tiny, forward_data):
    points = torch.from_numpy(forward_data["points"])
    with torch.no_grad():
        tokens, invalid = official_tiny.click_embedding(points, (448, 448))
    np.testing.assert_allclose(tokens.numpy(), forward_data["click_tokens"], rtol=0, atol=1e-5)
    assert (invalid.numpy() == forward_data["click_invalid"]).all()


def test_own_format_round_trip(official_tiny, tmp_path):
    path = save_model(official_tiny, tmp_path / "piclick")
    again = load_model(path)
    assert again.config == official_tiny.config
    for key, value in official_tiny.state_dict().items():
        assert torch.equal(value, again.state_dict()[key])


def test_forward_shape_candidates_and_scores():
    config = PiClickConfig(
        embed_dim=32, depth=4, num_heads=2, neck_out_dims=(32,) * 4, feat_channels=32,
        mask_channels=32, gn_groups=8, encoder_heads=4, encoder_ffn=32, encoder_layers=1,
        decoder_heads=4, decoder_ffn=32, decoder_layers=3, pe_feats=16,
    )  # fmt: skip
    model = build_model(config)
    image, prev = torch.rand(1, 3, 448, 448), torch.zeros(1, 1, 448, 448)
    with torch.no_grad():
        out = model(image, prev, points_tensor([[(100, 100, True), (300, 20, False)]]))
    assert out.logits.shape == (1, 7, 448, 448) and out.num_candidates == 7
    assert out.scores.shape == (1, 7)
    assert ((out.scores >= 0) & (out.scores <= 7)).all()


def test_piclick_in_the_predictor_offers_its_candidates_and_pick():
    from napari_clickseg.engine.predictor import Predictor

    model = load_model(TINY)
    predictor = Predictor(model, "cpu")  # with flip and candidate matching, as official
    image = (np.random.default_rng(0).random((120, 160, 3)) * 255).astype(np.uint8)
    predictor.set_image(image)
    prediction = predictor.predict([(60, 80, True)])
    assert prediction.candidates.shape == (7, 120, 160) and prediction.scores.shape == (7,)
    assert prediction.selected == int(np.argmax(prediction.scores))
    other = (prediction.selected + 1) % 7
    switched = predictor.select_candidate(prediction, other)
    np.testing.assert_array_equal(predictor.get_state().prev_probs, switched.probs)
