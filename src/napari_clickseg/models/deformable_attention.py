"""Multi-scale deformable attention (Deformable DETR) in pure PyTorch.

This is the ``grid_sample`` formulation that mmcv's ``MultiScaleDeformableAttention`` runs on
the CPU (and that its CUDA kernel computes too): values are sampled bilinearly, with zero
padding and ``align_corners=False``, at ``reference + offset / (W, H)`` for every head, level
and point, and summed with weights that are softmax-normalised over levels x points. Parameter
names follow mmcv so that official state_dicts load as they are.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def sample_levels(
    value: torch.Tensor,
    shapes: list[tuple[int, int]],
    locations: torch.Tensor,
    weights: torch.Tensor,
) -> torch.Tensor:
    """Weighted bilinear samples of multi-level values.

    Parameters
    ----------
    value : torch.Tensor
        (B, S, heads, C_head): the values of all levels, flattened row-major and concatenated.
    shapes : list of (int, int)
        (H, W) of every level.
    locations : torch.Tensor
        (B, Q, heads, levels, points, 2) sampling positions as (x, y) in [0, 1].
    weights : torch.Tensor
        (B, Q, heads, levels, points) attention weights.

    Returns
    -------
    torch.Tensor
        (B, Q, heads * C_head).
    """
    batch, _, heads, head_dim = value.shape
    _, queries, _, levels, points, _ = locations.shape
    per_level = value.split([h * w for h, w in shapes], dim=1)
    grids = 2 * locations - 1
    sampled = []
    for level, (h, w) in enumerate(shapes):
        level_value = per_level[level].flatten(2).transpose(1, 2)
        level_value = level_value.reshape(batch * heads, head_dim, h, w)
        grid = grids[:, :, :, level].transpose(1, 2).flatten(0, 1)
        sampled.append(
            F.grid_sample(
                level_value, grid, mode="bilinear", padding_mode="zeros", align_corners=False
            )
        )
    weights = weights.transpose(1, 2).reshape(batch * heads, 1, queries, levels * points)
    out = (torch.stack(sampled, dim=-2).flatten(-2) * weights).sum(-1)
    return out.view(batch, heads * head_dim, queries).transpose(1, 2).contiguous()


class MultiScaleDeformableAttention(nn.Module):
    """Deformable self-attention over several feature levels (batch-first tokens).

    Parameters
    ----------
    dim : int
        Token width.
    num_heads, num_levels, num_points : int
        Heads, feature levels and sampling points per head and level.
    """

    def __init__(self, dim: int, num_heads: int, num_levels: int, num_points: int) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads, self.num_levels, self.num_points = num_heads, num_levels, num_points
        self.sampling_offsets = nn.Linear(dim, num_heads * num_levels * num_points * 2)
        self.attention_weights = nn.Linear(dim, num_heads * num_levels * num_points)
        self.value_proj = nn.Linear(dim, dim)
        self.output_proj = nn.Linear(dim, dim)

    def forward(
        self,
        x: torch.Tensor,
        pos: torch.Tensor,
        reference: torch.Tensor,
        shapes: list[tuple[int, int]],
    ) -> torch.Tensor:
        """Attend from every token to sampled positions of all levels; adds the residual.

        Parameters
        ----------
        x : torch.Tensor
            (B, S, C) tokens of all levels (also the values).
        pos : torch.Tensor
            (B or 1, S, C) positional term added to the queries only.
        reference : torch.Tensor
            (S, 2) reference points (x, y) in [0, 1], the same for every level.
        shapes : list of (int, int)
            (H, W) of every level.
        """
        batch, tokens, _ = x.shape
        heads, levels, points = self.num_heads, self.num_levels, self.num_points
        query = x + pos
        value = self.value_proj(x).view(batch, tokens, heads, -1)
        offsets = self.sampling_offsets(query).view(batch, tokens, heads, levels, points, 2)
        weights = self.attention_weights(query).view(batch, tokens, heads, levels * points)
        weights = weights.softmax(-1).view(batch, tokens, heads, levels, points)
        normalizer = torch.tensor([[w, h] for h, w in shapes], dtype=x.dtype, device=x.device)
        locations = (
            reference[None, :, None, None, None, :]
            + offsets / normalizer[None, None, None, :, None, :]
        )
        out = sample_levels(value, shapes, locations, weights)
        return self.output_proj(out) + x
