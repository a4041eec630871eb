"""Plain ViT backbone with SimpleClick's windowed / global block schedule.

Matches the official ``isegm/model/modeling/models_vit.py`` (``VisionTransformer`` and its
``forward_backbone``): non-overlapping, never shifted windows of 224 x 224 pixels
(``224 // patch`` tokens a side), ``group = 6 if depth == 12 else depth // 4`` and block ``i``
(1-based) global when ``i % group == 0``, windowed otherwise; no final norm on the
interactive path. The blocks are timm's, whose parameter names equal the official ones.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from timm.models.vision_transformer import Block
from torch import nn

#: Window side in pixels: the MAE pretraining size.
WINDOW_PIXELS = 224


class PatchEmbed(nn.Module):
    """Image to patch tokens with one strided convolution (official ``PatchEmbed``).

    Parameters
    ----------
    patch_size : int
        Side of a square patch in pixels.
    in_chans : int
        Input channels.
    embed_dim : int
        Token width.
    """

    def __init__(self, patch_size: int, in_chans: int, embed_dim: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return tokens (B, N, D) in row-major patch order."""
        return self.proj(x).flatten(2).transpose(1, 2)


def block_is_global(index: int, depth: int) -> bool:
    """Whether 0-based block ``index`` of a ``depth``-block backbone attends globally.

    Parameters
    ----------
    index : int
        0-based block index.
    depth : int
        Number of blocks.

    Returns
    -------
    bool
        True for global attention, False for windowed attention.
    """
    group = 6 if depth == 12 else depth // 4
    return (index + 1) % group == 0


def window_partition(x: torch.Tensor, grid: tuple[int, int], patch_size: int) -> torch.Tensor:
    """Split tokens (B, N, D) into 224-pixel windows (B * nW, N / nW, D), batch-major."""
    batch, _, dim = x.shape
    grid_h, grid_w = grid
    win_h, win_w = grid_h // (WINDOW_PIXELS // patch_size), grid_w // (WINDOW_PIXELS // patch_size)
    x = x.view(batch, win_h, grid_h // win_h, win_w, grid_w // win_w, dim)
    x = x.permute(0, 1, 3, 2, 4, 5).contiguous()
    return x.view(batch * win_h * win_w, grid_h * grid_w // (win_h * win_w), dim)


def window_merge(x: torch.Tensor, grid: tuple[int, int], patch_size: int) -> torch.Tensor:
    """Inverse of :func:`window_partition`."""
    windows_batch, tokens, dim = x.shape
    grid_h, grid_w = grid
    win_h, win_w = grid_h // (WINDOW_PIXELS // patch_size), grid_w // (WINDOW_PIXELS // patch_size)
    batch = windows_batch // (win_h * win_w)
    x = x.view(batch, win_h, win_w, grid_h // win_h, grid_w // win_w, dim)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(batch, win_h * win_w * tokens, dim)


def check_grid(grid: tuple[int, int], patch_size: int) -> None:
    """Raise a clear error for input sizes the window schedule cannot tile.

    Parameters
    ----------
    grid : tuple of int
        Token grid (rows, cols).
    patch_size : int
        Patch side in pixels.
    """
    window = WINDOW_PIXELS // patch_size
    for side in grid:
        if side < window or side % (side // window) != 0:
            raise ValueError(
                f"input of {grid[0] * patch_size}x{grid[1] * patch_size} px gives a token grid "
                f"{grid} that 224-px windows ({window} tokens) cannot tile; use an input size "
                f"such as 448 or 672 (each side at least 224 px and a multiple of the window)"
            )


class PlainViT(nn.Module):
    """The SimpleClick ViT backbone (official ``VisionTransformer``).

    Parameters
    ----------
    img_size : int
        Training input size; sets the stored positional-embedding grid.
    patch_size : int
        Patch side (16, or 14 for ViT-H).
    embed_dim, depth, num_heads : int
        Width, number of blocks and attention heads.
    mlp_ratio : float
        MLP hidden width over token width.
    num_classes : int
        Width of the unused classification head (kept for strict checkpoint loading).
    """

    def __init__(
        self,
        img_size: int = 448,
        patch_size: int = 16,
        embed_dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        if depth % 4 != 0:
            raise ValueError(f"depth must be a multiple of 4 (official schedule), got {depth}")
        self.patch_size = patch_size
        self.depth = depth
        self.trained_grid = (img_size // patch_size, img_size // patch_size)
        self.patch_embed = PatchEmbed(patch_size, 3, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        num_tokens = self.trained_grid[0] * self.trained_grid[1] + 1
        self.pos_embed = nn.Parameter(torch.zeros(1, num_tokens, embed_dim))
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.blocks = nn.Sequential(
            *[
                Block(embed_dim, num_heads, mlp_ratio, qkv_bias=True, norm_layer=norm_layer)
                for _ in range(depth)
            ]
        )
        # Unused on the interactive path, present in every released checkpoint.
        self.fc_norm = norm_layer(embed_dim)
        self.head = nn.Linear(embed_dim, num_classes)
        self._init_weights()

    @classmethod
    def from_config(cls, config: Any, **extra: Any) -> PlainViT:
        """Build from any model config with the ViT fields (img_size, patch_size, embed_dim,
        depth, num_heads, mlp_ratio); ``extra`` goes to subclasses."""
        return cls(
            img_size=config.img_size,
            patch_size=config.patch_size,
            embed_dim=config.embed_dim,
            depth=config.depth,
            num_heads=config.num_heads,
            mlp_ratio=config.mlp_ratio,
            **extra,
        )

    def _init_weights(self) -> None:
        weight = self.patch_embed.proj.weight.data
        nn.init.xavier_uniform_(weight.view(weight.shape[0], -1))
        nn.init.normal_(self.cls_token, std=0.02)
        nn.init.normal_(self.pos_embed, std=0.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def set_fused_attention(self, enabled: bool) -> None:
        """Use PyTorch's fused scaled-dot-product attention (True) or the plain maths."""
        for block in self.blocks:
            block.attn.fused_attn = enabled

    def positional_embedding(self, grid: tuple[int, int]) -> torch.Tensor:
        """Patch positional embedding (1, N, D) for a token grid.

        At the trained grid this is the stored embedding without the cls slot; otherwise it
        is resized bicubically (align_corners=False), as the official inference does.
        """
        tokens = self.pos_embed[:, 1:]
        if grid == self.trained_grid:
            return tokens
        dim = tokens.shape[-1]
        tokens = tokens.reshape(1, *self.trained_grid, dim).permute(0, 3, 1, 2)
        tokens = F.interpolate(tokens, size=grid, mode="bicubic", align_corners=False)
        return tokens.permute(0, 2, 3, 1).flatten(1, 2)

    def embed(self, image: torch.Tensor) -> torch.Tensor:
        """Patch tokens of a normalised image (B, 3, H, W) -> (B, N, D)."""
        return self.patch_embed(image)

    def forward_tokens(self, tokens: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """Run the blocks with the window schedule on tokens that already hold every embedding.

        Parameters
        ----------
        tokens : torch.Tensor
            (B, N, D): image patch tokens + click tokens + positional embedding.
        grid : tuple of int
            Token grid (rows, cols) of ``tokens``.

        Returns
        -------
        torch.Tensor
            (B, N, D) output tokens, no final norm.
        """
        return self.run_blocks(tokens, grid, range(self.depth))

    def run_blocks(
        self, tokens: torch.Tensor, grid: tuple[int, int], indices: range
    ) -> torch.Tensor:
        """Run a contiguous range of blocks, each windowed or global by its index.

        Parameters
        ----------
        tokens : torch.Tensor
            (B, N, D) tokens in row-major grid order.
        grid : tuple of int
            Token grid (rows, cols).
        indices : range
            0-based indices of the blocks to run.

        Returns
        -------
        torch.Tensor
            (B, N, D) tokens in row-major grid order.
        """
        check_grid(grid, self.patch_size)
        x = tokens
        windowed = False
        for index in indices:
            if block_is_global(index, self.depth):
                if windowed:
                    x = window_merge(x, grid, self.patch_size)
                    windowed = False
            elif not windowed:
                x = window_partition(x, grid, self.patch_size)
                windowed = True
            x = self.blocks[index](x)
        if windowed:
            x = window_merge(x, grid, self.patch_size)
        return x
