"""Named model variants and building a model from a config.

``VARIANTS`` holds the official SimpleClick backbones at 448 px (reference table of the
official ``plainvit_*448_*`` configs). Other architectures register here too.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from napari_clickseg.models.icmformer import ICMFormerConfig, ICMFormerModel
from napari_clickseg.models.icmformer_swin import ICMFormerSwinConfig, ICMFormerSwinModel
from napari_clickseg.models.interface import ClickSegModel
from napari_clickseg.models.piclick import PiClickConfig, PiClickModel
from napari_clickseg.models.simpleclick import SimpleClickConfig, SimpleClickModel

VARIANTS: dict[str, Any] = {
    "xtiny": SimpleClickConfig(
        patch_size=16, embed_dim=160, depth=8, num_heads=4,
        neck_out_dims=(96, 192, 288, 384), head_channels=128,
    ),
    "vit_base": SimpleClickConfig(
        patch_size=16, embed_dim=768, depth=12, num_heads=12,
        neck_out_dims=(128, 256, 512, 1024), head_channels=256,
    ),
    "vit_large": SimpleClickConfig(
        patch_size=16, embed_dim=1024, depth=24, num_heads=16,
        neck_out_dims=(192, 384, 768, 1536), head_channels=256,
    ),
    "vit_huge": SimpleClickConfig(
        patch_size=14, embed_dim=1280, depth=32, num_heads=16,
        neck_out_dims=(240, 480, 960, 1920), head_channels=256,
    ),
}  # fmt: skip

#: iCMFormer ViT variants (official configs ``icmformer_plainvit_{base,large,huge}448``):
#: the SimpleClick backbones plus depth // 6 + 1 cross-modality blocks. No weights are released.
ICMFORMER_VARIANTS: dict[str, ICMFormerConfig] = {
    f"icmformer_{name}": ICMFormerConfig(**dataclasses.asdict(VARIANTS[name]))
    for name in ("vit_base", "vit_large", "vit_huge")
}
VARIANTS.update(ICMFORMER_VARIANTS)

#: iCMFormer Swin variants (official configs ``icmformer_swinformer_base384`` and
#: ``icmformer_swinformer_small224``; the latter is Swin-S widths with Swin-B's depths, window
#: 12). 8 cross blocks at the stage-2 input. No weights are released.
ICMFORMER_SWIN_VARIANTS: dict[str, ICMFormerSwinConfig] = {
    "icmformer_swin_base": ICMFormerSwinConfig(
        img_size=384, embed_dim=128, depths=(2, 2, 18, 2), num_heads=(4, 8, 16, 32),
        window_size=12, head_channels=256,
    ),
    "icmformer_swin_small": ICMFormerSwinConfig(
        img_size=224, embed_dim=96, depths=(2, 2, 18, 2), num_heads=(3, 6, 12, 24),
        window_size=12, head_channels=192,
    ),
}  # fmt: skip
VARIANTS.update(ICMFORMER_SWIN_VARIANTS)

#: PiClick variants (official configs ``piclick_{base,large,huge}448_cocolvis_itermask``): the
#: SimpleClick ViTs with a Mask2Former head of 7 queries; L and H use a 512-wide head.
PICLICK_VARIANTS: dict[str, PiClickConfig] = {
    "piclick_vit_base": PiClickConfig(),
    "piclick_vit_large": PiClickConfig(
        patch_size=16, embed_dim=1024, depth=24, num_heads=16,
        neck_out_dims=(192, 384, 768, 1536), feat_channels=512, mask_channels=512,
        encoder_ffn=2048, pe_feats=256,
    ),
    "piclick_vit_huge": PiClickConfig(
        patch_size=14, embed_dim=1280, depth=32, num_heads=16,
        neck_out_dims=(240, 480, 960, 1920), feat_channels=512, mask_channels=512,
        encoder_ffn=2048, pe_feats=256,
    ),
}  # fmt: skip
VARIANTS.update(PICLICK_VARIANTS)

#: Architecture name -> (config class, model class).
ARCHITECTURES: dict[str, tuple[type, type[ClickSegModel]]] = {
    "simpleclick": (SimpleClickConfig, SimpleClickModel),
    "icmformer": (ICMFormerConfig, ICMFormerModel),
    "icmformer_swin": (ICMFormerSwinConfig, ICMFormerSwinModel),
    "piclick": (PiClickConfig, PiClickModel),
}


def build_model(config: Any) -> ClickSegModel:
    """Build an (untrained) model from a config object.

    Parameters
    ----------
    config : dataclass
        A config of a registered architecture, e.g. ``VARIANTS['vit_base']``.

    Returns
    -------
    ClickSegModel
        The network in eval mode with freshly initialised weights.
    """
    for config_class, model_class in ARCHITECTURES.values():
        if type(config) is config_class:
            return model_class(config).eval()
    raise TypeError(f"no architecture is registered for config type {type(config).__name__}")


def variant_config(name: str, **overrides: Any) -> Any:
    """Config of a named variant, optionally with fields replaced.

    Parameters
    ----------
    name : str
        One of ``VARIANTS``.
    **overrides
        Config fields to replace, e.g. ``img_size=672``.
    """
    if name not in VARIANTS:
        raise KeyError(f"unknown variant {name!r}; known variants: {', '.join(VARIANTS)}")
    return dataclasses.replace(VARIANTS[name], **overrides)


def config_to_dict(config: Any) -> dict[str, Any]:
    """Serialisable dict of a config, with its architecture name."""
    data = dataclasses.asdict(config)
    data["architecture"] = config.architecture
    return data


def config_from_dict(data: dict[str, Any]) -> Any:
    """Inverse of :func:`config_to_dict`.

    Raises
    ------
    ValueError
        For an unknown architecture or fields the config class does not have.
    """
    data = dict(data)
    architecture = data.pop("architecture", None)
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"config names architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}"
        )
    config_class = ARCHITECTURES[architecture][0]
    names = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"config for {architecture} has unknown fields: {', '.join(unknown)}")
    for f in dataclasses.fields(config_class):
        if f.name in data and isinstance(data[f.name], list):
            data[f.name] = tuple(data[f.name])
    return config_class(**data)
