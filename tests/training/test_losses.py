import math

import numpy as np
import pytest
import torch

from napari_clickseg.training.losses import iterative_click_loss, normalized_focal_loss


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def _nfl_by_hand(logits, target, alpha=0.5, gamma=2.0, eps=1e-12):
    """The official formula written out pixel by pixel in plain Python (float64)."""
    pixels = list(zip(np.ravel(logits), np.ravel(target), strict=True))
    betas, terms = [], []
    for logit, label in pixels:
        if label == -1:
            betas.append(0.0)
            continue
        p = _sigmoid(logit)
        pt = 1 - abs(label - p)
        beta = (1 - pt) ** gamma
        betas.append(beta)
        weight = alpha if label > 0.5 else 1 - alpha
        terms.append((weight, beta, pt))
    num_valid = len(terms)
    normaliser = num_valid / (sum(betas) + eps)
    total = sum(-w * b * normaliser * math.log(min(pt + eps, 1.0)) for w, b, pt in terms)
    return total / (num_valid + eps)


def test_nfl_matches_hand_computation_per_sample():
    logits = np.array([[[[2.0, -1.0], [0.5, -3.0]]], [[[-0.2, 1.5], [3.0, 0.0]]]], dtype=np.float64)
    target = np.array([[[[1, 0], [0, 1]]], [[[1, 1], [0, 0]]]], dtype=np.float64)
    loss = normalized_focal_loss(torch.tensor(logits), torch.tensor(target))
    assert loss.shape == (2,)
    expected = [_nfl_by_hand(logits[i], target[i]) for i in range(2)]
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-12)


def test_nfl_ignored_pixels_leave_the_loss_unchanged():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(1, 1, 4, 4))
    target = (rng.random((1, 1, 4, 4)) > 0.5).astype(np.float64)
    ignored = target.copy()
    ignored[0, 0, 0, :] = -1
    # The same loss as computing only on the valid pixels.
    expected = _nfl_by_hand(logits[0, 0, 1:], target[0, 0, 1:])
    loss = normalized_focal_loss(torch.tensor(logits), torch.tensor(ignored))
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    # And the ignored logits get no gradient.
    logits_t = torch.tensor(logits, requires_grad=True)
    normalized_focal_loss(logits_t, torch.tensor(ignored)).sum().backward()
    assert torch.all(logits_t.grad[0, 0, 0] == 0)
    assert torch.any(logits_t.grad[0, 0, 1:] != 0)


def test_nfl_normaliser_is_detached():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(1, 1, 3, 3))
    target = (rng.random((1, 1, 3, 3)) > 0.5).astype(np.float64)
    p = 1 / (1 + np.exp(-logits))
    pt = 1 - np.abs(target - p)
    beta = (1 - pt) ** 2
    normaliser = beta.size / beta.sum()
    weight = np.where(target > 0.5, 0.5, 0.5)

    # With the normaliser a constant, the loss is sum(-w * m * beta * log(pt)) / N and its
    # gradient w.r.t. the logit follows from d(pt)/dx = p (1 - p) * (+1 for y=1, -1 for y=0).
    sign = np.where(target > 0.5, 1.0, -1.0)
    dpt = p * (1 - p) * sign
    dbeta = -2 * (1 - pt) * dpt
    dterm = -weight * normaliser * (dbeta * np.log(pt) + beta * dpt / pt)
    expected = dterm / beta.size

    for detach, should_match in ((True, True), (False, False)):
        x = torch.tensor(logits, requires_grad=True)
        normalized_focal_loss(x, torch.tensor(target), detach_normaliser=detach).sum().backward()
        matches = np.allclose(x.grad.numpy(), expected, rtol=1e-9, atol=1e-12)
        assert matches is should_match


def test_nfl_size_average_off_is_the_plain_sum():
    logits = torch.tensor([[[[1.0, -2.0, 0.3]]]], dtype=torch.float64)
    target = torch.tensor([[[[1.0, 1.0, 0.0]]]], dtype=torch.float64)
    averaged = normalized_focal_loss(logits, target)
    summed = normalized_focal_loss(logits, target, size_average=False)
    assert summed.item() == pytest.approx(3 * averaged.item(), rel=1e-9)


def test_nfl_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="differs from target shape"):
        normalized_focal_loss(torch.zeros(1, 1, 4, 4), torch.zeros(1, 4, 4))


def test_icl_is_the_weighted_sum_of_batch_mean_nfl_per_step():
    rng = np.random.default_rng(2)
    target = torch.tensor((rng.random((2, 1, 4, 4)) > 0.5).astype(np.float64))
    steps = [torch.tensor(rng.normal(size=(2, 1, 4, 4))) for _ in range(3)]
    by_hand = [
        np.mean([_nfl_by_hand(s[i].numpy(), target[i].numpy()) for i in range(2)]) for s in steps
    ]
    loss = iterative_click_loss(steps, target)
    assert loss.item() == pytest.approx(1 * by_hand[0] + 2 * by_hand[1] + 3 * by_hand[2])
    # One step (CFR-ICL draws 1-3): weight 1 only, no renormalisation.
    assert iterative_click_loss(steps[:1], target).item() == pytest.approx(by_hand[0])


def test_icl_needs_a_weight_for_every_step():
    target = torch.zeros(1, 1, 2, 2)
    with pytest.raises(ValueError, match="step weights"):
        iterative_click_loss([target] * 4, target)
    with pytest.raises(ValueError, match="at least one"):
        iterative_click_loss([], target)


# -- PiClick set loss -----------------------------------------------------------------------


def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _np_log_softmax(x):
    shifted = x - x.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def _set_loss_by_hand(cls, masks, iou_logits, onehot_logits, gts, target):
    """One image, one step, written out with NumPy; matching by brute force."""
    import itertools

    k, n = masks.shape[0], gts.shape[0]
    prob = _np_sigmoid(masks.reshape(k, -1))
    gt = gts.reshape(n, -1).astype(float)
    pixels = prob.shape[1]
    cost = np.zeros((k, n))
    for q in range(k):
        for t in range(n):
            p, g = prob[q], gt[t]
            pos = -np.log(p + 1e-12) * 0.25 * (1 - p) ** 2
            neg = -np.log(1 - p + 1e-12) * 0.75 * p**2
            focal = (pos * g + neg * (1 - g)).sum() / pixels
            dice = 1 - (2 * (p * g).sum() + 1) / (p.sum() + g.sum() + 1)
            softmax = np.exp(cls[q]) / np.exp(cls[q]).sum()
            cost[q, t] = -softmax[0] + 20 * focal + dice
    best = min(
        itertools.permutations(range(k), n),
        key=lambda qs: sum(cost[q, t] for t, q in enumerate(qs)),
    )
    matched = {q: t for t, q in enumerate(best)}

    labels = np.array([0 if q in matched else 1 for q in range(k)])
    class_weight = np.array([1.0, 0.1])
    log_p = _np_log_softmax(cls)
    loss_cls = sum(-class_weight[y] * log_p[q, y] for q, y in enumerate(labels))
    loss_cls /= class_weight[labels].sum()

    focal_sum = dice_sum = 0.0
    for q, t in matched.items():
        p, g = prob[q], gt[t]
        pt = (1 - p) * g + p * (1 - g)
        bce = -(g * np.log(p) + (1 - g) * np.log(1 - p))
        focal_sum += (bce * (0.25 * g + 0.75 * (1 - g)) * pt**2).sum()
        dice_sum += 1 - (2 * (p * g).sum() + 1e-3) / (p.sum() + g.sum() + 1e-3)
    loss_mask = focal_sum / (n * pixels)
    loss_dice = dice_sum / n

    binary = (prob > 0.5).astype(float)
    flat_target = target.reshape(-1)
    inter = (binary * flat_target).sum(1)
    iou = inter / (binary.sum(1) + flat_target.sum() - inter + 1e-6)
    loss_iou = np.abs(_np_sigmoid(iou_logits) - iou).mean()
    soft = np.where(iou == iou.max(), 0.9, 0.1)
    loss_onehot = -(soft * _np_log_softmax(onehot_logits)).sum()
    terms = {
        "loss_cls": loss_cls,
        "loss_mask": 20 * loss_mask,
        "loss_dice": loss_dice,
        "loss_iou": 0.3 * loss_iou,
        "loss_onehot": 0.05 * loss_onehot,
    }
    return terms, best


class _Preds:
    def __init__(self, cls, masks, iou, onehot):
        self.cls_logits, self.mask_logits = cls, masks
        self.iou_logits, self.onehot_logits = iou, onehot


def _random_set_case(seed, queries=3, size=4):
    rng = np.random.default_rng(seed)
    gts = np.zeros((2, size, size), dtype=bool)
    gts[0, :2, :2] = True
    gts[1, 1:, 2:] = True
    target = gts[1:2].astype(np.float64)
    cls = rng.normal(size=(queries, 2))
    masks = rng.normal(size=(queries, size, size)) * 2
    iou_logits = rng.normal(size=queries)
    onehot = rng.normal(size=queries)
    return cls, masks, iou_logits, onehot, gts, target


def test_piclick_set_loss_matches_hand_computation():
    from napari_clickseg.training.losses import PiClickSetLoss

    for seed in range(3):
        cls, masks, iou_logits, onehot, gts, target = _random_set_case(seed)
        expected, best = _set_loss_by_hand(cls, masks, iou_logits, onehot, gts, target)
        preds = _Preds(
            torch.tensor(cls)[None, None],
            torch.tensor(masks)[None, None],
            torch.tensor(iou_logits)[None, None, :, None],
            torch.tensor(onehot)[None, None, :, None],
        )
        loss_fn = PiClickSetLoss()
        total, terms = loss_fn(preds, [torch.tensor(gts)], torch.tensor(target)[None])
        for name, value in expected.items():
            assert terms[name].item() == pytest.approx(value, rel=1e-6), name
        assert total.item() == pytest.approx(sum(expected.values()), rel=1e-6)
        queries, targets = loss_fn.match(
            torch.tensor(cls)[None], torch.tensor(masks)[None], [torch.tensor(gts)]
        )[0]
        assert dict(zip(targets.tolist(), queries.tolist(), strict=True)) == dict(enumerate(best))


def test_piclick_set_loss_sums_every_decoder_step_and_upsamples_low_resolution_masks():
    import torch.nn.functional as F

    from napari_clickseg.training.losses import PiClickSetLoss

    cls, _, iou_logits, onehot, gts, target = _random_set_case(5, size=8)
    rng = np.random.default_rng(6)
    low = torch.tensor(rng.normal(size=(2, 1, 3, 4, 4)))  # 2 steps, masks at half size
    full = torch.stack(
        [F.interpolate(s, size=(8, 8), mode="bilinear", align_corners=True) for s in low]
    )
    steps = lambda x: torch.tensor(x)[None, None].repeat(2, 1, *([1] * x.ndim))  # noqa: E731
    iou_t = steps(iou_logits)[..., None]
    onehot_t = steps(onehot)[..., None]
    loss_fn = PiClickSetLoss()
    gt_list, tgt = [torch.tensor(gts)], torch.tensor(target)[None]
    total_low, _ = loss_fn(_Preds(steps(cls), low, iou_t, onehot_t), gt_list, tgt)
    total_full, terms = loss_fn(_Preds(steps(cls), full, iou_t, onehot_t), gt_list, tgt)
    assert total_low.item() == pytest.approx(total_full.item(), rel=1e-9)
    assert set(terms) == {
        f"{p}loss_{n}" for p in ("", "d0.") for n in ("cls", "mask", "dice", "iou", "onehot")
    }
    assert total_full.item() == pytest.approx(sum(v.item() for v in terms.values()))


def test_piclick_set_loss_gradients_reach_every_head():
    from napari_clickseg.training.losses import PiClickSetLoss

    cls, masks, iou_logits, onehot, gts, target = _random_set_case(7)
    tensors = [
        torch.tensor(cls)[None, None].requires_grad_(),
        torch.tensor(masks)[None, None].requires_grad_(),
        torch.tensor(iou_logits)[None, None, :, None].requires_grad_(),
        torch.tensor(onehot)[None, None, :, None].requires_grad_(),
    ]
    total, _ = PiClickSetLoss()(_Preds(*tensors), [torch.tensor(gts)], torch.tensor(target)[None])
    total.backward()
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in tensors)


def test_piclick_set_loss_rejects_bad_targets():
    from napari_clickseg.training.losses import PiClickSetLoss

    cls, masks, iou_logits, onehot, _, target = _random_set_case(8)
    preds = _Preds(
        torch.tensor(cls)[None, None],
        torch.tensor(masks)[None, None],
        torch.tensor(iou_logits)[None, None, :, None],
        torch.tensor(onehot)[None, None, :, None],
    )
    with pytest.raises(ValueError, match="target sets for a batch"):
        PiClickSetLoss()(preds, [], torch.tensor(target)[None])
    with pytest.raises(ValueError, match="class_weight"):
        PiClickSetLoss(class_weight=(1.0,))


def test_piclick_set_loss_trains_the_real_head_outputs():
    from napari_clickseg.models.click_maps import points_tensor
    from napari_clickseg.models.piclick import PiClickConfig
    from napari_clickseg.models.registry import build_model
    from napari_clickseg.training.losses import PiClickSetLoss

    config = PiClickConfig(
        img_size=224, embed_dim=16, depth=4, num_heads=2, neck_out_dims=(16,) * 4,
        feat_channels=16, mask_channels=16, gn_groups=4, encoder_heads=2, encoder_ffn=16,
        encoder_layers=1, decoder_heads=2, decoder_ffn=16, decoder_layers=1, pe_feats=8,
    )  # fmt: skip
    model = build_model(config)
    image, prev = torch.rand(1, 3, 224, 224), torch.zeros(1, 1, 224, 224)
    preds = model.predictions(image, prev, points_tensor([[(100, 100, True)]]))
    # Targets at the masks' 1/4 resolution keep the test fast (no upsampling needed).
    target = torch.zeros(1, 1, 56, 56)
    target[..., 20:35, 15:40] = 1
    gts = [torch.cat([target[0], torch.ones(1, 56, 56)])]  # target + a larger object
    total, terms = PiClickSetLoss()(preds, gts, target)
    total.backward()
    steps = preds.cls_logits.shape[0]
    assert len(terms) == 5 * steps and torch.isfinite(total)
    assert model.head.cls_embed.weight.grad.abs().sum() > 0
    assert model.head.iou_embed[-1].weight.grad.abs().sum() > 0


def test_nfl_of_half_precision_logits_is_computed_in_float32():
    rng = np.random.default_rng(3)
    logits = torch.tensor(rng.normal(size=(2, 1, 64, 64)), dtype=torch.float32)
    target = torch.tensor((rng.random((2, 1, 64, 64)) > 0.7).astype(np.float32))
    full = normalized_focal_loss(logits, target)
    half = normalized_focal_loss(logits.to(torch.bfloat16), target)
    assert half.dtype == torch.float32
    # Only the rounding of the logits themselves differs.
    np.testing.assert_allclose(half.numpy(), full.numpy(), rtol=2e-2)


def test_random_matched_query_picks_only_matched_queries():
    from napari_clickseg.training.losses import PiClickSetLoss

    gt = torch.zeros(1, 8, 8)
    gt[0, :4] = 1
    masks = torch.full((1, 4, 8, 8), -6.0)
    masks[0, 2, :4] = 6.0  # query 2 predicts the target, the others nothing
    cls = torch.zeros(1, 4, 2)
    loss_fn = PiClickSetLoss()
    rng = np.random.default_rng(0)
    picks = {int(loss_fn.random_matched_query(cls, masks, [gt], rng)[0]) for _ in range(10)}
    assert picks == {2}
    two = torch.cat([gt, 1 - gt])  # two targets: queries 2 and one other get matched
    masks[0, 0, 4:] = 6.0
    picks = {int(loss_fn.random_matched_query(cls, masks, [two], rng)[0]) for _ in range(40)}
    assert picks == {0, 2}
