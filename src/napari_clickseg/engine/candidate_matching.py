"""Pairing the candidate masks of the plain and the flipped pass (PiClick's flip step).

A multi-candidate model answers the plain crop and its mirror image with K candidates each,
in its own ranking order per pass, so candidate i of one pass need not be candidate i of
the other. The official PiClick predictor (``flipped_mask_match`` in
``isegm/inference/predictors/base.py`` with ``MaskHungarianAssigner.assign_match``) pairs
them by Hungarian matching on a cost of three terms, all in float32:

- class distance, weight 1: ``|c0_i - c1_j|`` of the per-candidate class probabilities;
- focal cost, weight 20 (alpha 0.25, gamma 2, eps 1e-12) on the *binarised* masks
  ``b = sigmoid(logits) > 0.49``, with ``p = sigmoid(b0)`` (so 0.5 or 0.731, as the
  official ``binary_input=True`` path applies the sigmoid to the binary mask again);
- naive dice cost, weight 1, eps 1, on the same ``p`` against ``b1``.

Official quirk, kept: ``assign_match`` returns ``perm[row] = col`` and the plain pass is
re-indexed with it, ``new0[i] = orig0[perm[i]]``, then paired with flipped candidate i. That
pairs each flipped candidate with its match only when ``perm`` is its own inverse.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

#: Binarisation threshold of the masks compared in the matching cost.
MATCH_THRESHOLD = 0.49
CLASS_WEIGHT = 1.0
FOCAL_WEIGHT = 20.0
DICE_WEIGHT = 1.0
FOCAL_ALPHA = 0.25
FOCAL_GAMMA = 2.0
FOCAL_EPS = 1e-12
DICE_EPS = 1.0


def flip_matching_cost(
    logits_plain: torch.Tensor,
    logits_flipped: torch.Tensor,
    features_plain: torch.Tensor | None = None,
    features_flipped: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cost of pairing each plain candidate with each (unflipped) flipped candidate.

    Parameters
    ----------
    logits_plain, logits_flipped : torch.Tensor
        (K, H, W) mask logits of the two passes; the flipped pass already mirrored back.
    features_plain, features_flipped : torch.Tensor, optional
        (K,) class probabilities; the class term is left out when they are None.

    Returns
    -------
    torch.Tensor
        (K, K) float32 cost, rows the plain candidates, columns the flipped ones.
    """
    if logits_plain.shape != logits_flipped.shape or logits_plain.dim() != 3:
        raise ValueError(
            "expected two (K, H, W) logit stacks of the same shape, got "
            f"{tuple(logits_plain.shape)} and {tuple(logits_flipped.shape)}"
        )
    plain = (torch.sigmoid(logits_plain.float()) > MATCH_THRESHOLD).float().flatten(1)
    flipped = (torch.sigmoid(logits_flipped.float()) > MATCH_THRESHOLD).float().flatten(1)
    pixels = plain.shape[1]
    p = torch.sigmoid(plain)
    pos = -torch.log(p + FOCAL_EPS) * FOCAL_ALPHA * (1 - p).pow(FOCAL_GAMMA)
    neg = -torch.log(1 - p + FOCAL_EPS) * (1 - FOCAL_ALPHA) * p.pow(FOCAL_GAMMA)
    focal = (pos @ flipped.T + neg @ (1 - flipped).T) / pixels
    numerator = 2 * (p @ flipped.T)
    denominator = p.sum(-1)[:, None] + flipped.sum(-1)[None, :]
    dice = 1 - (numerator + DICE_EPS) / (denominator + DICE_EPS)
    # summed in the official order: class + focal, then + dice
    cost = focal * FOCAL_WEIGHT
    if features_plain is not None and features_flipped is not None:
        distance = (features_plain.float()[:, None] - features_flipped.float()[None, :]).abs()
        cost = CLASS_WEIGHT * distance + cost
    return cost + DICE_WEIGHT * dice


def match_flipped_candidates(
    logits_plain: torch.Tensor,
    logits_flipped: torch.Tensor,
    features_plain: torch.Tensor | None = None,
    features_flipped: torch.Tensor | None = None,
) -> np.ndarray:
    """Which plain candidate to pair with each flipped candidate, as the official code does.

    Parameters
    ----------
    logits_plain, logits_flipped : torch.Tensor
        (K, H, W) mask logits of the two passes; the flipped pass already mirrored back.
    features_plain, features_flipped : torch.Tensor, optional
        (K,) class probabilities of the two passes.

    Returns
    -------
    numpy.ndarray
        (K,) int64 ``perm``: flipped candidate i is averaged with plain candidate
        ``perm[i]``, where ``perm[row] = col`` is the Hungarian assignment of the cost
        (see the module docstring for why this is not simply the matching).
    """
    cost = flip_matching_cost(logits_plain, logits_flipped, features_plain, features_flipped)
    rows, cols = linear_sum_assignment(cost.detach().cpu().numpy())
    perm = np.zeros(cost.shape[0], dtype=np.int64)
    perm[rows] = cols
    return perm
