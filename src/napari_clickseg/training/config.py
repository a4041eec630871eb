"""The training configuration: a TOML (or YAML) file read into checked dataclasses.

A minimal file::

    output_dir = "runs/my_cells"

    [model]
    init = "xtiny"                 # a variant name, or a checkpoint to fine-tune

    [[data.train]]
    spec = "folder:/data/my_cells"  # anything ``open_dataset`` opens, or "synthetic:<kind>"

    [[data.val]]
    spec = "synthetic:em_cells"
    options = { seed = 100 }

Every section and field is optional except ``output_dir``, ``model.init`` and one training
source; unknown fields, wrong types and impossible values raise :class:`ConfigError` naming the
field. Defaults follow the official SimpleClick recipe (Adam, lr 5e-5, MultiStepLR with
gamma 0.1, 24 initial points, up to 3 simulated error clicks, NFL loss).
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "PROJECT_HOLDOUT",
    "CheckpointSection",
    "ConfigError",
    "DataSection",
    "DataSource",
    "LoopSection",
    "ModelSection",
    "OptimSection",
    "TrainConfig",
    "ValidationSection",
    "config_to_dict",
    "load_config",
    "parse_config",
]

#: The project's benchmark hold-out: never trained on while ``data.project_holdout`` is true.
#: Rules are ``"<kind>:<field>=<values>"``, see :mod:`napari_clickseg.training.dataset`.
PROJECT_HOLDOUT: tuple[str, ...] = (
    "isbi:slice=20-29",
    "brats:case=Brats18_TCIA05_396_1",
    # the same case reached through another adapter (pre-sliced PNGs, a renamed folder)
    "*:name=*Brats18_TCIA05_396_1*",
)

PRECISIONS = ("auto", "float32", "bfloat16", "float16")
OPTIMIZERS = ("adam", "adamw")


class ConfigError(ValueError):
    """A training configuration file or value is invalid; the message names the field."""


@dataclass(frozen=True)
class ModelSection:
    """Which network to train.

    Attributes
    ----------
    init : str
        A variant name of :data:`napari_clickseg.models.registry.VARIANTS` (fresh weights), or
        a checkpoint :func:`napari_clickseg.models.checkpoints.load_model` reads (an official
        SimpleClick / CFR-ICL ``.pth``, one of our ``.safetensors``, a known weights name) to
        fine-tune.
    overrides : dict
        Config fields replaced in a fresh variant, e.g. ``{img_size = 224}``; for a
        checkpoint only ``img_size`` (its positional embedding is resized to the new grid).
    """

    init: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DataSource:
    """One source of objects.

    Attributes
    ----------
    spec : str
        ``"<kind>:<path>"`` or a folder for :func:`napari_clickseg.data.registry.open_dataset`,
        or ``"synthetic:<kind>"`` with kind ``em_cells``, ``em_mitochondria``, ``brain`` or
        ``knee``.
    options : dict
        Adapter keyword arguments (e.g. ``{target = "core", slices = "all"}`` for BraTS) or
        generator options (``seed``, ``volumes``, ``shape``, ``slice_step``).
    weight : float or None
        Training sources only: this source's share of the drawn samples (relative to the
        other sources' weights). Without weights every image of every source is drawn
        equally often, so a source with many images dominates; set a weight on every
        training source or on none.
    """

    spec: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    weight: float | None = None


@dataclass(frozen=True)
class DataSection:
    """Training and validation data.

    Attributes
    ----------
    train, val : list of DataSource
        Training sources (at least one) and validation sources (optional; no validation
        without them).
    exclude : list of str
        Hold-out rules ``"<kind>:<field>=<values>"``; matching objects are never trained on.
    project_holdout : bool
        Also exclude :data:`PROJECT_HOLDOUT` (the benchmark slices and case).
    crop_size : int or None
        Side of the square training crops; the model's input size when None.
    scale_range : tuple of float
        Random rescaling of each image (official C+L: 0.75-1.40).
    whole_view_prob, zoom_view_prob : float
        Probabilities that a crop is instead the predictor's first-click view (the whole
        image resized to the input) or its zoomed view of the object (its box expanded,
        resized to the input); 0 (the official recipe) disables them
        (:class:`~napari_clickseg.training.dataset.PredictorView`).
    min_object_area : int
        Crops whose object keeps fewer pixels are drawn again.
    merge_objects_prob : float
        Probability that the target is the union of two objects of the same image (0.15).
    augment : bool
        Use the flip / photometric augmentations.
    copy_paste_prob : float
        SUEM copy-paste probability (CFR-ICL: 0.5; 0 disables it).
    val_max_objects : int or None
        Validate on at most this many objects (a fixed, seeded choice).
    """

    train: list[DataSource] = field(default_factory=list)
    val: list[DataSource] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    project_holdout: bool = True
    crop_size: int | None = None
    scale_range: tuple[float, float] = (0.75, 1.40)
    whole_view_prob: float = 0.0
    zoom_view_prob: float = 0.0
    min_object_area: int = 16
    merge_objects_prob: float = 0.15
    augment: bool = True
    copy_paste_prob: float = 0.0
    val_max_objects: int | None = 50


@dataclass(frozen=True)
class OptimSection:
    """Optimiser and learning-rate schedule (official: Adam, 5e-5, MultiStepLR gamma 0.1).

    Attributes
    ----------
    optimizer : {'adam', 'adamw'}
        Adam as the official code, or AdamW (decoupled weight decay).
    lr : float
        Learning rate (official: 5e-5 from MAE; CFR-ICL fine-tuning: 5e-6).
    backbone_lr_mult : float
        Factor on the ViT backbone's learning rate (1 in the official recipe).
    weight_decay : float
        Weight decay (0 in the official recipe).
    betas : tuple of float
        Adam betas.
    milestones : list of int
        Epochs after which the learning rate is multiplied by ``gamma``.
    gamma : float
        MultiStepLR factor.
    max_grad_norm : float or None
        Clip the gradient norm (None: no clipping, as official).
    """

    optimizer: str = "adam"
    lr: float = 5e-5
    backbone_lr_mult: float = 1.0
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    milestones: list[int] = field(default_factory=list)
    gamma: float = 0.1
    max_grad_norm: float | None = None


@dataclass(frozen=True)
class LoopSection:
    """The training loop.

    Attributes
    ----------
    epochs : int
        Number of epochs.
    samples_per_epoch : int
        Samples drawn per epoch over all processes (official ``epoch_len``: 30000).
    batch_size : int
        Samples per optimiser step over all processes (before accumulation); divided among
        the processes of a ``torchrun`` job.
    accumulate : int
        Micro-batches whose gradients are summed before one optimiser step.
    precision : {'auto', 'float32', 'bfloat16', 'float16'}
        'auto' is bfloat16 autocast on a CUDA GPU that has it (else float16 with a gradient
        scaler) and float32 on CPU.
    device : str
        'auto', 'cpu', 'cuda' or 'cuda:N' (ignored under torchrun, which picks ``LOCAL_RANK``).
    max_num_points : int
        Initial clicks drawn per sample at most, per sign (official: 24).
    max_extra_clicks : int
        Up to this many simulated error clicks per batch (official: 3).
    iterative_loss : bool
        CFR-ICL's iterative click loss: 1..max_extra_clicks passes with gradients, losses
        weighted by ``iterloss_weights``; otherwise SimpleClick's 0..max_extra_clicks
        no-grad passes in eval mode before one loss pass.
    iterloss_weights : list of float
        Weights of the passes' losses with ``iterative_loss`` (official: 1, 2, 3).
    num_workers : int
        DataLoader worker processes.
    seed : int
        Seeds sampling, augmentation and initialisation.
    log_every : int
        Write a log line every this many optimiser steps.
    """

    epochs: int = 10
    samples_per_epoch: int = 1000
    batch_size: int = 8
    accumulate: int = 1
    precision: str = "auto"
    device: str = "auto"
    max_num_points: int = 24
    max_extra_clicks: int = 3
    iterative_loss: bool = False
    iterloss_weights: list[float] = field(default_factory=lambda: [1.0, 2.0, 3.0])
    num_workers: int = 0
    seed: int = 0
    log_every: int = 10


@dataclass(frozen=True)
class ValidationSection:
    """NoC validation after each epoch (on ``data.val``).

    Attributes
    ----------
    every : int
        Validate every this many epochs (0: never).
    max_clicks : int
        Click budget per object (20).
    target_iou : float
        IoU that stops an object (0.90).
    metric : str
        What picks the best model: ``noc85``, ``noc90`` or ``noc95`` (lower is better).
    flip : bool
        Average with the horizontally flipped input, as the official evaluation.
    before_training : bool
        Also validate the starting model (epoch 0 of the history), e.g. to see what
        fine-tuning changed.
    """

    every: int = 1
    max_clicks: int = 20
    target_iou: float = 0.90
    metric: str = "noc90"
    flip: bool = True
    before_training: bool = False


@dataclass(frozen=True)
class CheckpointSection:
    """When the resumable training state is written.

    Attributes
    ----------
    every_steps : int
        Also write it every this many optimiser steps (0: only at the end of each epoch).
    keep_epochs : bool
        Keep a copy of the state after each epoch (otherwise only the latest).
    """

    every_steps: int = 0
    keep_epochs: bool = False


@dataclass(frozen=True)
class TrainConfig:
    """A complete training configuration; see the module docstring for the file layout."""

    output_dir: Path = Path()
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    optim: OptimSection = field(default_factory=OptimSection)
    loop: LoopSection = field(default_factory=LoopSection)
    validation: ValidationSection = field(default_factory=ValidationSection)
    checkpoint: CheckpointSection = field(default_factory=CheckpointSection)

    def __post_init__(self) -> None:
        _validate(self)


# ------------------------------------------------------------------------------------------
# reading


def load_config(path: str | Path, **overrides: Any) -> TrainConfig:
    """Read a training configuration from a ``.toml``, ``.yaml`` or ``.yml`` file.

    Parameters
    ----------
    path : str or Path
        The file. A relative ``output_dir`` and relative data paths stay relative to the
        working directory (as on the command line).
    **overrides
        Top-level fields replaced after reading (e.g. ``output_dir``).

    Returns
    -------
    TrainConfig

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ConfigError
        If it cannot be parsed or a field is invalid.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"training config not found: {path}")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(
                f"{path}: unknown config format {suffix!r}; use a .toml, .yaml or .yml file"
            )
    except (tomllib.TOMLDecodeError, ValueError) as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(f"{path} is not valid {suffix[1:].upper()}: {error}") from error
    except Exception as error:  # yaml.YAMLError without importing yaml at module level
        raise ConfigError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    data.update(overrides)
    try:
        return parse_config(data)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None


def parse_config(data: dict[str, Any]) -> TrainConfig:
    """Build a :class:`TrainConfig` from a plain mapping (a parsed file).

    Raises
    ------
    ConfigError
        Naming the field that is unknown, of the wrong type or out of range.
    """
    return _build(TrainConfig, data, "")


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    """Plain JSON-able mapping of a config (inverse of :func:`parse_config`)."""

    def plain(value: Any) -> Any:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        return value

    return plain(config)


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{where or 'the config'} must be a table/mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [key for key in data if key not in names]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(key, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known fields: {', '.join(names)}"
        raise ConfigError(f"unknown field {_join(where, key)!r}{hint}")
    values = {}
    for name in names:
        if name in data:
            values[name] = _convert(data[name], hints[name], _join(where, name))
    return cls(**values)


def _convert(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(value, option, where)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0])
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, where)
    if hint is Path:
        if not isinstance(value, str | Path) or not str(value):
            raise ConfigError(f"{where} must be a non-empty path string, got {value!r}")
        return Path(value)
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        if origin is tuple:
            if len(value) != len(args):
                raise ConfigError(f"{where} must have {len(args)} items, got {list(value)}")
            return tuple(
                _convert(v, a, f"{where}[{i}]")
                for i, (v, a) in enumerate(zip(value, args, strict=True))
            )
        return [_convert(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table/mapping, got {value!r}")
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    return value


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


# ------------------------------------------------------------------------------------------
# checks


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _validate(config: TrainConfig) -> None:
    _require(str(config.output_dir) not in ("", "."), "output_dir must name a folder for the run")
    _require(
        bool(config.model.init), "model.init must name a variant (e.g. 'xtiny') or a checkpoint"
    )
    data, optim, loop, val = config.data, config.optim, config.loop, config.validation
    _require(bool(data.train), "data.train must list at least one source ([[data.train]] spec=...)")
    for section, sources in (("data.train", data.train), ("data.val", data.val)):
        for i, source in enumerate(sources):
            _require(bool(source.spec), f"{section}[{i}].spec must not be empty")
    for i, source in enumerate(data.val):
        _require(
            source.weight is None,
            f"data.val[{i}].weight: weights share out training samples; validation uses "
            "every object of its sources",
        )
    weighted = [source.weight is not None for source in data.train]
    if any(weighted):
        if not all(weighted):
            raise ConfigError(
                f"data.train[{weighted.index(False)}].weight is missing: when one training "
                "source sets a weight (its share of the samples), every training source must"
            )
        for i, source in enumerate(data.train):
            _require(
                source.weight >= 0, f"data.train[{i}].weight must be >= 0, got {source.weight}"
            )
        _require(
            sum(source.weight for source in data.train) > 0,
            "data.train weights are all 0: at least one source must be drawn",
        )
    from napari_clickseg.training.dataset import parse_holdout_rule

    for rule in data.exclude:
        try:
            parse_holdout_rule(rule)
        except ValueError as error:
            raise ConfigError(f"data.exclude: {error}") from None
    if data.crop_size is not None:
        _require(data.crop_size >= 32, f"data.crop_size must be >= 32, got {data.crop_size}")
    low, high = data.scale_range
    _require(0 < low <= high, f"data.scale_range must be 0 < low <= high, got {data.scale_range}")
    _require(data.min_object_area >= 1, "data.min_object_area must be >= 1")
    for name in ("merge_objects_prob", "copy_paste_prob", "whole_view_prob", "zoom_view_prob"):
        p = getattr(data, name)
        _require(0.0 <= p <= 1.0, f"data.{name} must lie in [0, 1], got {p}")
    views = data.whole_view_prob + data.zoom_view_prob
    _require(
        views <= 1.0,
        f"data.whole_view_prob + data.zoom_view_prob must be at most 1, got {views:g}",
    )
    if data.val_max_objects is not None:
        _require(data.val_max_objects >= 1, "data.val_max_objects must be >= 1 or left out")
    _require(
        optim.optimizer in OPTIMIZERS,
        f"optim.optimizer must be one of {OPTIMIZERS}, got {optim.optimizer!r}",
    )
    _require(optim.lr > 0, f"optim.lr must be > 0, got {optim.lr}")
    _require(optim.backbone_lr_mult >= 0, "optim.backbone_lr_mult must be >= 0")
    _require(optim.weight_decay >= 0, "optim.weight_decay must be >= 0")
    _require(
        all(0 <= b < 1 for b in optim.betas), f"optim.betas must lie in [0, 1), got {optim.betas}"
    )
    _require(0 < optim.gamma <= 1, f"optim.gamma must lie in (0, 1], got {optim.gamma}")
    _require(
        list(optim.milestones) == sorted(set(optim.milestones))
        and all(m > 0 for m in optim.milestones),
        f"optim.milestones must be increasing positive epochs, got {optim.milestones}",
    )
    if optim.max_grad_norm is not None:
        _require(optim.max_grad_norm > 0, "optim.max_grad_norm must be > 0 or left out")
    for name in (
        "epochs",
        "samples_per_epoch",
        "batch_size",
        "accumulate",
        "max_num_points",
        "log_every",
    ):
        _require(getattr(loop, name) >= 1, f"loop.{name} must be >= 1, got {getattr(loop, name)}")
    _require(
        loop.samples_per_epoch >= loop.batch_size * loop.accumulate,
        f"loop.samples_per_epoch ({loop.samples_per_epoch}) must be at least batch_size x "
        f"accumulate ({loop.batch_size * loop.accumulate}) for one optimiser step per epoch",
    )
    _require(
        loop.precision in PRECISIONS,
        f"loop.precision must be one of {PRECISIONS}, got {loop.precision!r}",
    )
    _require(loop.max_extra_clicks >= 0, "loop.max_extra_clicks must be >= 0")
    _require(loop.num_workers >= 0, "loop.num_workers must be >= 0")
    if loop.iterative_loss:
        _require(loop.max_extra_clicks >= 1, "loop.iterative_loss needs loop.max_extra_clicks >= 1")
        _require(
            len(loop.iterloss_weights) >= loop.max_extra_clicks,
            f"loop.iterloss_weights needs one weight per pass ({loop.max_extra_clicks}), got "
            f"{loop.iterloss_weights}",
        )
    _require(val.every >= 0, "validation.every must be >= 0")
    _require(val.max_clicks >= 1, "validation.max_clicks must be >= 1")
    _require(
        0 < val.target_iou <= 1, f"validation.target_iou must lie in (0, 1], got {val.target_iou}"
    )
    _require(
        val.metric in ("noc85", "noc90", "noc95"),
        f"validation.metric must be noc85, noc90 or noc95, got {val.metric!r}",
    )
    _require(config.checkpoint.every_steps >= 0, "checkpoint.every_steps must be >= 0")
