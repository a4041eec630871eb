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
