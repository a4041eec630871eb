"""PiClick (Yan et al., 2023): several candidate masks per click from a Mask2Former-style head.

Follows the official code (``cilinyan/PiClick``, ``is_piclick_model.py`` and
``mask2former_helper/piclick_head.py``). The backbone and neck are SimpleClick's (early fusion
of [previous mask, positive disks, negative disks] into the ViT tokens, simple feature
pyramid). The head is Mask2Former's:

- a pixel decoder: the 1/32, 1/16 and 1/8 maps (1x1 conv + GroupNorm each) run through a
  post-norm encoder of multi-scale deformable self-attention with sine positional encodings
  plus a learned level encoding; the 1/8 output, bilinearly upsampled and added to the
  projected 1/4 map, gives the mask features at 1/4;
- a transformer decoder of ``num_queries`` learned queries (content ``query_feat``, position
  ``query_embed``) with masked cross-attention, self-attention and an FFN (post-norm). Layer i
  attends to level ``i % 3`` whose tokens are followed by the click tokens: a sine encoding of
  the click position plus a learned positive / negative embedding; padded clicks are masked;
- per prediction (the initial queries and after every layer) the ``post_norm`` output feeds a
  class head, an IoU head, a one-hot head and a mask embedding whose product with the mask
  features gives the mask logits at 1/4, upsampled (bilinear, ``align_corners=True``).

:class:`PiClickModel` returns the final layer's K candidates in query order with the score
``6 sigmoid(iou) + sigmoid(onehot)`` the official predictor uses to pick one (the predictor
also sums it over a flipped pass; that is the engine's business).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from napari_clickseg.models.click_maps import click_maps
from napari_clickseg.models.deformable_attention import MultiScaleDeformableAttention
from napari_clickseg.models.fpn import SimpleFPN
from napari_clickseg.models.interface import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ClickSegModel,
    ModelOutput,
)
from napari_clickseg.models.vit import PatchEmbed, PlainViT

#: Class path of the official model in its checkpoints.
OFFICIAL_CLASS = "isegm.model.is_piclick_model.PiClickModel"

#: Strides of the four pyramid levels (used for the reference points, as mmdet does).
_STRIDES = (4, 8, 16, 32)


@dataclass(frozen=True)
class PiClickConfig:
    """Hyper-parameters of a PiClick network; the defaults are the official ViT-B at 448 px.

    Attributes
    ----------
    neck_out_dims : tuple of int
        SimpleFPN widths, finest first (the head's input channels).
    feat_channels : int
        Width of the pixel decoder, the transformer decoder and the queries.
    mask_channels : int
        Width of the mask features and mask embeddings (``out_channels``).
    num_queries : int
        Candidate masks K.
    gn_groups : int
        GroupNorm groups of the pixel decoder's convolutions.
    encoder_layers, encoder_heads, encoder_points, encoder_ffn : int
        Deformable-attention encoder of the pixel decoder.
    num_levels : int
        Pyramid levels the encoder and decoder attend to (the coarsest ones).
    decoder_layers, decoder_heads, decoder_ffn : int
        Transformer decoder.
    pe_feats : int
        Sine positional-encoding features per axis (pixel decoder, decoder keys, clicks).
    """

    img_size: int = 448
    patch_size: int = 16
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    neck_out_dims: tuple[int, int, int, int] = (256, 256, 256, 256)
    feat_channels: int = 256
    mask_channels: int = 256
    num_queries: int = 7
    num_classes: int = 1
    gn_groups: int = 32
    num_levels: int = 3
    encoder_layers: int = 6
    encoder_heads: int = 8
    encoder_points: int = 4
    encoder_ffn: int = 1024
    decoder_layers: int = 9
    decoder_heads: int = 8
    decoder_ffn: int = 2048
    pe_feats: int = 128
    disk_radius: float = 5.0
    with_prev_mask: bool = True
    norm_mean: tuple[float, float, float] = field(default=IMAGENET_MEAN)
    norm_std: tuple[float, float, float] = field(default=IMAGENET_STD)

    architecture = "piclick"


def _sine_terms(coord: torch.Tensor, num_feats: int, temperature: float = 10000.0) -> torch.Tensor:
    """Interleaved [sin, cos] of normalised coordinates (..., ) -> (..., num_feats)."""
    dim_t = torch.arange(num_feats, dtype=torch.float32, device=coord.device)
    dim_t = temperature ** (2 * (dim_t // 2) / num_feats)
    pos = coord[..., None] / dim_t
    return torch.stack((pos[..., 0::2].sin(), pos[..., 1::2].cos()), dim=-1).flatten(-2)


def _normalised(index: torch.Tensor, size: int) -> torch.Tensor:
    """mmdet's normalised sine coordinate ``(i + 1) / (size + eps) * 2 pi`` in float32."""
    total = torch.tensor(float(size), dtype=torch.float32, device=index.device)
    return (index.float() + 1) / (total + 1e-6) * (2 * math.pi)


def sine_positional_encoding(
    height: int, width: int, num_feats: int, device: torch.device | None = None
) -> torch.Tensor:
    """mmdet ``SinePositionalEncoding(normalize=True)`` of an unpadded map: (2F, H, W)."""
    rows = torch.arange(height, device=device)
    cols = torch.arange(width, device=device)
    pos_y = _sine_terms(_normalised(rows, height), num_feats)  # (H, F)
    pos_x = _sine_terms(_normalised(cols, width), num_feats)  # (W, F)
    pos_y = pos_y[:, None, :].expand(height, width, num_feats)
    pos_x = pos_x[None, :, :].expand(height, width, num_feats)
    return torch.cat([pos_y, pos_x], dim=-1).permute(2, 0, 1)


class ConvNorm(nn.Module):
    """mmcv ``ConvModule``: conv, GroupNorm (``gn``) and optional ReLU."""

    def __init__(
        self, in_ch: int, out_ch: int, kernel: int, groups: int, bias: bool, relu: bool
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2, bias=bias)
        self.gn = nn.GroupNorm(groups, out_ch)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.gn(self.conv(x))
        return F.relu(x) if self.relu else x


class FFN(nn.Module):
    """mmcv ``FFN`` with two layers: ``layers.0.0`` Linear, ReLU, ``layers.1`` Linear."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Sequential(nn.Linear(dim, hidden), nn.ReLU()), nn.Linear(hidden, dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual FFN."""
        return x + self.layers(x)


class EncoderLayer(nn.Module):
    """Post-norm deformable-attention encoder layer (``self_attn, norm, ffn, norm``)."""

    def __init__(self, config: PiClickConfig) -> None:
        super().__init__()
        dim = config.feat_channels
        self.attentions = nn.ModuleList(
            [
                MultiScaleDeformableAttention(
                    dim, config.encoder_heads, config.num_levels, config.encoder_points
                )
            ]
        )
        self.ffns = nn.ModuleList([FFN(dim, config.encoder_ffn)])
        self.norms = nn.ModuleList([nn.LayerNorm(dim), nn.LayerNorm(dim)])

    def forward(self, x, pos, reference, shapes):
        x = self.norms[0](self.attentions[0](x, pos, reference, shapes))
        return self.norms[1](self.ffns[0](x))


class DeformableEncoder(nn.Module):
    """The pixel decoder's encoder (keys ``layers.{i}``)."""

    def __init__(self, config: PiClickConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList([EncoderLayer(config) for _ in range(config.encoder_layers)])

    def forward(self, x, pos, reference, shapes):
        for layer in self.layers:
            x = layer(x, pos, reference, shapes)
        return x


class PixelDecoder(nn.Module):
    """Mask2Former's ``MSDeformAttnPixelDecoder`` for four input levels, three encoded."""

    def __init__(self, config: PiClickConfig) -> None:
        super().__init__()
        dim, groups, levels = config.feat_channels, config.gn_groups, config.num_levels
        ins = config.neck_out_dims
        self.num_levels = levels
        # From the coarsest level down: input_convs[0] takes the 1/32 map.
        self.input_convs = nn.ModuleList(
            [ConvNorm(ins[len(ins) - 1 - i], dim, 1, groups, True, False) for i in range(levels)]
        )
        self.encoder = DeformableEncoder(config)
        self.level_encoding = nn.Embedding(levels, dim)
        self.lateral_convs = nn.ModuleList([ConvNorm(ins[0], dim, 1, groups, False, False)])
        self.output_convs = nn.ModuleList([ConvNorm(dim, dim, 3, groups, False, True)])
        self.mask_feature = nn.Conv2d(dim, config.mask_channels, 1)
        self.pe_feats = config.pe_feats

    def forward(self, feats: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Mask features at 1/4 and the encoded maps [1/32, 1/16, 1/8]."""
        batch = feats[0].shape[0]
        tokens, positions, references, shapes = [], [], [], []
        for i in range(self.num_levels):
            level = len(feats) - 1 - i
            feat = feats[level]
            h, w = feat.shape[-2:]
            projected = self.input_convs[i](feat)
            pos = sine_positional_encoding(h, w, self.pe_feats, feat.device)
            pos = pos + self.level_encoding.weight[i].view(-1, 1, 1)
            stride = _STRIDES[level]
            xs = (torch.arange(w, device=feat.device) + 0.5) * stride
            ys = (torch.arange(h, device=feat.device) + 0.5) * stride
            grid_y, grid_x = torch.meshgrid(ys.float(), xs.float(), indexing="ij")
            ref = torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=-1)
            ref = ref / (feat.new_tensor([[w, h]]) * stride)
            tokens.append(projected.flatten(2).transpose(1, 2))
            positions.append(pos.flatten(1).transpose(0, 1))
            references.append(ref)
            shapes.append((int(h), int(w)))
        x = torch.cat(tokens, dim=1)
        pos = torch.cat(positions, dim=0)[None]
        memory = self.encoder(x, pos, torch.cat(references, dim=0), shapes)
        memory = memory.transpose(1, 2)
        outs = [
            part.reshape(batch, -1, h, w)
            for part, (h, w) in zip(
                memory.split([h * w for h, w in shapes], dim=-1), shapes, strict=True
            )
        ]
        lateral = self.lateral_convs[0](feats[0])
        y = lateral + F.interpolate(
            outs[-1], size=lateral.shape[-2:], mode="bilinear", align_corners=False
        )
        y = self.output_convs[0](y)
        return self.mask_feature(y), outs


class DecoderAttention(nn.Module):
    """mmcv ``MultiheadAttention`` wrapper (key ``attn``) with a residual.

    Inputs are batch-first; they are handed to the attention sequence-first and contiguous.
    ``batch_first=True`` would transpose them to non-contiguous views, on which PyTorch's
    input projections fall back to a batched product with the weight copied once per token
    (3000 copies of a 256 x 256 matrix per call at 448 px), the larger part of a batch-2
    forward on a CPU.
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads)

    def forward(self, query, key, value, query_pos, key_pos, attn_mask=None):
        def sequence_first(x: torch.Tensor) -> torch.Tensor:
            return x.transpose(0, 1).contiguous()

        out = self.attn(
            sequence_first(query + query_pos),
            sequence_first(key + key_pos),
            sequence_first(value),
            attn_mask=attn_mask,
            need_weights=False,
        )[0]
        return query + out.transpose(0, 1)


class DecoderLayer(nn.Module):
    """``cross_attn, norm, self_attn, norm, ffn, norm`` (post-norm)."""

    def __init__(self, config: PiClickConfig) -> None:
        super().__init__()
        dim, heads = config.feat_channels, config.decoder_heads
        self.attentions = nn.ModuleList(
            [DecoderAttention(dim, heads), DecoderAttention(dim, heads)]
        )
        self.ffns = nn.ModuleList([FFN(dim, config.decoder_ffn)])
        self.norms = nn.ModuleList([nn.LayerNorm(dim) for _ in range(3)])

    def forward(self, query, query_pos, memory, memory_pos, attn_mask):
        query = self.norms[0](
            self.attentions[0](query, memory, memory, query_pos, memory_pos, attn_mask)
        )
        query = self.norms[1](self.attentions[1](query, query, query, query_pos, query_pos))
        return self.norms[2](self.ffns[0](query))


class TransformerDecoder(nn.Module):
    """Decoder layers plus the shared ``post_norm``."""

    def __init__(self, config: PiClickConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList([DecoderLayer(config) for _ in range(config.decoder_layers)])
        self.post_norm = nn.LayerNorm(config.feat_channels)


def _mlp(dim: int, out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, out)
    )


@dataclass
class PiClickPredictions:
    """Raw head outputs of every prediction step (initial queries + each decoder layer).

    Attributes
    ----------
    cls_logits : (L, B, K, num_classes + 1)
    mask_logits : (L, B, K, h, w) at 1/4 of the input
    iou_logits, onehot_logits : (L, B, K, 1)
    """

    cls_logits: torch.Tensor
    mask_logits: torch.Tensor
    iou_logits: torch.Tensor
    onehot_logits: torch.Tensor


class PiClickHead(nn.Module):
    """Pixel decoder, transformer decoder and prediction heads (official ``PiClickHead``)."""

    def __init__(self, config: PiClickConfig) -> None:
        super().__init__()
        dim = config.feat_channels
        self.config = config
        self.pixel_decoder = PixelDecoder(config)
        self.transformer_decoder = TransformerDecoder(config)
        self.query_embed = nn.Embedding(config.num_queries, dim)
        self.query_feat = nn.Embedding(config.num_queries, dim)
        self.level_embed = nn.Embedding(config.num_levels, dim)
        self.cls_embed = nn.Linear(dim, config.num_classes + 1)
        self.mask_embed = _mlp(dim, config.mask_channels)
        self.iou_embed = _mlp(dim, 1)
        self.onehot_embed = _mlp(dim, 1)

    def predict(self, query: torch.Tensor, mask_features: torch.Tensor, size: tuple[int, int]):
        """Heads on (B, K, C) queries; also the attention mask (B*heads, K, h*w) for ``size``."""
        query = self.transformer_decoder.post_norm(query)
        mask = torch.einsum("bqc,bchw->bqhw", self.mask_embed(query), mask_features)
        blocked = F.interpolate(mask, size, mode="bilinear", align_corners=False)
        heads = self.config.decoder_heads
        blocked = blocked.flatten(2).unsqueeze(1).repeat(1, heads, 1, 1).flatten(0, 1)
        blocked = blocked.sigmoid() < 0.5
        return (
            self.cls_embed(query),
            mask,
            self.iou_embed(query),
            self.onehot_embed(query),
            blocked,
        )

    def forward(
        self, feats: list[torch.Tensor], click_tokens: torch.Tensor, click_invalid: torch.Tensor
    ) -> PiClickPredictions:
        """Predictions for pyramid features, click tokens (B, P, C) and their padding (B, P)."""
        config = self.config
        heads, levels = config.decoder_heads, config.num_levels
        batch = feats[0].shape[0]
        mask_features, memories = self.pixel_decoder(feats)
        click_blocked = click_invalid[:, None, None, :].repeat(1, heads, config.num_queries, 1)
        click_blocked = click_blocked.flatten(0, 1)
        inputs, positions, sizes = [], [], []
        for i in range(levels):
            h, w = memories[i].shape[-2:]
            inputs.append(memories[i].flatten(2).transpose(1, 2) + self.level_embed.weight[i])
            pos = sine_positional_encoding(h, w, config.pe_feats, mask_features.device)
            positions.append(pos.flatten(1).transpose(0, 1)[None].expand(batch, -1, -1))
            sizes.append((int(h), int(w)))
        query = self.query_feat.weight[None].expand(batch, -1, -1)
        query_pos = self.query_embed.weight[None].expand(batch, -1, -1)
        click_pos = torch.zeros_like(click_tokens)
        cls, mask, iou, onehot, blocked = self.predict(query, mask_features, sizes[0])
        outputs = [(cls, mask, iou, onehot)]
        for i, layer in enumerate(self.transformer_decoder.layers):
            level = i % levels
            blocked = blocked.clone()
            blocked[blocked.all(dim=-1)] = False
            attn_mask = torch.cat([blocked, click_blocked], dim=2)
            memory = torch.cat([inputs[level], click_tokens], dim=1)
            memory_pos = torch.cat([positions[level], click_pos], dim=1)
            query = layer(query, query_pos, memory, memory_pos, attn_mask)
            cls, mask, iou, onehot, blocked = self.predict(
                query, mask_features, sizes[(i + 1) % levels]
            )
            outputs.append((cls, mask, iou, onehot))
        stacked = [torch.stack(items) for items in zip(*outputs, strict=True)]
        return PiClickPredictions(*stacked)


class PiClickModel(ClickSegModel):
    """PiClick network; see the module docstring.

    Parameters
    ----------
    config : PiClickConfig
        Hyper-parameters.
    """

    zoom_in_on_logits = True

    def __init__(self, config: PiClickConfig) -> None:
        super().__init__()
        self.config = config
        self.input_size = (config.img_size, config.img_size)
        click_channels = 3 if config.with_prev_mask else 2
        self.patch_embed_coords = PatchEmbed(config.patch_size, click_channels, config.embed_dim)
        self.backbone = PlainViT.from_config(config)
        self.neck = SimpleFPN(config.embed_dim, config.neck_out_dims)
        self.head = PiClickHead(config)
        self.positive_positional_embed = nn.Embedding(1, 2 * config.pe_feats)
        self.negative_positional_embed = nn.Embedding(1, 2 * config.pe_feats)
        self.register_normalisation(config.norm_mean, config.norm_std)

    def click_embedding(
        self, points: torch.Tensor, size: tuple[int, int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Click tokens (B, 2M, C) and their padding mask (B, 2M) (official layout).

        A click's token is the sine encoding of its (truncated) pixel plus the learned
        positive or negative embedding; padded or out-of-image clicks get zeros and are masked.
        """
        height, width = size
        index = points.long()
        rows, cols, flags = index[..., 0], index[..., 1], index[..., 2]
        valid = (flags != -1) & (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
        feats = self.config.pe_feats
        pos_y = _sine_terms(_normalised(rows.clamp(0, height - 1), height), feats)
        pos_x = _sine_terms(_normalised(cols.clamp(0, width - 1), width), feats)
        tokens = torch.cat([pos_y, pos_x], dim=-1)
        half = points.shape[1] // 2
        kind = torch.cat(
            [
                self.positive_positional_embed.weight[0].expand(half, -1),
                self.negative_positional_embed.weight[0].expand(points.shape[1] - half, -1),
            ]
        )
        tokens = torch.where(valid[..., None], tokens + kind, torch.zeros_like(tokens))
        return tokens, ~valid

    def predictions(
        self, image: torch.Tensor, prev_mask: torch.Tensor, points: torch.Tensor
    ) -> PiClickPredictions:
        """Raw predictions of every decoder step, masks at 1/4 of the input (query order)."""
        return self._predictions(self.encode_image(image), prev_mask, points)

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """(B, N, D) patch tokens of the image alone, reusable between clicks."""
        return self.backbone.embed(self.normalise(image))

    def _predictions(
        self, image_tokens: torch.Tensor, prev_mask: torch.Tensor, points: torch.Tensor
    ) -> PiClickPredictions:
        size = (int(prev_mask.shape[-2]), int(prev_mask.shape[-1]))
        config = self.config
        grid = (size[0] // config.patch_size, size[1] // config.patch_size)
        tokens = image_tokens
        maps = click_maps(prev_mask, points, size, config.disk_radius, config.with_prev_mask)
        tokens = tokens + self.patch_embed_coords(maps)
        tokens = tokens + self.backbone.positional_embedding(grid)
        tokens = self.backbone.forward_tokens(tokens, grid)
        batch, _, dim = tokens.shape
        feats = self.neck(tokens.transpose(1, 2).reshape(batch, dim, *grid).contiguous())
        click_tokens, click_invalid = self.click_embedding(points, size)
        return self.head(feats, click_tokens.to(feats[0].dtype), click_invalid)

    def forward(
        self, image: torch.Tensor, prev_mask: torch.Tensor, points: torch.Tensor
    ) -> ModelOutput:
        """K candidate mask logits at the input size, best-ranked first, and their scores.

        Parameters
        ----------
        image : torch.Tensor
            (B, 3, H, W) RGB in [0, 1].
        prev_mask : torch.Tensor
            (B, 1, H, W) previous probability map.
        points : torch.Tensor
            (B, 2M, 3) clicks in network-input pixels.

        Returns
        -------
        ModelOutput
            As the official ``select_last_layer``: the final decoder layer's candidates
            sorted by ``sigmoid(iou)``, descending. ``logits`` (B, K, H, W): their masks,
            upsampled bilinearly (``align_corners=True``); ``scores`` (B, K): the target
            reasoning score ``6 sigmoid(iou) + sigmoid(onehot)``; ``match_features`` (B, K):
            the class probability ``softmax(cls)[..., 0]`` used to pair flipped candidates.
        """
        return self.decode(self.encode_image(image), prev_mask, points)

    def decode(
        self, image_tokens: torch.Tensor, prev_mask: torch.Tensor, points: torch.Tensor
    ) -> ModelOutput:
        """:meth:`forward` from the image tokens of :meth:`encode_image`."""
        size = (int(prev_mask.shape[-2]), int(prev_mask.shape[-1]))
        pred = self._predictions(image_tokens, prev_mask, points)
        iou = pred.iou_logits[-1, ..., 0].sigmoid()
        order = torch.sort(iou, dim=1, descending=True).indices
        masks = torch.gather(
            pred.mask_logits[-1], 1, order[..., None, None].expand_as(pred.mask_logits[-1])
        )
        logits = F.interpolate(masks, size=size, mode="bilinear", align_corners=True)
        scores = 6 * iou + pred.onehot_logits[-1, ..., 0].sigmoid()
        class_probs = pred.cls_logits[-1].softmax(dim=-1)[..., 0]
        return ModelOutput(
            logits=logits,
            scores=torch.gather(scores, 1, order),
            match_features=torch.gather(class_probs, 1, order),
        )


def is_piclick_state_dict(state_dict) -> bool:
    """Whether a state_dict holds PiClick weights."""
    return "head.transformer_decoder.post_norm.weight" in state_dict


def _plain(obj):
    """Official configs as builtins: EasyDict placeholders become dicts (recursively)."""
    from napari_clickseg.models.safe_pickle import is_placeholder

    if is_placeholder(obj):
        state = getattr(obj, "state", None)
        obj = state if isinstance(state, dict) else dict(getattr(obj, "dict_items", None) or {})
    if isinstance(obj, dict):
        return {key: _plain(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_plain(value) for value in obj)
    return obj


def _size(value) -> int:
    return int(value[0] if isinstance(value, list | tuple) else value)


def config_from_official(params: dict, state_dict) -> PiClickConfig:
    """Our config for an official PiClick checkpoint.

    Widths and depths are read from the tensor shapes; head counts, sampling points, GroupNorm
    groups and the ViT head count come from the pickled config (``params``: name -> value,
    EasyDict placeholders allowed), with the official ViT-B values as fallbacks.
    """
    params = _plain(params)
    backbone = params.get("backbone_params") or {}
    head = params.get("head_params") or {}
    pixel = head.get("pixel_decoder") or {}
    encoder = (pixel.get("encoder") or {}).get("transformerlayers") or {}
    enc_attn = encoder.get("attn_cfgs") or {}
    decoder = (head.get("transformer_decoder") or {}).get("transformerlayers") or {}
    dec_attn = decoder.get("attn_cfgs") or {}
    patch = state_dict["backbone.patch_embed.proj.weight"]
    embed_dim, patch_size = int(patch.shape[0]), int(patch.shape[-1])
    grid = round((state_dict["backbone.pos_embed"].shape[1] - 1) ** 0.5)

    def count(prefix: str) -> int:
        n = len(prefix.split("."))
        return 1 + max(int(k.split(".")[n - 1]) for k in state_dict if k.startswith(prefix))

    query = state_dict["head.query_feat.weight"]
    feat = int(query.shape[1])
    enc_heads = int(enc_attn.get("num_heads", 8))
    levels = int(state_dict["head.pixel_decoder.level_encoding.weight"].shape[0])
    weights = int(
        state_dict[
            "head.pixel_decoder.encoder.layers.0.attentions.0.attention_weights.weight"
        ].shape[0]
    )
    defaults = PiClickConfig()
    mean_std = params.get("norm_mean_std") or (defaults.norm_mean, defaults.norm_std)
    return PiClickConfig(
        img_size=_size(backbone.get("img_size", grid * patch_size)),
        patch_size=patch_size,
        embed_dim=embed_dim,
        depth=count("backbone.blocks."),
        num_heads=int(backbone.get("num_heads", max(1, embed_dim // 64))),
        mlp_ratio=float(state_dict["backbone.blocks.0.mlp.fc1.weight"].shape[0]) / embed_dim,
        neck_out_dims=tuple(
            int(state_dict[f"neck.{key}.weight"].shape[0])
            for key in ("down_4.5", "down_8.2", "down_16.0", "down_32.2")
        ),
        feat_channels=feat,
        mask_channels=int(state_dict["head.pixel_decoder.mask_feature.weight"].shape[0]),
        num_queries=int(query.shape[0]),
        num_classes=int(state_dict["head.cls_embed.weight"].shape[0]) - 1,
        gn_groups=int((pixel.get("norm_cfg") or {}).get("num_groups", 32)),
        num_levels=levels,
        encoder_layers=count("head.pixel_decoder.encoder.layers."),
        encoder_heads=enc_heads,
        encoder_points=weights // (enc_heads * levels),
        encoder_ffn=int(
            state_dict["head.pixel_decoder.encoder.layers.0.ffns.0.layers.1.weight"].shape[1]
        ),
        decoder_layers=count("head.transformer_decoder.layers."),
        decoder_heads=int(dec_attn.get("num_heads", 8)),
        decoder_ffn=int(
            state_dict["head.transformer_decoder.layers.0.ffns.0.layers.1.weight"].shape[1]
        ),
        pe_feats=int(state_dict["positive_positional_embed.weight"].shape[1]) // 2,
        disk_radius=float(params.get("norm_radius", 5.0)),
        with_prev_mask=int(state_dict["patch_embed_coords.proj.weight"].shape[1]) == 3,
        norm_mean=tuple(float(v) for v in mean_std[0]),
        norm_std=tuple(float(v) for v in mean_std[1]),
    )
