import math

import numpy as np
import pytest
import torch

from napari_clickseg.engine.candidate_matching import (
    flip_matching_cost,
    match_flipped_candidates,
)


def _logits(*masks):
    """(K, 1, N) logits of +5 on the given 0/1 pixel lists, -5 elsewhere."""
    return torch.tensor([[[5.0 if v else -5.0 for v in m]] for m in masks])


def test_cost_matches_the_official_formulas_written_out_by_hand():
    plain = [[1, 1, 0, 0], [0, 0, 1, 0]]
    flipped = [[1, 0, 0, 0], [0, 0, 1, 1]]
    c0, c1 = [0.9, 0.3], [0.8, 0.1]
    cost = flip_matching_cost(
        _logits(*plain), _logits(*flipped), torch.tensor(c0), torch.tensor(c1)
    ).numpy()
    sig = {0: 0.5, 1: 1 / (1 + math.exp(-1))}  # sigmoid of the binary mask, as the official code
    expected = np.zeros((2, 2))
    for i, a in enumerate(plain):
        for j, b in enumerate(flipped):
            focal = 0.0
            for x, y in zip(a, b, strict=True):
                p = sig[x]
                if y:
                    focal += -math.log(p + 1e-12) * 0.25 * (1 - p) ** 2
                else:
                    focal += -math.log(1 - p + 1e-12) * 0.75 * p**2
            focal /= len(a)
            inter = sum(sig[x] * y for x, y in zip(a, b, strict=True))
            dice = 1 - (2 * inter + 1) / (sum(sig[x] for x in a) + sum(b) + 1)
            expected[i, j] = abs(c0[i] - c1[j]) + 20 * focal + dice
    np.testing.assert_allclose(cost, expected, rtol=1e-6)


def test_without_class_features_only_mask_terms_count():
    masks = _logits([1, 0, 0, 0], [0, 1, 1, 0])
    with_features = flip_matching_cost(masks, masks, torch.tensor([0.0, 1.0]), torch.zeros(2))
    without = flip_matching_cost(masks, masks)
    np.testing.assert_allclose((with_features - without).numpy(), [[0, 0], [1, 1]], atol=1e-6)


def test_swapped_candidates_are_paired_with_their_twins():
    a, b = [1, 1, 0, 0, 0, 0], [0, 0, 0, 1, 1, 1]
    perm = match_flipped_candidates(_logits(a, b), _logits(b, a))
    np.testing.assert_array_equal(perm, [1, 0])


def test_cyclic_permutation_keeps_the_official_inverse_pairing_quirk():
    a, b, c = [1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 1, 1]
    # flipped pass lists (b, c, a): the matching is plain a->2, b->0, c->1 ...
    perm = match_flipped_candidates(_logits(a, b, c), _logits(b, c, a))
    np.testing.assert_array_equal(perm, [2, 0, 1])
    # ... and the official code pairs flipped i with plain perm[i]: flipped b with plain c
    assert perm[0] == 2


def test_shape_mismatch_is_explained():
    with pytest.raises(ValueError, match="same shape"):
        flip_matching_cost(torch.zeros(2, 4, 4), torch.zeros(3, 4, 4))
