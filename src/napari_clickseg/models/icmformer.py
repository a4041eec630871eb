"""iCMFormer (Li, Vosselman, Yang, ICCV 2023 Workshops): clicks as a second modality.

Follows the official code (``lik1996/iCMFormer``, ``is_icmformer_plainvit_model.py`` and
``modeling/models_vit.py``), ViT variants. The image and the click maps
([previous mask, positive disks, negative disks]) are embedded separately, each plus the
positional embedding. Both streams go through the first half of the blocks with shared weights
and SimpleClick's window schedule. Then ``depth // 6 + 1`` cross-modality blocks update the
click stream only: click self-attention, clicks querying the image (one shared qkv projection,
query from the clicks, keys and values from the image, one LayerNorm for both inputs), and an MLP
with GELU. Cross block j (1-based) is windowed unless ``j % group == 0`` (the backbone's rule),
which keeps every cross block of the official variants inside 224-px windows. The two streams
are summed and run through the remaining blocks; the neck and head are SimpleClick's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from timm.layers import Mlp
from timm.models.vision_transformer import Attention
from torch import nn

from napari_clickseg.models.interface import ModelOutput
from napari_clickseg.models.simpleclick import SimpleClickConfig, SimpleClickModel
from napari_clickseg.models.vit import (
    PlainViT,
    block_is_global,
    window_merge,
    window_partition,
)


@dataclass(frozen=True)
class ICMFormerConfig(SimpleClickConfig):
    """Hyper-parameters of an iCMFormer ViT; the SimpleClick fields plus the cross blocks.

    Attributes
    ----------
    num_cross_blocks : int
        Cross-modality blocks; 0 means the official ``depth // 6 + 1``.
    """

    num_cross_blocks: int = 0

    architecture = "icmformer"

    @property
    def cross_blocks(self) -> int:
        """The number of cross-modality blocks actually built."""
        return self.num_cross_blocks or self.depth // 6 + 1


class SharedQkvCrossAttention(nn.Module):
    """Multi-head attention of queries from one input over keys / values of another.

    One ``qkv`` projection serves both inputs: the query comes from the query input's q part,
    keys and values from the context's k and v parts (official ``MHAttention``).
    """

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)
        self.fused_attn = True

    def forward(self, query: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Attend from ``query`` (B, N, C) to ``context`` (B, M, C)."""
        batch, tokens, dim = query.shape
        heads = self.num_heads
        q = self.qkv(query).reshape(batch, tokens, 3, heads, dim // heads)[:, :, 0]
        kv = self.qkv(context).reshape(batch, context.shape[1], 3, heads, dim // heads)
        q, k, v = q.transpose(1, 2), kv[:, :, 1].transpose(1, 2), kv[:, :, 2].transpose(1, 2)
        if self.fused_attn:
            out = F.scaled_dot_product_attention(q, k, v)
        else:
            out = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(batch, tokens, dim))


class CrossModalityBlock(nn.Module):
    """Official ``BlockCA``: click self-attention, clicks-to-image attention, MLP (pre-norm)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        norm = partial(nn.LayerNorm, eps=1e-6)
        self.norm1, self.norm2, self.norm3 = norm(dim), norm(dim), norm(dim)
        self.attn1 = Attention(dim, num_heads, qkv_bias=True)
        self.attn2 = SharedQkvCrossAttention(dim, num_heads)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=nn.GELU)

    def forward(self, clicks: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        """Update the click tokens given the image tokens (same layout)."""
        clicks = clicks + self.attn1(self.norm1(clicks))
        clicks = clicks + self.attn2(self.norm2(clicks), self.norm2(image))
        return clicks + self.mlp(self.norm3(clicks))


class ICMFormerViT(PlainViT):
    """SimpleClick's ViT plus the cross-modality blocks (``blocks2``)."""

    def __init__(self, num_cross_blocks: int, **kwargs) -> None:
        super().__init__(**kwargs)
        dim, heads = self.pos_embed.shape[-1], self.blocks[0].attn.num_heads
        self.blocks2 = nn.ModuleList(
            [CrossModalityBlock(dim, heads) for _ in range(num_cross_blocks)]
        )
        for module in self.blocks2.modules():
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def image_stream(self, image_tokens: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """The image tokens through the shared first half of the blocks (no clicks involved)."""
        return self.run_blocks(image_tokens, grid, range(self.depth // 2))

    def fuse_streams(
        self, image_stream: torch.Tensor, click_tokens: torch.Tensor, grid: tuple[int, int]
    ) -> torch.Tensor:
        """Click tokens through the first half, cross blocks, sum, second half."""
        click_tokens = self.run_blocks(click_tokens, grid, range(self.depth // 2))
        image_windows = window_partition(image_stream, grid, self.patch_size)
        for index, block in enumerate(self.blocks2):
            # The cross blocks follow the same rule by their own index: windowed for all
            # official variants, global every group-th block for small depths.
            if block_is_global(index, self.depth):
                click_tokens = block(click_tokens, image_stream)
            else:
                windows = window_partition(click_tokens, grid, self.patch_size)
                windows = block(windows, image_windows)
                click_tokens = window_merge(windows, grid, self.patch_size)
        second_half = range(self.depth // 2, self.depth)
        return self.run_blocks(image_stream + click_tokens, grid, second_half)

    def forward_streams(
        self, image_tokens: torch.Tensor, click_tokens: torch.Tensor, grid: tuple[int, int]
    ) -> torch.Tensor:
        """Shared first half, cross blocks, sum, second half; (B, N, D) in and out."""
        return self.fuse_streams(self.image_stream(image_tokens, grid), click_tokens, grid)

    def set_fused_attention(self, enabled: bool) -> None:
        """Fused or plain attention in the ViT blocks and the cross blocks' self-attention."""
        super().set_fused_attention(enabled)
        for block in self.blocks2:
            block.attn1.fused_attn = enabled
            block.attn2.fused_attn = enabled


class ICMFormerModel(SimpleClickModel):
    """iCMFormer network (ViT variants); see the module docstring.

    It shares SimpleClick's click embedding, neck, head and image normalisation; only the
    backbone and the way the two token streams meet differ.

    Parameters
    ----------
    config : ICMFormerConfig
        Hyper-parameters.
    """

    @staticmethod
    def _make_backbone(config: ICMFormerConfig) -> ICMFormerViT:
        return ICMFormerViT.from_config(config, num_cross_blocks=config.cross_blocks)

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """The image stream through the shared first half of the blocks.

        The image stream never sees the clicks, so the predictor computes this half of the
        backbone once per input crop.

        Parameters
        ----------
        image : torch.Tensor
            (B, 3, H, W) RGB in [0, 1].

        Returns
        -------
        torch.Tensor
            (B, N, D) image tokens after ``depth // 2`` blocks.
        """
        size = (int(image.shape[-2]), int(image.shape[-1]))
        grid = (size[0] // self.config.patch_size, size[1] // self.config.patch_size)
        tokens = self.backbone.embed(self.normalise(image))
        return self.backbone.image_stream(tokens + self.backbone.positional_embedding(grid), grid)

    def decode(
        self, image_stream: torch.Tensor, prev_mask: torch.Tensor, points: torch.Tensor
    ) -> ModelOutput:
        """Click stream, cross blocks, fusion, second half, neck and head.

        Parameters
        ----------
        image_stream : torch.Tensor
            Output of :meth:`encode_image`.
        prev_mask : torch.Tensor
            (B, 1, H, W) previous probability map; (H, W) is the input size.
        points : torch.Tensor
            (B, 2M, 3) clicks in network-input pixels.

        Returns
        -------
        ModelOutput
            Logits (B, 1, H, W).
        """
        size = (int(prev_mask.shape[-2]), int(prev_mask.shape[-1]))
        grid = (size[0] // self.config.patch_size, size[1] // self.config.patch_size)
        positions = self.backbone.positional_embedding(grid)
        click_tokens = self.click_tokens(prev_mask, points, size) + positions
        tokens = self.backbone.fuse_streams(image_stream, click_tokens, grid)
        return self.logits_from_tokens(tokens, grid, size)
