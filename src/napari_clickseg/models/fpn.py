"""SimpleClick's simple feature pyramid (official ``SimpleFPN``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class SimpleFPN(nn.Module):
    """Four maps at 4x, 2x, 1x and 0.5x the token grid from one plain-ViT map.

    Every normalisation is ``GroupNorm(1, C)``. Sequential indices match the official
    state_dict keys (``down_4.0``, ``down_4.1``, ...).

    Parameters
    ----------
    in_dim : int
        Backbone token width.
    out_dims : sequence of int
        Channels of the four output maps, finest first.
    """

    def __init__(self, in_dim: int, out_dims: Sequence[int]) -> None:
        super().__init__()
        c4 = max(out_dims[0] * 2, in_dim // 2)
        self.down_4 = nn.Sequential(
            nn.ConvTranspose2d(in_dim, c4, 2, stride=2),
            nn.GroupNorm(1, c4),
            nn.GELU(),
            nn.ConvTranspose2d(c4, c4 // 2, 2, stride=2),
            nn.GroupNorm(1, c4 // 2),
            nn.Conv2d(c4 // 2, out_dims[0], 1),
            nn.GroupNorm(1, out_dims[0]),
            nn.GELU(),
        )
        c8 = max(out_dims[1], in_dim // 2)
        self.down_8 = nn.Sequential(
            nn.ConvTranspose2d(in_dim, c8, 2, stride=2),
            nn.GroupNorm(1, c8),
            nn.Conv2d(c8, out_dims[1], 1),
            nn.GroupNorm(1, out_dims[1]),
            nn.GELU(),
        )
        self.down_16 = nn.Sequential(
            nn.Conv2d(in_dim, out_dims[2], 1),
            nn.GroupNorm(1, out_dims[2]),
            nn.GELU(),
        )
        c32 = max(out_dims[3], in_dim * 2)
        self.down_32 = nn.Sequential(
            nn.Conv2d(in_dim, c32, 2, stride=2),
            nn.GroupNorm(1, c32),
            nn.Conv2d(c32, out_dims[3], 1),
            nn.GroupNorm(1, out_dims[3]),
            nn.GELU(),
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Map (B, D, h, w) to the four pyramid levels, finest first."""
        return [self.down_4(x), self.down_8(x), self.down_16(x), self.down_32(x)]
