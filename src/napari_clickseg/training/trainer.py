"""The training loop: iterative click training of a click-segmentation model.

One optimiser step, as the official trainers do it (SimpleClick ``ISTrainer.batch_forward``,
CFR-ICL's ICL variant):

- a batch of crops with random initial clicks (:class:`~.dataset.ClickTrainDataset`);
- SimpleClick mode: 0..``max_extra_clicks`` passes in eval mode without gradients, each adding a
  click in the larger error region and feeding its prediction back as the prior, then one pass
  with gradients and the normalized focal loss;
- ICL mode (``loop.iterative_loss``): 1..``max_extra_clicks`` passes, all with gradients, the
  prior detached, the losses summed with weights 1, 2, 3.

Around it: Adam(W) with MultiStepLR, autocast (bfloat16 / float16 with a gradient scaler) on
CUDA, gradient accumulation, DistributedDataParallel under ``torchrun``, NoC validation each
epoch through :func:`napari_clickseg.engine.evaluation.evaluate_dataset`, a resumable state
(:mod:`.checkpointing`), JSON-lines and CSV logs, a plot, and the final and best models in the
project's safetensors format.

Outputs in ``output_dir``::

    config.json               the resolved configuration
    log.jsonl                 one JSON object per logged step, epoch and event
    epochs.csv                per epoch: loss, learning rate, validation NoC / mIoU, seconds
    curves.png                training loss and validation NoC
    checkpoints/last.pt       resumable state (``clickseg train --resume``)
    checkpoints/epoch_NNN.pt  with checkpoint.keep_epochs
    model_best.safetensors    lowest validation NoC so far (with validation data)
    model_final.safetensors   after the last epoch
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import time
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from napari_clickseg.training.checkpointing import (
    capture_rng_state,
    load_training_state,
    restore_rng_state,
    save_training_state,
)
from napari_clickseg.training.config import (
    PROJECT_HOLDOUT,
    ConfigError,
    TrainConfig,
    config_to_dict,
)
from napari_clickseg.training.distributed import DistributedContext, init_distributed
from napari_clickseg.training.iterative_clicks import (
    add_error_click,
    draw_num_extra_clicks,
    simulate_clicks,
)
from napari_clickseg.training.losses import iterative_click_loss, normalized_focal_loss

__all__ = [
    "ClickTrainingStep",
    "Trainer",
    "TrainingResult",
    "build_initial_model",
    "training_lineage",
]

#: ``progress(done, total)`` in optimiser steps over the whole run.
Progress = Callable[[int, int], None]


# ------------------------------------------------------------------------------------------
# the model side


def training_lineage(init: str) -> list[dict[str, Any]]:
    """The training stages behind ``model.init``, oldest first.

    Parameters
    ----------
    init : str
        A variant name or a checkpoint.

    Returns
    -------
    list of dict
        One ``{"training_config", "epochs_trained", "steps_trained"}`` per earlier run when
        ``init`` is a model this trainer wrote (its own earlier stages first); empty for a fresh
        variant or a checkpoint from elsewhere.
    """
    from napari_clickseg.models.checkpoints import NotACheckpointError, read_own_metadata
    from napari_clickseg.models.packaged import DEFAULT_MODEL_NAME, default_model_path
    from napari_clickseg.models.registry import VARIANTS

    if init in VARIANTS:
        return []
    path = default_model_path() if init == DEFAULT_MODEL_NAME else Path(init)
    if not path.is_file():
        return []
    try:
        metadata = read_own_metadata(path)
    except NotACheckpointError:
        return []
    if "training_config" not in metadata:
        return []
    stages = json.loads(metadata.get("previous_stages", "[]"))
    stages.append(
        {
            "training_config": json.loads(metadata["training_config"]),
            "epochs_trained": int(metadata.get("epochs_trained", 0)),
            "steps_trained": int(metadata.get("steps_trained", 0)),
        }
    )
    return stages


def build_initial_model(init: str, overrides: dict[str, Any] | None = None) -> nn.Module:
    """The model training starts from: a fresh variant or a loaded checkpoint.

    Parameters
    ----------
    init : str
        A variant name (fresh weights, ``overrides`` applied to its config) or anything
        :func:`~napari_clickseg.models.checkpoints.load_model` loads (fine-tuning).
    overrides : dict, optional
        Config fields of a fresh variant; for a checkpoint only ``img_size`` (the input side
        in pixels), whose positional embedding is then resized bicubically to the new token
        grid, as the official inference resizes it for another input size.

    Returns
    -------
    torch.nn.Module
        The model on the CPU, in train mode, every parameter trainable.
    """
    from napari_clickseg.models.registry import VARIANTS, build_model, variant_config

    if init in VARIANTS:
        try:
            model = build_model(variant_config(init, **(overrides or {})))
        except TypeError as error:
            raise ConfigError(f"model.overrides do not fit variant {init!r}: {error}") from None
    else:
        unknown = sorted(set(overrides or {}) - {"img_size"})
        if unknown:
            raise ConfigError(
                f"model.overrides {unknown} apply to a fresh variant only; {init!r} is a "
                "checkpoint whose config is fixed by its weights (only img_size may change)"
            )
        if not Path(init).exists() and ("/" in init or init.endswith((".pth", ".safetensors"))):
            raise FileNotFoundError(f"model.init: checkpoint not found: {init}")
        from napari_clickseg.models.checkpoints import load_model

        model = load_model(init)
        if overrides:
            model = with_input_size(model, int(overrides["img_size"]))
    if getattr(model.config, "architecture", "") == "piclick":
        raise ConfigError(
            "training PiClick (multi-mask queries with Hungarian matching) is not supported; "
            "train a SimpleClick or iCMFormer model"
        )
    model.requires_grad_(True)
    return model.train()


def with_input_size(model: nn.Module, img_size: int) -> nn.Module:
    """The same weights at another input size (a plain-ViT model).

    Parameters
    ----------
    model : torch.nn.Module
        A SimpleClick-style model whose backbone has an absolute positional embedding.
    img_size : int
        The new input side in pixels, a multiple of the patch size.

    Returns
    -------
    torch.nn.Module
        A new model whose config has ``img_size`` and whose positional embedding is the old
        one resized to the new token grid (its class-token slot kept); every other weight is
        copied unchanged.
    """
    from napari_clickseg.models.registry import build_model

    config = model.config
    if not hasattr(config, "img_size") or not hasattr(model, "backbone"):
        raise ConfigError(
            f"model.overrides img_size: {type(model).__name__} has no plain-ViT input size"
        )
    patch = config.patch_size
    if img_size < patch or img_size % patch:
        raise ConfigError(
            f"model.overrides img_size must be a positive multiple of the patch size {patch}, "
            f"got {img_size}"
        )
    if img_size == config.img_size:
        return model
    resized = build_model(dataclasses.replace(config, img_size=img_size))
    state = model.state_dict()
    grid = (img_size // patch, img_size // patch)
    with torch.no_grad():
        tokens = model.backbone.positional_embedding(grid)
        state["backbone.pos_embed"] = torch.cat([model.backbone.pos_embed[:, :1], tokens], dim=1)
    resized.load_state_dict(state, strict=True)
    return resized


class ClickTrainingStep(nn.Module):
    """Everything of one training step that involves the network, as one module.

    DistributedDataParallel wraps this module, so the simulated click passes and (with ICL)
    several passes with gradients form one forward and one gradient reduction.

    Parameters
    ----------
    model : ClickSegModel
        The network being trained.
    iterative_loss : bool
        CFR-ICL's iterative click loss instead of SimpleClick's no-grad click simulation.
    iterloss_weights : sequence of float
        ICL step weights.
    """

    def __init__(
        self, model: nn.Module, iterative_loss: bool, iterloss_weights: tuple[float, ...]
    ) -> None:
        super().__init__()
        self.model = model
        self.iterative_loss = iterative_loss
        self.iterloss_weights = tuple(iterloss_weights)

    def forward(
        self,
        image: torch.Tensor,
        gt: torch.Tensor,
        points: torch.Tensor,
        num_steps: int,
        rng: np.random.Generator,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss (scalar, float32) and the last pass's logits (B, 1, H, W).

        ``num_steps`` is the number of simulated click passes (SimpleClick mode, 0..3) or of
        passes with gradients (ICL, 1..3).
        """
        if not self.iterative_loss:
            points, prev = simulate_clicks(self.model, image, gt, points, num_steps, rng)
            logits = self.model(image, prev, points).logits.float()
            return normalized_focal_loss(logits, gt).mean(), logits
        prev = torch.zeros_like(image[:, :1])
        step_logits = []
        for k in range(num_steps):
            logits = self.model(image, prev.detach(), points).logits.float()
            step_logits.append(logits)
            prev = torch.sigmoid(logits).detach()
            if k < num_steps - 1:
                points = add_error_click(points, prev, gt, rng)
        return iterative_click_loss(step_logits, gt, self.iterloss_weights), step_logits[-1]


def freeze_unused_parameters(model: nn.Module, size: int, device: torch.device) -> list[str]:
    """Stop training the parameters no output depends on (cls token, classifier head, ...).

    DistributedDataParallel needs every trainable parameter to receive a gradient; released
    SimpleClick models carry a few that the forward never uses. One dummy forward finds them.

    Returns
    -------
    list of str
        Names of the frozen parameters.
    """
    points = torch.full((1, 2, 3), -1.0, device=device)
    points[0, 0] = torch.tensor([size / 2, size / 2, 0.0])
    image = torch.rand(1, 3, size, size, device=device)
    output = model(image, torch.zeros(1, 1, size, size, device=device), points)
    output.logits.float().mean().backward()
    unused = [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None]
    for name, parameter in model.named_parameters():
        parameter.grad = None
        if name in unused:
            parameter.requires_grad_(False)
    return unused


# ------------------------------------------------------------------------------------------
# the trainer


@dataclass
class TrainingResult:
    """What a finished run leaves.

    Attributes
    ----------
    output_dir : Path
        The run folder.
    final_model : Path or None
        ``model_final.safetensors`` (rank 0 only).
    best_model : Path or None
        ``model_best.safetensors`` when validation ran.
    history : list of dict
        One record per epoch (loss, learning rate, validation metrics).
    steps : int
        Optimiser steps taken in all.
    """

    output_dir: Path
    final_model: Path | None
    best_model: Path | None
    history: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0


def _autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    if device.type != "cuda":
        if precision in ("bfloat16", "float16"):
            raise ConfigError(f"loop.precision {precision!r} needs a CUDA GPU; use 'auto'")
        return None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}[precision]


class Trainer:
    """Trains a model as a :class:`~napari_clickseg.training.config.TrainConfig` says.

    Parameters
    ----------
    config : TrainConfig
        The run's configuration.
    resume : str or Path, optional
        A training state (``<output_dir>/checkpoints/last.pt``) to continue from.
    progress : callable, optional
        ``progress(done, total)`` in optimiser steps (rank 0 only).
    context : DistributedContext, optional
        Process placement; read from the ``torchrun`` environment when omitted.
    log : callable, optional
        Receives human-readable status lines (rank 0 only); silent by default.
    """

    def __init__(
        self,
        config: TrainConfig,
        resume: str | Path | None = None,
        progress: Progress | None = None,
        context: DistributedContext | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.ctx = context if context is not None else init_distributed(config.loop.device)
        self.progress = progress if self.ctx.is_main else None
        self._say = log if (log is not None and self.ctx.is_main) else (lambda text: None)
        self.output_dir = Path(config.output_dir)
        self.state_path = self.output_dir / "checkpoints" / "last.pt"
        if resume is None and self.state_path.exists():
            raise FileExistsError(
                f"{self.output_dir} already holds a training run ({self.state_path}); resume it "
                "with --resume or choose another output_dir"
            )
        loop = config.loop
        if loop.batch_size % self.ctx.world_size:
            raise ConfigError(
                f"loop.batch_size {loop.batch_size} must be divisible by the number of "
                f"processes ({self.ctx.world_size})"
            )
        self.batch_per_process = loop.batch_size // self.ctx.world_size
        self.autocast_dtype = _autocast_dtype(loop.precision, self.ctx.device)

        torch.manual_seed(loop.seed)
        self.model = build_initial_model(config.model.init, config.model.overrides)
        self.previous_stages = training_lineage(config.model.init)
        self.model.to(self.ctx.device)
        self.crop_size = int(config.data.crop_size or self.model.input_size[0])
        self.frozen = freeze_unused_parameters(self.model, self.crop_size, self.ctx.device)
        self.step_module = ClickTrainingStep(
            self.model, loop.iterative_loss, tuple(loop.iterloss_weights)
        )
        if self.ctx.distributed:
            device_ids = [self.ctx.device.index] if self.ctx.device.type == "cuda" else None
            self.runner: nn.Module = nn.parallel.DistributedDataParallel(
                self.step_module, device_ids=device_ids
            )
        else:
            self.runner = self.step_module
        self.optimizer = self._make_optimizer()
        self.scheduler = torch.optim.lr_scheduler.MultiStepLR(
            self.optimizer, milestones=list(config.optim.milestones), gamma=config.optim.gamma
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.autocast_dtype == torch.float16)

        self.dataset = self._make_dataset()
        self.sampler = DistributedSampler(
            self.dataset,
            num_replicas=self.ctx.world_size,
            rank=self.ctx.rank,
            shuffle=True,
            seed=loop.seed,
            drop_last=True,
        )
        self.val_objects = self._load_validation() if self.ctx.is_main else []

        self.epoch = 0
        self.micro_done = 0  # micro-batches of the current epoch already trained
        self.global_step = 0
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] = {}
        if resume is not None:
            self._restore(load_training_state(resume))

    # -- setup ---------------------------------------------------------------------------
    def _make_optimizer(self) -> torch.optim.Optimizer:
        optim = self.config.optim
        backbone, rest = [], []
        for name, parameter in self.model.named_parameters():
            if parameter.requires_grad:
                (backbone if name.startswith("backbone.") else rest).append(parameter)
        groups = [{"params": rest, "lr": optim.lr}]
        if backbone:
            groups.append({"params": backbone, "lr": optim.lr * optim.backbone_lr_mult})
        kind = torch.optim.Adam if optim.optimizer == "adam" else torch.optim.AdamW
        return kind(groups, lr=optim.lr, betas=optim.betas, weight_decay=optim.weight_decay)

    def _holdout_rules(self):
        from napari_clickseg.training.dataset import parse_holdout_rule

        rules = list(self.config.data.exclude)
        if self.config.data.project_holdout:
            rules += list(PROJECT_HOLDOUT)
        return [parse_holdout_rule(rule) for rule in rules]

    def _make_dataset(self):
        from napari_clickseg.training.augment import Augmentation
        from napari_clickseg.training.click_sampler import MultiPointSampler
        from napari_clickseg.training.dataset import (
            ClickTrainDataset,
            build_augmentation,
            describe_images,
            image_draw_probabilities,
            load_train_images,
        )

        data, loop = self.config.data, self.config.loop
        images, excluded = load_train_images(data.train, self._holdout_rules())
        self.excluded = excluded
        self._say(f"training data: {describe_images(images)}; {len(excluded)} held out")
        probabilities = None
        if data.train and data.train[0].weight is not None:
            probabilities = image_draw_probabilities(images, [s.weight for s in data.train])
            shares = np.bincount(
                [image.source for image in images], probabilities, minlength=len(data.train)
            )
            self._say(
                "source shares: "
                + ", ".join(
                    f"[{i}] {source.spec} {share:.2f}"
                    for i, (source, share) in enumerate(zip(data.train, shares, strict=True))
                )
            )
        augmentation: Augmentation = build_augmentation(
            self.crop_size,
            tuple(data.scale_range),
            data.augment,
            whole_view_prob=data.whole_view_prob,
            zoom_view_prob=data.zoom_view_prob,
        )
        sampler = MultiPointSampler(
            max_num_points=loop.max_num_points,
            prob_gamma=0.80,
            merge_objects_prob=data.merge_objects_prob,
        )
        copy_paste = None
        if data.copy_paste_prob > 0:
            from napari_clickseg.training.copy_paste import SUEMCopyPaste

            copy_paste = SUEMCopyPaste(data.copy_paste_prob, data.copy_paste_prob)
        return ClickTrainDataset(
            images,
            self.crop_size,
            sampler,
            augmentation,
            loop.samples_per_epoch,
            seed=loop.seed,
            min_object_area=data.min_object_area,
            copy_paste=copy_paste,
            draw_probabilities=probabilities,
        )

    def _load_validation(self) -> list[Any]:
        from napari_clickseg.training.dataset import load_eval_objects

        data = self.config.data
        objects: list[Any] = []
        for source in data.val:
            objects.extend(load_eval_objects(source.spec, source.options)[1])
        if data.val_max_objects is not None and len(objects) > data.val_max_objects:
            rng = np.random.default_rng(self.config.loop.seed)
            keep = sorted(rng.choice(len(objects), data.val_max_objects, replace=False))
            objects = [objects[i] for i in keep]
        if objects:
            self._say(f"validation data: {len(objects)} objects")
        return objects

    # -- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The resumable state (see :mod:`.checkpointing`)."""
        from napari_clickseg.models.registry import config_to_dict as model_config_to_dict

        scheduler = self.scheduler.state_dict()
        scheduler["milestones"] = dict(scheduler["milestones"])
        return {
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "model_config": json.dumps(model_config_to_dict(self.model.config)),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": scheduler,
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "micro_done": self.micro_done,
            "global_step": self.global_step,
            "rng": capture_rng_state(),
            "history": json.dumps(self.history),
            "epoch_losses": list(getattr(self, "_epoch_losses", [])),
            "best": json.dumps(self.best),
            "train_config": json.dumps(config_to_dict(self.config)),
        }

    def _restore(self, state: dict[str, Any]) -> None:
        from napari_clickseg.models.checkpoints import load_state_dict_strict
        from napari_clickseg.models.registry import config_to_dict as model_config_to_dict

        saved_config = json.loads(state["model_config"])
        if saved_config != json.loads(json.dumps(model_config_to_dict(self.model.config))):
            raise ValueError(
                "the training state was written for another model config than model.init "
                f"builds: saved {saved_config}"
            )
        load_state_dict_strict(self.model, state["model"], "training state")
        self.optimizer.load_state_dict(state["optimizer"])
        scheduler = dict(state["scheduler"])
        scheduler["milestones"] = self._resumed_milestones(
            Counter({int(k): v for k, v in scheduler["milestones"].items()}), int(state["epoch"])
        )
        self.scheduler.load_state_dict(scheduler)
        self.scaler.load_state_dict(state["scaler"])
        self.epoch = int(state["epoch"])
        self.micro_done = int(state["micro_done"])
        self.global_step = int(state["global_step"])
        self.history = json.loads(state["history"])
        self._epoch_losses = [float(v) for v in state["epoch_losses"]]
        self.best = json.loads(state["best"])
        restore_rng_state(state["rng"])
        self._say(f"resumed at epoch {self.epoch + 1}, step {self.global_step}")

    def _resumed_milestones(self, saved: Counter, epoch: int) -> Counter:
        """The learning-rate milestones of a resumed run: the configuration's.

        A resumed run may move milestones that are still ahead (shorten or lengthen the
        schedule); the result equals a run started with the new milestones. Milestones already
        passed cannot change, since the learning rate they set is part of the optimiser state.
        """
        wanted = Counter(int(m) for m in self.config.optim.milestones)
        if wanted == saved:
            return saved
        changed = set(wanted) ^ set(saved) | {m for m in wanted if wanted[m] != saved[m]}
        passed = sorted(m for m in changed if m <= epoch)
        if passed:
            raise ConfigError(
                f"optim.milestones {sorted(wanted.elements())} differ from the resumed run's "
                f"{sorted(saved.elements())} at epoch(s) {passed}, which the run has already "
                f"passed (it resumes after epoch {epoch}); only milestones after epoch {epoch} "
                "can change"
            )
        self._say(
            f"learning-rate milestones changed on resume: {sorted(saved.elements())} -> "
            f"{sorted(wanted.elements())}"
        )
        return wanted

    def _save_state(self) -> None:
        if not self.ctx.is_main:
            return
        save_training_state(self.state_path, self.state_dict())

    # -- logging -------------------------------------------------------------------------
    def _log(self, record: dict[str, Any]) -> None:
        if not self.ctx.is_main:
            return
        self.output_dir.mkdir(parents=True, exist_ok=True)
        with open(self.output_dir / "log.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def _write_epoch_table(self) -> None:
        columns = ["epoch", "steps", "loss", "lr", "noc85", "noc90", "noc95", "miou1", "seconds"]
        path = self.output_dir / "epochs.csv"
        partial = path.with_name(path.name + ".partial")
        with open(partial, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self.history)
        partial.replace(path)
        try:
            from napari_clickseg.training.plots import plot_training_curves

            plot_training_curves(self.output_dir / "log.jsonl", self.output_dir / "curves.png")
        except Exception as error:  # a plot must never stop training
            self._say(f"could not draw curves.png: {error}")

    # -- the loop ------------------------------------------------------------------------
    def _micro_batches(self, epoch: int) -> list[list[int]]:
        self.sampler.set_epoch(epoch)
        indices = list(self.sampler)
        size = self.batch_per_process
        batches = [indices[i : i + size] for i in range(0, len(indices) - size + 1, size)]
        usable = len(batches) // self.config.loop.accumulate * self.config.loop.accumulate
        return batches[:usable]

    def steps_per_epoch(self) -> int:
        """Optimiser steps in one epoch."""
        return len(self._micro_batches(0)) // self.config.loop.accumulate

    def fit(self) -> TrainingResult:
        """Run (or continue) the training to ``loop.epochs``.

        Returns
        -------
        TrainingResult
        """
        loop = self.config.loop
        if self.ctx.is_main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            resolved = json.dumps(config_to_dict(self.config), indent=2)
            (self.output_dir / "config.json").write_text(resolved, encoding="utf-8")
            if self.global_step == 0 and self.micro_done == 0:
                self._log(
                    {"event": "start", "world_size": self.ctx.world_size,
                     "device": str(self.ctx.device), "frozen_unused": self.frozen,
                     "excluded_objects": len(self.excluded)}
                )  # fmt: skip
        fresh = self.global_step == 0 and self.micro_done == 0 and not self.history
        if fresh and self.config.validation.before_training:
            self._validate_start()
        total_steps = self.steps_per_epoch() * loop.epochs
        while self.epoch < loop.epochs:
            self._train_epoch(total_steps)
            self.scheduler.step()
            record = self._end_epoch()
            self.history.append(record)
            self.epoch += 1
            self.micro_done = 0
            self._save_state()
            if self.ctx.is_main:
                if self.config.checkpoint.keep_epochs:
                    save_training_state(
                        self.state_path.with_name(f"epoch_{self.epoch:03d}.pt"), self.state_dict()
                    )
                self._log({"event": "epoch", **record})
                self._write_epoch_table()
            self.ctx.barrier()
        final = self._save_model("model_final.safetensors") if self.ctx.is_main else None
        best = self.output_dir / "model_best.safetensors"
        return TrainingResult(
            output_dir=self.output_dir,
            final_model=final,
            best_model=best if (self.ctx.is_main and best.exists()) else None,
            history=list(self.history),
            steps=self.global_step,
        )

    def _validate_start(self) -> None:
        """Validate the starting model as epoch 0 (it does not compete for model_best)."""
        if self.ctx.is_main and self.val_objects:
            started = time.perf_counter()
            record = {"epoch": 0, "steps": 0, "loss": None,
                      "lr": self.optimizer.param_groups[0]["lr"], **self.validate()}  # fmt: skip
            record["seconds"] = time.perf_counter() - started
            self.history.append(record)
            self._log({"event": "epoch", **record})
        self.ctx.barrier()

    def _train_epoch(self, total_steps: int) -> None:
        loop = self.config.loop
        self.dataset.set_epoch(self.epoch)
        batches = self._micro_batches(self.epoch)
        loader = DataLoader(
            self.dataset,
            batch_sampler=batches[self.micro_done :],
            num_workers=loop.num_workers,
        )
        self.model.train()
        self._epoch_losses: list[float] = getattr(self, "_epoch_losses", [])
        if self.micro_done == 0:
            self._epoch_losses = []
        step_losses: list[float] = []
        started = time.perf_counter()
        for index, batch in enumerate(loader, start=self.micro_done):
            loss = self._forward_backward(batch, index)
            step_losses.append(loss)
            self.micro_done = index + 1
            if self.micro_done % loop.accumulate:
                continue
            self._optimizer_step()
            mean_loss = self.ctx.mean(float(np.mean(step_losses)))
            step_losses = []
            self._epoch_losses.append(mean_loss)
            if self.global_step % loop.log_every == 0 or self.global_step == 1:
                self._log(
                    {"event": "step", "epoch": self.epoch + 1, "step": self.global_step,
                     "loss": mean_loss, "lr": self.optimizer.param_groups[0]["lr"],
                     "seconds": time.perf_counter() - started}
                )  # fmt: skip
            every = self.config.checkpoint.every_steps
            if every and self.global_step % every == 0 and self.micro_done < len(batches):
                self._save_state()
            if self.progress is not None:
                self.progress(self.global_step, total_steps)

    def _forward_backward(self, batch: dict[str, torch.Tensor], index: int) -> float:
        loop = self.config.loop
        device = self.ctx.device
        image = batch["image"].to(device, non_blocking=True)
        gt = batch["gt"].to(device, non_blocking=True)
        points = batch["points"].to(device, non_blocking=True)
        # Stateless per micro-batch: the same draw whatever the resume point.
        rng = np.random.default_rng([loop.seed, 1, self.ctx.rank, self.epoch, index])
        minimum = 1 if loop.iterative_loss else 0
        num_steps = draw_num_extra_clicks(rng, loop.max_extra_clicks, minimum)
        is_last = (index + 1) % loop.accumulate == 0
        sync = self.runner.no_sync() if (self.ctx.distributed and not is_last) else nullcontext()
        autocast = (
            torch.autocast(device.type, dtype=self.autocast_dtype)
            if self.autocast_dtype is not None
            else nullcontext()
        )
        with sync:
            with autocast:
                loss, _ = self.runner(image, gt, points, num_steps, rng)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"the loss became {loss.item()} at epoch {self.epoch + 1}, step "
                    f"{self.global_step + 1}; lower optim.lr or use loop.precision = 'float32'"
                )
            self.scaler.scale(loss / loop.accumulate).backward()
        return float(loss.detach())

    def _optimizer_step(self) -> None:
        optim = self.config.optim
        if optim.max_grad_norm is not None:
            self.scaler.unscale_(self.optimizer)
            params = [p for p in self.model.parameters() if p.requires_grad]
            torch.nn.utils.clip_grad_norm_(params, optim.max_grad_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.global_step += 1

    def _end_epoch(self) -> dict[str, Any]:
        losses = getattr(self, "_epoch_losses", [])
        record: dict[str, Any] = {
            "epoch": self.epoch + 1,
            "steps": self.global_step,
            "loss": float(np.mean(losses)) if losses else None,
            "lr": self.optimizer.param_groups[0]["lr"],
        }
        started = time.perf_counter()
        every = self.config.validation.every
        if self.ctx.is_main and self.val_objects and every and (self.epoch + 1) % every == 0:
            record.update(self.validate())
            self._keep_best(record)
        record["seconds"] = time.perf_counter() - started
        return record

    def validate(self) -> dict[str, float]:
        """NoC of the current model on the validation objects (rank 0).

        Returns
        -------
        dict
            ``noc85``, ``noc90``, ``noc95``, ``miou1`` and ``objects``.
        """
        from napari_clickseg.engine.evaluation import EvaluationSettings, evaluate_dataset
        from napari_clickseg.engine.predictor import CFRSettings, Predictor
        from napari_clickseg.engine.zoom_in import ZoomInSettings

        val = self.config.validation
        precision = {None: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}[
            self.autocast_dtype
        ]
        predictor = Predictor(
            self.model,
            self.ctx.device,
            zoom_in=ZoomInSettings(target_size=(self.crop_size, self.crop_size)),
            with_flip=val.flip,
            cfr=CFRSettings(),  # the network alone, whatever its init file recommends
            precision=precision,
        )
        try:
            result = evaluate_dataset(
                predictor,
                self.val_objects,
                EvaluationSettings(max_clicks=val.max_clicks, target_iou=val.target_iou),
            )
        finally:
            self.model.train()
        summary = result.summary
        return {
            "noc85": summary.noc_at(85),
            "noc90": summary.noc_at(90),
            "noc95": summary.noc_at(95),
            "miou1": summary.miou[0] if summary.miou else math.nan,
            "objects": summary.objects,
        }

    def _keep_best(self, record: dict[str, Any]) -> None:
        metric = self.config.validation.metric
        value = record.get(metric)
        if value is None or (self.best and value >= self.best["value"]):
            return
        self.best = {"metric": metric, "value": value, "epoch": record["epoch"]}
        self._save_model("model_best.safetensors", {f"val_{metric}": f"{value:.4f}"})

    def _save_model(self, name: str, extra: dict[str, str] | None = None) -> Path:
        from napari_clickseg.models.checkpoints import save_model

        metadata = {
            "training_config": json.dumps(config_to_dict(self.config)),
            "epochs_trained": str(self.epoch),
            "steps_trained": str(self.global_step),
            "previous_stages": json.dumps(self.previous_stages),
            "total_steps_trained": str(
                self.global_step + sum(stage["steps_trained"] for stage in self.previous_stages)
            ),
            **(extra or {}),
        }
        return save_model(self.model, self.output_dir / name, metadata)
