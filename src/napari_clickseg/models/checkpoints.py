"""Loading and saving model weights.

Three sources are understood:

- official research checkpoints (SimpleClick, CFR-ICL, iCMFormer ViT): ``torch.save``d dicts
  ``{'state_dict': ..., 'config': ...}`` whose config pickles research-code objects. They
  are read by :mod:`napari_clickseg.models.safe_pickle`, which never executes code from
  the file, and loaded strictly;
- the project's own format: a safetensors file whose metadata holds the JSON config;
- names from the weights registry (:mod:`napari_clickseg.models.weights`), fetched to the
  cache and verified.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from napari_clickseg.models import icmformer_swin, piclick
from napari_clickseg.models.errors import (
    CheckpointError,
    CheckpointMismatchError,
    NotACheckpointError,
)
from napari_clickseg.models.icmformer import ICMFormerConfig
from napari_clickseg.models.interface import ClickSegModel
from napari_clickseg.models.registry import (
    build_model,
    config_from_dict,
    config_to_dict,
)
from napari_clickseg.models.simpleclick import SimpleClickConfig

#: Metadata key of the project's safetensors files.
FORMAT_NAME = "napari-clickseg"
FORMAT_VERSION = "1"

#: Official model classes and the architecture each maps to.
OFFICIAL_CLASSES = {
    "isegm.model.is_plainvit_model.PlainVitModel": "simpleclick",
    "isegm.model.is_icmformer_plainvit_model.PlainVitModel": "icmformer",
    icmformer_swin.OFFICIAL_CLASS: "icmformer_swin",
    piclick.OFFICIAL_CLASS: "piclick",
}

#: Architectures whose modules read their own official files: (description, official class,
#: "are these its weights?", config builder taking (params, state_dict, path)).
_SELF_DESCRIBING = (
    (
        "a PiClick model",
        piclick.OFFICIAL_CLASS,
        piclick.is_piclick_state_dict,
        lambda params, state_dict, path: piclick.config_from_official(params, state_dict),
    ),
    (
        "an iCMFormer Swin model",
        icmformer_swin.OFFICIAL_CLASS,
        icmformer_swin.is_swin_state_dict,
        icmformer_swin.config_from_official,
    ),
)

#: Heads per width for the released ViTs (head count cannot be read from shapes).
_HEADS_BY_WIDTH = {160: 4, 768: 12, 1024: 16, 1280: 16}

_MAX_LISTED = 12


def load_model(
    source: str | Path,
    device: str | torch.device | None = None,
) -> ClickSegModel:
    """Load a model from a checkpoint file or a registry name.

    Parameters
    ----------
    source : str or Path
        A path to an official ``.pth`` checkpoint (SimpleClick, CFR-ICL), a path to one of
        our ``.safetensors`` files, or a name from
        :data:`napari_clickseg.models.weights.KNOWN_WEIGHTS` (downloaded to the cache).
    device : str or torch.device, optional
        Where to put the model; CPU when omitted.

    Returns
    -------
    ClickSegModel
        The model in eval mode, with gradients disabled.

    Raises
    ------
    CheckpointError
        For a file that is not a checkpoint, is unsafe, or does not fit its architecture.
    """
    path = Path(source)
    if not path.exists():
        from napari_clickseg.models.weights import resolve_weights

        path = resolve_weights(str(source))
    model = load_own_model(path) if _is_safetensors(path) else load_official_model(path)
    model.requires_grad_(False)
    return model.to(device if device is not None else "cpu").eval()


def load_official_model(path: str | Path) -> ClickSegModel:
    """Build and strictly load a model from an official research checkpoint.

    Parameters
    ----------
    path : str or Path
        A file written by the official ``save_checkpoint``.

    Returns
    -------
    ClickSegModel
        The model on the CPU in eval mode.
    """
    from napari_clickseg.models.safe_pickle import load_pickled_checkpoint

    path = Path(path)
    checkpoint = load_pickled_checkpoint(path)
    if isinstance(checkpoint, list):
        raise CheckpointError(
            f"{path} holds {len(checkpoint)} models (a multi-stage checkpoint); only "
            "single-model checkpoints are supported"
        )
    if not isinstance(checkpoint, Mapping) or "state_dict" not in checkpoint:
        keys = list(checkpoint)[:8] if isinstance(checkpoint, Mapping) else []
        raise NotACheckpointError(
            f"{path} is a pickle but not a model checkpoint: expected a dict with a "
            f"'state_dict' entry, found {type(checkpoint).__name__} with keys {keys}"
        )
    state_dict = _strip_prefix(checkpoint["state_dict"], "module.")
    config = official_config(checkpoint.get("config"), state_dict, path)
    model = build_model(config)
    load_state_dict_strict(model, state_dict, path)
    return model


def official_config(
    official: Any, state_dict: Mapping[str, torch.Tensor], path: str | Path = "checkpoint"
) -> Any:
    """Our config for an official checkpoint, from its serialised config or its keys.

    Parameters
    ----------
    official : dict or None
        ``checkpoint['config']`` as written by the official ``@serialize`` decorator:
        ``{'class': ..., 'params': {name: {'type', 'value', 'specified'}}}``. When it is
        missing the architecture is read from the tensor shapes alone.
    state_dict : mapping
        The checkpoint's weights.
    path : str or Path
        Used in error messages.

    Returns
    -------
    SimpleClickConfig or ICMFormerConfig
        The config to build the model with (ICMFormerSwinConfig for iCMFormer Swin files).
    """
    class_name = official.get("class") if isinstance(official, Mapping) else None
    for label, official_class, matches, from_official in _SELF_DESCRIBING:
        owns_weights = matches(state_dict)
        if not owns_weights and class_name != official_class:
            continue
        if class_name not in (None, official_class) or not owns_weights:
            raise CheckpointMismatchError(
                f"{path} names class {class_name} but its weights are "
                f"{'' if owns_weights else 'not '}those of {label}"
            )
        params = {}
        if isinstance(official, Mapping) and "params" in official:
            params = {name: entry.get("value") for name, entry in official["params"].items()}
        if params.get("use_disks") is False:
            raise CheckpointError(f"{path} encodes clicks as distance maps (use_disks=False)")
        return from_official(params, state_dict, path)
    inferred = _config_from_shapes(state_dict, path)
    if not isinstance(official, Mapping) or "params" not in official:
        return inferred
    class_name = official.get("class")
    if class_name not in OFFICIAL_CLASSES:
        raise CheckpointError(
            f"{path} was saved from model class {class_name!r}; supported classes: "
            f"{', '.join(OFFICIAL_CLASSES)}"
        )
    params = {name: entry.get("value") for name, entry in official["params"].items()}
    backbone = params.get("backbone_params") or {}
    neck = params.get("neck_params") or {}
    head = params.get("head_params") or {}
    if params.get("use_disks") is False:
        raise CheckpointError(
            f"{path} encodes clicks as distance maps (use_disks=False); only the disk "
            "encoding of the released SimpleClick models is supported"
        )
    if OFFICIAL_CLASSES[class_name] != inferred.architecture:
        raise CheckpointMismatchError(
            f"{path} names class {class_name} but its weights are those of a "
            f"{inferred.architecture} model"
        )
    mean_std = params.get("norm_mean_std") or (inferred.norm_mean, inferred.norm_std)
    return type(inferred)(
        img_size=_first(backbone.get("img_size", inferred.img_size)),
        patch_size=_first(backbone.get("patch_size", inferred.patch_size)),
        embed_dim=int(backbone.get("embed_dim", inferred.embed_dim)),
        depth=int(backbone.get("depth", inferred.depth)),
        num_heads=int(backbone.get("num_heads", inferred.num_heads)),
        mlp_ratio=float(backbone.get("mlp_ratio", inferred.mlp_ratio)),
        neck_out_dims=tuple(int(v) for v in neck.get("out_dims", inferred.neck_out_dims)),
        head_channels=int(head.get("channels", inferred.head_channels)),
        upsample=str(head.get("upsample", inferred.upsample)),
        disk_radius=float(params.get("norm_radius", inferred.disk_radius)),
        with_prev_mask=bool(params.get("with_prev_mask", inferred.with_prev_mask)),
        norm_mean=tuple(float(v) for v in mean_std[0]),
        norm_std=tuple(float(v) for v in mean_std[1]),
        **_extra_fields(inferred),
    )


def _extra_fields(config: SimpleClickConfig) -> dict[str, Any]:
    """Fields beyond SimpleClick's that only the weights tell (iCMFormer's cross blocks)."""
    if isinstance(config, ICMFormerConfig):
        return {"num_cross_blocks": config.num_cross_blocks}
    return {}


def _first(value: Any) -> int:
    """Official sizes are (h, w) pairs; our configs are square."""
    if isinstance(value, list | tuple):
        if len(set(value)) != 1:
            raise CheckpointError(f"non-square size {tuple(value)} is not supported")
        value = value[0]
    return int(value)


def _config_from_shapes(
    state_dict: Mapping[str, torch.Tensor], path: str | Path
) -> SimpleClickConfig:
    """Read a SimpleClick or iCMFormer (ViT) config off the weight shapes of a state_dict."""
    required = [
        "backbone.patch_embed.proj.weight",
        "backbone.pos_embed",
        "patch_embed_coords.proj.weight",
        "neck.down_4.5.weight",
        "neck.down_8.2.weight",
        "neck.down_16.0.weight",
        "neck.down_32.2.weight",
        "head.conv_seg.weight",
        "head.convs.0.conv.weight",
    ]
    missing = [key for key in required if key not in state_dict]
    if missing:
        raise CheckpointMismatchError(
            f"{path} does not look like a SimpleClick checkpoint: missing "
            f"{_listing(missing)}; first keys found: {_listing(list(state_dict)[:6])}"
        )
    patch_weight = state_dict["backbone.patch_embed.proj.weight"]
    embed_dim, patch_size = int(patch_weight.shape[0]), int(patch_weight.shape[-1])
    depth = 1 + max(
        (int(key.split(".")[2]) for key in state_dict if key.startswith("backbone.blocks.")),
        default=-1,
    )
    grid = round((state_dict["backbone.pos_embed"].shape[1] - 1) ** 0.5)
    fc1 = state_dict.get("backbone.blocks.0.mlp.fc1.weight")
    channels = int(state_dict["head.conv_seg.weight"].shape[1])
    width = int(state_dict["head.convs.0.conv.weight"].shape[0])
    upsample = {1: "x1", 2: "x2", 4: "x4"}.get(width // max(channels, 1), "x1")
    cross_blocks = {int(k.split(".")[2]) for k in state_dict if k.startswith("backbone.blocks2.")}
    config_class, extra = SimpleClickConfig, {}
    if cross_blocks:
        config_class, extra = ICMFormerConfig, {"num_cross_blocks": max(cross_blocks) + 1}
    return config_class(
        img_size=grid * patch_size,
        patch_size=patch_size,
        embed_dim=embed_dim,
        depth=depth,
        num_heads=_HEADS_BY_WIDTH.get(embed_dim, max(1, embed_dim // 64)),
        mlp_ratio=float(fc1.shape[0]) / embed_dim if fc1 is not None else 4.0,
        neck_out_dims=tuple(
            int(state_dict[key].shape[0])
            for key in (
                "neck.down_4.5.weight",
                "neck.down_8.2.weight",
                "neck.down_16.0.weight",
                "neck.down_32.2.weight",
            )
        ),
        head_channels=channels,
        upsample=upsample,
        with_prev_mask=int(state_dict["patch_embed_coords.proj.weight"].shape[1]) == 3,
        **extra,
    )


def load_state_dict_strict(
    model: torch.nn.Module, state_dict: Mapping[str, torch.Tensor], path: str | Path
) -> None:
    """Load weights strictly, explaining every missing, unexpected or misshapen key.

    Parameters
    ----------
    model : torch.nn.Module
        The freshly built model.
    state_dict : mapping
        Weights to load.
    path : str or Path
        Used in error messages.

    Raises
    ------
    CheckpointMismatchError
        Listing missing keys, unexpected keys and shape differences.
    """
    expected = model.state_dict()
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    misshapen = [
        f"{key}: file {tuple(state_dict[key].shape)} vs model {tuple(expected[key].shape)}"
        for key in expected
        if key in state_dict and tuple(state_dict[key].shape) != tuple(expected[key].shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing keys ({len(missing)}): {_listing(missing)}")
    if unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {_listing(unexpected)}")
    if misshapen:
        problems.append(f"shape differences ({len(misshapen)}): {_listing(misshapen)}")
    if problems:
        name = type(model).__name__
        raise CheckpointMismatchError(f"{path} does not fit {name}: " + "; ".join(problems))
    model.load_state_dict(dict(state_dict), strict=True)


def save_model(
    model: ClickSegModel, path: str | Path, metadata: Mapping[str, str] | None = None
) -> Path:
    """Save a model in the project's own format (safetensors + JSON config).

    Parameters
    ----------
    model : ClickSegModel
        The model to save.
    path : str or Path
        Target file; ``.safetensors`` is appended when missing. Written atomically.
    metadata : mapping of str to str, optional
        Extra text to store (training data, recipe, ...).

    Returns
    -------
    Path
        The written file.
    """
    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix != ".safetensors":
        path = path.with_name(path.name + ".safetensors")
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "config": json.dumps(config_to_dict(model.config)),
    }
    header.update({str(k): str(v) for k, v in (metadata or {}).items()})
    tensors = {key: value.detach().cpu().contiguous() for key, value in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    save_file(tensors, str(partial), metadata=header)
    partial.replace(path)
    return path


def read_own_metadata(path: str | Path) -> dict[str, str]:
    """Metadata of one of our safetensors files (config JSON included)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except Exception as error:  # safetensors raises its own error types
        raise NotACheckpointError(f"{path} is not a readable safetensors file: {error}") from error
    if metadata.get("format") != FORMAT_NAME or "config" not in metadata:
        raise NotACheckpointError(
            f"{path} is a safetensors file but not a napari-clickseg model: its metadata "
            f"lacks format={FORMAT_NAME!r} and a config"
        )
    return dict(metadata)


def load_own_model(path: str | Path) -> ClickSegModel:
    """Load a model saved by :func:`save_model`.

    Parameters
    ----------
    path : str or Path
        A ``.safetensors`` file written by :func:`save_model`.

    Returns
    -------
    ClickSegModel
        The model on the CPU in eval mode.
    """
    from safetensors.torch import load_file

    metadata = read_own_metadata(path)
    try:
        config = config_from_dict(json.loads(metadata["config"]))
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"{path} has an invalid config: {error}") from error
    model = build_model(config)
    load_state_dict_strict(model, load_file(str(path)), path)
    model.inference_defaults = _inference_defaults(metadata, path)
    return model


#: Metadata key of the inference settings a file recommends (JSON object).
INFERENCE_KEY = "inference"


def write_inference_defaults(
    source: str | Path, target: str | Path, values: Mapping[str, object]
) -> Path:
    """Copy one of our model files with the inference settings it recommends.

    The tensors and every other metadata entry are copied unchanged; ``values`` replaces the
    ``inference`` entry (read back as ``model.inference_defaults`` by :func:`load_own_model`).

    Parameters
    ----------
    source : str or Path
        A file written by :func:`save_model`.
    target : str or Path
        Where to write the copy (may be ``source``; written atomically).
    values : mapping
        JSON-serialisable settings, e.g. ``{"cfr": {"steps": 4, "adaptive": True}}``.

    Returns
    -------
    Path
        The written file.
    """
    from safetensors.torch import load_file, save_file

    metadata = read_own_metadata(source)
    if not isinstance(values, Mapping):
        raise TypeError(f"inference settings must be a mapping, got {type(values).__name__}")
    metadata[INFERENCE_KEY] = json.dumps(dict(values), sort_keys=True)
    tensors = load_file(str(source))
    target = Path(target)
    partial = target.with_name(target.name + ".partial")
    save_file(tensors, str(partial), metadata=metadata)
    partial.replace(target)
    return target


def _inference_defaults(metadata: Mapping[str, str], path: str | Path) -> dict[str, object]:
    """The ``inference`` metadata of one of our files as a dict (empty when absent)."""
    text = metadata.get(INFERENCE_KEY)
    if text is None:
        return {}
    try:
        values = json.loads(text)
    except ValueError as error:
        raise CheckpointError(f"{path} has invalid inference metadata: {error}") from error
    if not isinstance(values, dict):
        raise CheckpointError(
            f"{path} has invalid inference metadata: expected a JSON object, got {text[:80]!r}"
        )
    return values


def _is_safetensors(path: Path) -> bool:
    if path.is_dir():
        raise NotACheckpointError(f"{path} is a directory; expected a checkpoint file")
    if path.suffix == ".safetensors":
        return True
    # A safetensors file starts with an 8-byte header length and then '{'.
    with open(path, "rb") as handle:
        head = handle.read(9)
    return len(head) == 9 and head[8:9] == b"{"


def _strip_prefix(state_dict: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    if state_dict and all(key.startswith(prefix) for key in state_dict):
        return {key[len(prefix) :]: value for key, value in state_dict.items()}
    return dict(state_dict)


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f", ... ({len(items) - _MAX_LISTED} more)" if len(items) > _MAX_LISTED else "")
