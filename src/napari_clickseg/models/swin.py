"""Swin Transformer pieces in the layout of the mmseg / Swin-for-segmentation code.

iCMFormer's Swin backbone (``lik1996/iCMFormer``, ``modeling/swin_transformer.py``) uses the
segmentation variant of Swin, whose parameter names and maths differ from timm's:

- ``layers.{i}.downsample`` (patch merging: LayerNorm over the 4C concatenation, then a
  bias-free Linear 4C -> 2C) sits at the *end* of stage i; timm puts it at the start of stage
  i + 1;
- ``relative_position_index`` is a persistent buffer, so it is part of the state_dict;
- inputs of any size are zero-padded: the patch embedding pads the image to a multiple of the
  patch, each block pads its (normed) tokens to a multiple of the window, and patch merging pads
  odd sizes; the shifted-window mask is built on the padded grid (-100 between regions);
- the window never shrinks for small feature maps (timm clamps it).

Hence these small modules instead of timm's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from timm.layers import Mlp
from torch import nn


def window_partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """(B, H, W, C) -> (B * nW, window * window, C); H and W are multiples of ``window``."""
    batch, height, width, channels = x.shape
    x = x.view(batch, height // window, window, width // window, window, channels)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, channels)


def window_reverse(windows: torch.Tensor, window: int, height: int, width: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`: (B * nW, window * window, C) -> (B, H, W, C)."""
    channels = windows.shape[-1]
    x = windows.view(-1, height // window, width // window, window, window, channels)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, height, width, channels)


def relative_position_index(window: int) -> torch.Tensor:
    """(window², window²) index into the (2 * window - 1)² relative-position bias table."""
    coords = torch.stack(
        torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
    ).flatten(1)
    relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
    return relative[:, :, 0] * (2 * window - 1) + relative[:, :, 1]


def shifted_window_mask(
    height: int, width: int, window: int, shift: int, device: torch.device | None = None
) -> torch.Tensor:
    """(nW, window², window²) additive mask (0 / -100) for shifted windows on the padded grid."""
    padded_h = math.ceil(height / window) * window
    padded_w = math.ceil(width / window) * window
    regions = torch.zeros((1, padded_h, padded_w, 1), device=device)
    slices = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
    label = 0
    for rows in slices:
        for cols in slices:
            regions[:, rows, cols, :] = label
            label += 1
    labels = window_partition(regions, window).squeeze(-1)
    diff = labels.unsqueeze(1) - labels.unsqueeze(2)
    return diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)


class WindowAttention(nn.Module):
    """Window self-attention with a learned relative-position bias (one table per block)."""

    def __init__(self, dim: int, window: int, num_heads: int) -> None:
        super().__init__()
        self.window = window
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window - 1) ** 2, num_heads)
        )
        self.register_buffer("relative_position_index", relative_position_index(window))
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        self.fused_attn = False

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Attention within windows: x (B * nW, N, C); mask (nW, N, N) or None."""
        windows, tokens, dim = x.shape
        heads = self.num_heads
        qkv = self.qkv(x).reshape(windows, tokens, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        bias = bias.view(tokens, tokens, heads).permute(2, 0, 1).unsqueeze(0)
        if mask is not None:
            num_windows = mask.shape[0]
            bias = (bias + mask.unsqueeze(1)).repeat(windows // num_windows, 1, 1, 1)
        if self.fused_attn:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        else:
            out = ((q * self.scale) @ k.transpose(-2, -1) + bias).softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(windows, tokens, dim))


class SwinBlock(nn.Module):
    """Pre-norm (shifted-)window attention and MLP, padding the grid to whole windows."""

    def __init__(self, dim: int, num_heads: int, window: int, shift: int, mlp_ratio: float):
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=nn.GELU)

    def forward(
        self, x: torch.Tensor, size: tuple[int, int], mask: torch.Tensor | None
    ) -> torch.Tensor:
        """x (B, H*W, C) on the grid ``size``; ``mask`` is used for shifted blocks only."""
        batch, _, channels = x.shape
        height, width = size
        window = self.window
        y = self.norm1(x).view(batch, height, width, channels)
        pad_b, pad_r = (-height) % window, (-width) % window
        y = F.pad(y, (0, 0, 0, pad_r, 0, pad_b))
        padded_h, padded_w = height + pad_b, width + pad_r
        if self.shift:
            y = torch.roll(y, shifts=(-self.shift, -self.shift), dims=(1, 2))
        y = self.attn(window_partition(y, window), mask if self.shift else None)
        y = window_reverse(y, window, padded_h, padded_w)
        if self.shift:
            y = torch.roll(y, shifts=(self.shift, self.shift), dims=(1, 2))
        x = x + y[:, :height, :width, :].reshape(batch, height * width, channels)
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    """2x2 neighbourhood concat (pad odd sizes), LayerNorm(4C), Linear 4C -> 2C without bias."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """(B, H*W, C) -> (B, ceil(H/2) * ceil(W/2), 2C)."""
        batch, _, channels = x.shape
        height, width = size
        x = F.pad(x.view(batch, height, width, channels), (0, 0, 0, width % 2, 0, height % 2))
        x = torch.cat(
            [x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1
        )
        return self.reduction(self.norm(x.reshape(batch, -1, 4 * channels)))


class SwinStage(nn.Module):
    """``depth`` blocks alternating plain and shifted windows, then optional patch merging."""

    def __init__(
        self,
        dim: int,
        depth: int,
        num_heads: int,
        window: int,
        mlp_ratio: float = 4.0,
        downsample: bool = True,
    ) -> None:
        super().__init__()
        self.window, self.shift = window, window // 2
        self.blocks = nn.ModuleList(
            [
                SwinBlock(dim, num_heads, window, 0 if i % 2 == 0 else window // 2, mlp_ratio)
                for i in range(depth)
            ]
        )
        self.downsample = PatchMerging(dim) if downsample else None

    def forward(
        self, x: torch.Tensor, size: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
        """Returns (stage output, input of the next stage, the next stage's grid size)."""
        mask = shifted_window_mask(*size, self.window, self.shift, x.device)
        for block in self.blocks:
            x = block(x, size, mask)
        if self.downsample is None:
            return x, x, size
        next_size = ((size[0] + 1) // 2, (size[1] + 1) // 2)
        return x, self.downsample(x, size), next_size


class SwinPatchEmbed(nn.Module):
    """Strided convolution (input zero-padded to a multiple of the patch) plus LayerNorm."""

    def __init__(self, patch_size: int, in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """(B, C, H, W) -> tokens (B, h*w, D) and the grid (h, w)."""
        patch = self.patch_size
        x = F.pad(x, (0, (-x.shape[-1]) % patch, 0, (-x.shape[-2]) % patch))
        x = self.proj(x)
        size = (int(x.shape[-2]), int(x.shape[-1]))
        return self.norm(x.flatten(2).transpose(1, 2)), size
