"""SegFormer-style all-MLP head as SimpleClick ships it (``SwinTransfomerSegHead``).

Per level a 1x1 convolution + ReLU, each resized to the finest level (bilinear,
align_corners=False), concatenated, fused by a 1x1 convolution + ReLU, then a 1x1
convolution to the output channels. ``up_conv1`` / ``up_conv2`` exist in every released
checkpoint but only run when the config asks for 'x2' / 'x4' upsampling.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class ConvReLU(nn.Module):
    """1x1 convolution followed by ReLU; the submodule is named ``conv`` like mmcv's."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply conv then ReLU."""
        return F.relu(self.conv(x))


def _upsample_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2),
        nn.GroupNorm(1, out_channels),
        nn.Conv2d(out_channels, out_channels, 1),
        nn.GroupNorm(1, out_channels),
        nn.GELU(),
    )


class AllMLPHead(nn.Module):
    """Fuse four pyramid levels into mask logits.

    Parameters
    ----------
    in_channels : sequence of int
        Channels of the four input levels, finest first.
    channels : int
        Width of the head (``channels`` in the official config).
    num_classes : int
        Output channels (1 mask logit for SimpleClick).
    upsample : {'x1', 'x2', 'x4'}
        Extra learned upsampling of the fused map before the classifier.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        channels: int,
        num_classes: int = 1,
        upsample: str = "x1",
    ) -> None:
        super().__init__()
        factors = {"x1": 1, "x2": 2, "x4": 4}
        if upsample not in factors:
            raise ValueError(f"upsample must be one of {sorted(factors)}, got {upsample!r}")
        self.upsample = upsample
        width = channels * factors[upsample]
        self.convs = nn.ModuleList([ConvReLU(c, width) for c in in_channels])
        self.fusion_conv = ConvReLU(width * len(in_channels), width)
        self.up_conv1 = _upsample_block(width, width // 2)
        self.up_conv2 = _upsample_block(width // 2, width // 4)
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits (B, num_classes, h, w) at the finest input level (x2/x4 if asked)."""
        size = features[0].shape[2:]
        levels = [
            F.interpolate(conv(x), size=size, mode="bilinear", align_corners=False)
            for conv, x in zip(self.convs, features, strict=True)
        ]
        out = self.fusion_conv(torch.cat(levels, dim=1))
        if self.upsample == "x2":
            out = self.up_conv1(out)
        elif self.upsample == "x4":
            out = self.up_conv2(self.up_conv1(out))
        return self.conv_seg(out)
