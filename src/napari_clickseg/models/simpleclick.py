"""SimpleClick (Liu et al., ICCV 2023): a plain ViT with early click fusion.

Mirrors the official ``PlainVitModel``: the image is normalised with ImageNet statistics
inside the model; [previous mask, positive disks, negative disks] go through their own
patch embedding ("symmetric patch embedding") and are added to the image tokens before the
positional embedding; the backbone output feeds the simple feature pyramid and the all-MLP
head; logits at 1/4 (for patch 16) are upsampled to the input size bilinearly with
``align_corners=True``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from napari_clickseg.models.click_maps import click_maps
from napari_clickseg.models.fpn import SimpleFPN
from napari_clickseg.models.heads import AllMLPHead
from napari_clickseg.models.interface import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ClickSegModel,
    ModelOutput,
)
from napari_clickseg.models.vit import PatchEmbed, PlainViT


@dataclass(frozen=True)
class SimpleClickConfig:
    """Hyper-parameters of a SimpleClick network.

    The defaults are ViT-B at 448 px. Field names are ours; :mod:`checkpoints` maps the
    official config onto them.
    """

    img_size: int = 448
    patch_size: int = 16
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    neck_out_dims: tuple[int, int, int, int] = (128, 256, 512, 1024)
    head_channels: int = 256
    upsample: str = "x1"
    disk_radius: float = 5.0
    with_prev_mask: bool = True
    norm_mean: tuple[float, float, float] = field(default=IMAGENET_MEAN)
    norm_std: tuple[float, float, float] = field(default=IMAGENET_STD)

    architecture = "simpleclick"


class SimpleClickModel(ClickSegModel):
    """SimpleClick network; see the module docstring.

    Parameters
    ----------
    config : SimpleClickConfig
        Hyper-parameters.
    """

    def __init__(self, config: SimpleClickConfig) -> None:
        super().__init__()
        self.config = config
        self.input_size = (config.img_size, config.img_size)
        click_channels = 3 if config.with_prev_mask else 2
        self.patch_embed_coords = PatchEmbed(config.patch_size, click_channels, config.embed_dim)
        self.backbone = self._make_backbone(config)
        self.neck = SimpleFPN(config.embed_dim, config.neck_out_dims)
        self.head = AllMLPHead(config.neck_out_dims, config.head_channels, 1, config.upsample)
        self.register_normalisation(config.norm_mean, config.norm_std)

    @staticmethod
    def _make_backbone(config: SimpleClickConfig) -> PlainViT:
        return PlainViT.from_config(config)

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """Patch tokens of the image alone (they do not depend on the clicks).

        Parameters
        ----------
        image : torch.Tensor
            (B, 3, H, W) RGB in [0, 1].

        Returns
        -------
        torch.Tensor
            (B, N, D) image patch tokens, to be passed to :meth:`decode`.
        """
        return self.backbone.embed(self.normalise(image))

    def click_tokens(
        self, prev_mask: torch.Tensor, points: torch.Tensor, size: tuple[int, int]
    ) -> torch.Tensor:
        """Patch tokens (B, N, D) of [previous mask, positive disks, negative disks]."""
        maps = click_maps(
            prev_mask, points, size, self.config.disk_radius, self.config.with_prev_mask
        )
        return self.patch_embed_coords(maps)

    def logits_from_tokens(
        self, tokens: torch.Tensor, grid: tuple[int, int], size: tuple[int, int]
    ) -> ModelOutput:
        """Neck, head and the final bilinear (align_corners=True) upsampling to ``size``."""
        batch, _, dim = tokens.shape
        feature_map = tokens.transpose(1, 2).reshape(batch, dim, *grid)
        logits = self.head(self.neck(feature_map))
        logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=True)
        return ModelOutput(logits=logits)

    def decode(
        self, image_tokens: torch.Tensor, prev_mask: torch.Tensor, points: torch.Tensor
    ) -> ModelOutput:
        """Everything after the image patch embedding.

        Parameters
        ----------
        image_tokens : torch.Tensor
            Output of :meth:`encode_image`.
        prev_mask : torch.Tensor
            (B, 1, H, W) previous probability map; (H, W) is the input size.
        points : torch.Tensor
            (B, 2M, 3) clicks, see :func:`~napari_clickseg.models.click_maps.points_tensor`.

        Returns
        -------
        ModelOutput
            Logits (B, 1, H, W), no scores.
        """
        size = (int(prev_mask.shape[-2]), int(prev_mask.shape[-1]))
        grid = (size[0] // self.config.patch_size, size[1] // self.config.patch_size)
        tokens = image_tokens + self.click_tokens(prev_mask, points, size)
        tokens = tokens + self.backbone.positional_embedding(grid)
        return self.logits_from_tokens(self.backbone.forward_tokens(tokens, grid), grid, size)

    def forward(
        self, image: torch.Tensor, prev_mask: torch.Tensor, points: torch.Tensor
    ) -> ModelOutput:
        """Mask logits for images, previous masks and clicks.

        Parameters
        ----------
        image : torch.Tensor
            (B, 3, H, W) RGB in [0, 1].
        prev_mask : torch.Tensor
            (B, 1, H, W) previous probability map (zeros before the first click).
        points : torch.Tensor
            (B, 2M, 3) clicks in network-input pixels.

        Returns
        -------
        ModelOutput
            Logits (B, 1, H, W).
        """
        return self.decode(self.encode_image(image), prev_mask, points)
