"""iCMFormer, Swin variants (``SwinformerModel`` of the official code).

Follows ``lik1996/iCMFormer`` (``is_icmformer_swinformer_model.py`` and
``modeling/swin_transformer.py``: ``SwinTransformer_cross_encdecv4.forward_backbone``):

- the normalised image and the click maps ([previous mask, positive disks, negative disks])
  both go through the *image* patch embedding ``backbone.patch_embed`` (with its LayerNorm);
  ``backbone.patch_embed_coords`` exists in every checkpoint but is never used;
- three token streams run through stages 0 and 1 with shared weights: the image x, the clicks c
  and the early fusion x1 = x + c (sum of the two embeddings). The 1/4 and 1/8 outputs are
  ``norm0`` / ``norm1`` of the x1 stream's stage outputs (before patch merging);
- at the stage-2 input (1/16, 4 * embed_dim channels) 8 cross-modality blocks (8 heads,
  hard-coded) update c from the merged image tokens x, globally (no windows): click
  self-attention, clicks querying the image (one shared qkv projection), MLP with GELU;
  LayerNorm eps 1e-5 here (1e-6 in the ViT variant);
- x = x + c, then stages 2 and 3 on x; ``norm2`` / ``norm3`` give the 1/16 and 1/32 outputs;
- the SegFormer-style all-MLP head (no neck) on [E, 2E, 4E, 8E] channels gives 1/4 logits,
  upsampled to the input size bilinearly with ``align_corners=True``.

As in the official code, the stage-1 patch merging of the x1 stream and the stage-0/1 outputs
of the x and c streams are computed but not used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from napari_clickseg.models.click_maps import click_maps
from napari_clickseg.models.errors import CheckpointMismatchError
from napari_clickseg.models.heads import AllMLPHead
from napari_clickseg.models.icmformer import CrossModalityBlock
from napari_clickseg.models.interface import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ClickSegModel,
    ModelOutput,
)
from napari_clickseg.models.swin import SwinPatchEmbed, SwinStage

#: The official class whose checkpoints this module loads.
OFFICIAL_CLASS = "isegm.model.is_icmformer_swinformer_model.SwinformerModel"


@dataclass(frozen=True)
class ICMFormerSwinConfig:
    """Hyper-parameters of an iCMFormer Swin network; the defaults are Swin-B at 384 px.

    Attributes
    ----------
    cross_blocks, cross_heads : int
        Cross-modality blocks at the stage-2 input and their heads (8 and 8, hard-coded in
        the official code); their width is ``4 * embed_dim``.
    """

    img_size: int = 384
    patch_size: int = 4
    embed_dim: int = 128
    depths: tuple[int, ...] = (2, 2, 18, 2)
    num_heads: tuple[int, ...] = (4, 8, 16, 32)
    window_size: int = 12
    mlp_ratio: float = 4.0
    cross_blocks: int = 8
    cross_heads: int = 8
    head_channels: int = 256
    upsample: str = "x1"
    disk_radius: float = 5.0
    with_prev_mask: bool = True
    norm_mean: tuple[float, float, float] = field(default=IMAGENET_MEAN)
    norm_std: tuple[float, float, float] = field(default=IMAGENET_STD)

    architecture = "icmformer_swin"

    @property
    def stage_dims(self) -> tuple[int, ...]:
        """Channels of the four stages (and the head's inputs)."""
        return tuple(self.embed_dim * 2**i for i in range(len(self.depths)))

    @property
    def depth(self) -> int:
        """Total number of Swin blocks (for listings next to the ViT variants)."""
        return sum(self.depths)

    @property
    def cross_dim(self) -> int:
        """Width of the cross-modality blocks (the stage-2 input)."""
        return self.embed_dim * 4


class SwinCrossBlock(CrossModalityBlock):
    """The official ``BlockCA`` of the Swin file: as the ViT one, LayerNorm eps 1e-5."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__(dim, num_heads, mlp_ratio)
        for norm in (self.norm1, self.norm2, self.norm3):
            norm.eps = 1e-5


class SwinImageStream(NamedTuple):
    """What iCMFormer-Swin computes from the image alone (reused between clicks)."""

    tokens: torch.Tensor  # patch tokens (B, N, C) of the image
    size: tuple[int, int]  # their grid
    streamed: torch.Tensor  # the image stream after stages 0-1, the cross blocks' context


class ICMFormerSwin(nn.Module):
    """The official ``SwinTransformer_cross_encdecv4`` (state_dict layout and forward)."""

    def __init__(self, config: ICMFormerSwinConfig) -> None:
        super().__init__()
        if len(config.depths) != 4 or len(config.num_heads) != 4:
            raise ValueError("iCMFormer Swin needs four stages")
        click_channels = 3 if config.with_prev_mask else 2
        dims = config.stage_dims
        self.patch_embed = SwinPatchEmbed(config.patch_size, 3, config.embed_dim)
        # Unused by the official forward (clicks go through patch_embed) but in every file.
        self.patch_embed_coords = SwinPatchEmbed(
            config.patch_size, click_channels, config.embed_dim
        )
        self.layers = nn.ModuleList(
            [
                SwinStage(
                    dims[i],
                    config.depths[i],
                    config.num_heads[i],
                    config.window_size,
                    config.mlp_ratio,
                    downsample=i < 3,
                )
                for i in range(4)
            ]
        )
        self.blocks2 = nn.Sequential(
            *[
                SwinCrossBlock(config.cross_dim, config.cross_heads, config.mlp_ratio)
                for _ in range(config.cross_blocks)
            ]
        )
        for i, dim in enumerate(dims):
            self.add_module(f"norm{i}", nn.LayerNorm(dim))

    def image_stream(self, image: torch.Tensor) -> SwinImageStream:
        """The image's patch tokens and the image stream through stages 0-1 (no clicks)."""
        tokens, size = self.patch_embed(image)
        streamed, stream_size = tokens, size
        for i in range(2):
            _, streamed, stream_size = self.layers[i](streamed, stream_size)
        return SwinImageStream(tokens, size, streamed)

    def forward_from_stream(
        self, stream: SwinImageStream, click_maps: torch.Tensor
    ) -> list[torch.Tensor]:
        """Four feature maps (B, C_i, h_i, w_i) at 1/4 .. 1/32 of the (padded) input."""
        size = stream.size
        c, _ = self.patch_embed(click_maps)
        fused = stream.tokens + c
        outs = []
        for i in range(2):
            stage = self.layers[i]
            _, c, _ = stage(c, size)
            out, fused, next_size = stage(fused, size)
            outs.append(self._to_map(getattr(self, f"norm{i}")(out), size))
            size = next_size
        x = stream.streamed
        for block in self.blocks2:
            c = block(c, x)
        x = x + c
        for i in range(2, 4):
            out, x, next_size = self.layers[i](x, size)
            outs.append(self._to_map(getattr(self, f"norm{i}")(out), size))
            size = next_size
        return outs

    def forward(self, image: torch.Tensor, click_maps: torch.Tensor) -> list[torch.Tensor]:
        """Four feature maps (B, C_i, h_i, w_i) at 1/4 .. 1/32 of the (padded) input."""
        return self.forward_from_stream(self.image_stream(image), click_maps)

    @staticmethod
    def _to_map(tokens: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        return tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], *size)

    def set_fused_attention(self, enabled: bool) -> None:
        """Fused (scaled_dot_product_attention) or plain attention everywhere."""
        for module in self.modules():
            if hasattr(module, "fused_attn"):
                module.fused_attn = enabled


class ICMFormerSwinModel(ClickSegModel):
    """iCMFormer network (Swin variants); see the module docstring.

    Parameters
    ----------
    config : ICMFormerSwinConfig
        Hyper-parameters.
    """

    def __init__(self, config: ICMFormerSwinConfig) -> None:
        super().__init__()
        self.config = config
        self.input_size = (config.img_size, config.img_size)
        self.backbone = ICMFormerSwin(config)
        self.head = AllMLPHead(config.stage_dims, config.head_channels, 1, config.upsample)
        self.register_normalisation(config.norm_mean, config.norm_std)

    def encode_image(self, image: torch.Tensor) -> SwinImageStream:
        """The image stream through stages 0-1, reusable for every click on the same crop."""
        return self.backbone.image_stream(self.normalise(image))

    def decode(
        self, stream: SwinImageStream, prev_mask: torch.Tensor, points: torch.Tensor
    ) -> ModelOutput:
        """Mask logits (B, 1, H, W) from :meth:`encode_image`, the prior and the clicks."""
        height, width = int(prev_mask.shape[-2]), int(prev_mask.shape[-1])
        maps = click_maps(
            prev_mask, points, (height, width), self.config.disk_radius, self.config.with_prev_mask
        )
        logits = self.head(self.backbone.forward_from_stream(stream, maps))
        logits = F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=True)
        return ModelOutput(logits=logits)

    def forward(
        self, image: torch.Tensor, prev_mask: torch.Tensor, points: torch.Tensor
    ) -> ModelOutput:
        """Mask logits (B, 1, H, W) for images (B, 3, H, W) in [0, 1], priors and clicks."""
        return self.decode(self.encode_image(image), prev_mask, points)


def is_swin_state_dict(state_dict: Mapping[str, Any]) -> bool:
    """Whether a state_dict has the official iCMFormer Swin layout."""
    return "backbone.layers.0.blocks.0.attn.relative_position_bias_table" in state_dict


def config_from_official(
    params: Mapping[str, Any] | None, state_dict: Mapping[str, torch.Tensor], path: str | Path
) -> ICMFormerSwinConfig:
    """Config of an official ``SwinformerModel`` file, from its params and tensor shapes.

    Shapes give every size (heads from the relative-position tables, the window from their
    length); the serialised params, when present, give the image size, the click radius and
    the normalisation. Without params the image size follows the official configs (384 for
    embed_dim 128, else 224).
    """
    params = dict(params or {})
    backbone = params.get("backbone_params") or {}
    head = params.get("head_params") or {}
    try:
        embed_dim = int(state_dict["backbone.patch_embed.proj.weight"].shape[0])
        patch_size = int(state_dict["backbone.patch_embed.proj.weight"].shape[-1])
        depths, heads = [], []
        for stage in range(4):
            prefix = f"backbone.layers.{stage}.blocks."
            blocks = {
                int(k[len(prefix) :].split(".")[0]) for k in state_dict if k.startswith(prefix)
            }
            depths.append(max(blocks) + 1)
            table = state_dict[f"{prefix}0.attn.relative_position_bias_table"]
            heads.append(int(table.shape[1]))
        window = (round(table.shape[0] ** 0.5) + 1) // 2
        fc1 = state_dict["backbone.layers.0.blocks.0.mlp.fc1.weight"]
        cross = {int(k.split(".")[2]) for k in state_dict if k.startswith("backbone.blocks2.")}
        channels = int(state_dict["head.conv_seg.weight"].shape[1])
        width = int(state_dict["head.convs.0.conv.weight"].shape[0])
        with_prev = int(state_dict["backbone.patch_embed_coords.proj.weight"].shape[1]) == 3
    except (KeyError, ValueError) as exc:
        raise CheckpointMismatchError(
            f"{path} does not look like an iCMFormer Swin checkpoint ({exc!r})"
        ) from exc
    img_size = backbone.get("pretrain_img_size", 384 if embed_dim == 128 else 224)
    if isinstance(img_size, list | tuple):
        img_size = img_size[0]
    mean_std = params.get("norm_mean_std") or (IMAGENET_MEAN, IMAGENET_STD)
    return ICMFormerSwinConfig(
        img_size=int(img_size),
        patch_size=patch_size,
        embed_dim=embed_dim,
        depths=tuple(depths),
        num_heads=tuple(heads),
        window_size=int(window),
        mlp_ratio=float(fc1.shape[0]) / embed_dim,
        cross_blocks=max(cross) + 1 if cross else 0,
        cross_heads=8,
        head_channels=channels,
        upsample=str(head.get("upsample", {1: "x1", 2: "x2", 4: "x4"}.get(width // channels))),
        disk_radius=float(params.get("norm_radius", 5.0)),
        with_prev_mask=bool(params.get("with_prev_mask", with_prev)),
        norm_mean=tuple(float(v) for v in mean_std[0]),
        norm_std=tuple(float(v) for v in mean_std[1]),
    )
