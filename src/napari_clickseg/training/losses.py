"""Training losses: normalized focal loss (NFL) and the iterative click loss (ICL).

:func:`normalized_focal_loss` follows the official ``NormalizedFocalLossSigmoid`` of RITM /
SimpleClick (``isegm/model/losses.py``) operation for operation, so its values match to
float rounding:

- ``p = sigmoid(logit)``; a pixel is valid when its label is not ``ignore_label``;
- ``pt = 1 - |y - p|`` on valid pixels and 1 on ignored ones; ``alpha`` for object pixels
  (label > 0.5), ``1 - alpha`` for the others, 0 for ignored ones;
- ``beta = (1 - pt)^gamma``, rescaled per sample (and channel) by the *detached* normaliser
  ``m = #valid / (sum(beta) + eps)``; optionally clamped to ``max_mult``;
- the pixel loss ``-alpha * beta * m * log(min(pt + eps, 1))`` on valid pixels, summed per
  sample and divided by ``#valid + eps`` (``size_average``) or just summed.

The official module also keeps running statistics for TensorBoard (``_k_sum``, ``_m_max``);
they do not change the loss and are left out. Half-precision logits (mixed precision) are
promoted to float32 first, so the per-mask sums stay accurate.

:func:`iterative_click_loss` is the ICL of CFR-ICL (``isegm/engine/trainer.py``,
``use_iterloss``): the batch mean of the NFL of every click step, multiplied by that step's
weight (1, 2, 3) and summed - a weighted sum, not a weighted mean.

:class:`PiClickSetLoss` is PiClick's DETR-like set loss (``isegm/model/losses_despair.py``,
``DETRLikeDespairLoss``, with mmdet's Hungarian assigner, match costs, cross-entropy, sigmoid
focal and dice losses), see its docstring.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from scipy.optimize import linear_sum_assignment

IGNORE_LABEL = -1


def _check_pair(logits: torch.Tensor, target: torch.Tensor) -> None:
    if logits.shape != target.shape:
        raise ValueError(
            f"logits shape {tuple(logits.shape)} differs from target shape "
            f"{tuple(target.shape)}; both must be (B, H, W) or (B, C, H, W)"
        )
    if logits.dim() < 3:
        raise ValueError(
            f"logits must be (B, H, W) or (B, C, H, W), got {logits.dim()} dimension(s)"
        )


def normalized_focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    alpha: float = 0.5,
    gamma: float = 2.0,
    ignore_label: float = IGNORE_LABEL,
    eps: float = 1e-12,
    max_mult: float = -1.0,
    detach_normaliser: bool = True,
    size_average: bool = True,
    from_sigmoid: bool = False,
) -> torch.Tensor:
    """Per-sample normalized focal loss, as the official ``NormalizedFocalLossSigmoid``.

    Parameters
    ----------
    logits : torch.Tensor
        (B, 1, H, W) or (B, H, W) mask logits (probabilities if ``from_sigmoid``).
    target : torch.Tensor
        Same shape: 1 object, 0 background, ``ignore_label`` for pixels left out.
    alpha : float
        Weight of object pixels; background pixels get ``1 - alpha``. The released models
        were trained with 0.5 (the official class default is 0.25).
    gamma : float
        Focusing exponent.
    ignore_label : float
        Target value of ignored pixels.
    eps : float
        Stabiliser of the normaliser, the logarithm and the average.
    max_mult : float
        If positive, the rescaled focal weights are clamped to this value.
    detach_normaliser : bool
        Stop the gradient through the normaliser (official ``detach_delimeter=True``).
    size_average : bool
        Divide each sample's sum by its number of valid pixels.
    from_sigmoid : bool
        ``logits`` already are probabilities.

    Returns
    -------
    torch.Tensor
        (B,) loss per sample. The official trainer averages it over the batch.
    """
    _check_pair(logits, target)
    # At least float32: half-precision sums over a whole mask would be too coarse.
    logits = logits.to(torch.promote_types(logits.dtype, torch.float32))
    target = target.to(logits.dtype)
    prob = logits if from_sigmoid else torch.sigmoid(logits)
    is_object = target > 0.5
    valid = target != ignore_label

    weight = torch.where(is_object, alpha * valid, (1 - alpha) * valid)
    pt = torch.where(valid, 1.0 - torch.abs(target - prob), torch.ones_like(prob))
    beta = (1 - pt) ** gamma

    valid_sum = valid.sum(dim=(-2, -1), keepdim=True)
    normaliser = valid_sum / (beta.sum(dim=(-2, -1), keepdim=True) + eps)
    if detach_normaliser:
        normaliser = normaliser.detach()
    beta = beta * normaliser
    if max_mult > 0:
        beta = beta.clamp(max=max_mult)

    pixel_loss = -weight * beta * torch.log((pt + eps).clamp(max=1.0))
    pixel_loss = pixel_loss * valid
    per_sample = pixel_loss.flatten(1).sum(dim=1)
    if size_average:
        per_sample = per_sample / (valid.flatten(1).sum(dim=1) + eps)
    return per_sample


LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def iterative_click_loss(
    step_logits: Sequence[torch.Tensor],
    target: torch.Tensor,
    weights: Sequence[float] = (1.0, 2.0, 3.0),
    loss_fn: LossFn = normalized_focal_loss,
) -> torch.Tensor:
    """Iterative click loss (ICL) of CFR-ICL: a weighted sum over click steps.

    Step ``k`` (0-based) contributes ``weights[k] * mean_b loss_fn(step_logits[k], target)``.
    CFR-ICL draws 1-3 steps per batch, so a batch with one step only gets weight 1.

    Parameters
    ----------
    step_logits : sequence of torch.Tensor
        Logits of each click step, in order, each shaped like ``target``.
    target : torch.Tensor
        Ground truth (1 object, 0 background, -1 ignored).
    weights : sequence of float
        Weight of each step (official ``iterloss_weights=[1, 2, 3]``).
    loss_fn : callable
        Per-sample loss ``(logits, target) -> (B,)``; NFL by default.

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    if len(step_logits) == 0:
        raise ValueError("iterative_click_loss needs the logits of at least one click step")
    if len(step_logits) > len(weights):
        raise ValueError(
            f"{len(step_logits)} click steps but only {len(weights)} step weights {tuple(weights)}"
        )
    total = step_logits[0].new_zeros(())
    for logits, weight in zip(step_logits, weights, strict=False):
        total = total + weight * loss_fn(logits, target).mean()
    return total


class SetPredictions(Protocol):
    """What :class:`PiClickSetLoss` reads (e.g. ``models.piclick.PiClickPredictions``).

    Each tensor has a leading decoder-step axis L (it may be left out for a single step):
    ``cls_logits`` (L, B, K, num_classes + 1), ``mask_logits`` (L, B, K, h, w),
    ``iou_logits`` and ``onehot_logits`` (L, B, K, 1).
    """

    cls_logits: torch.Tensor
    mask_logits: torch.Tensor
    iou_logits: torch.Tensor
    onehot_logits: torch.Tensor


def _with_steps(tensor: torch.Tensor, dims: int) -> torch.Tensor:
    return tensor if tensor.dim() == dims + 1 else tensor.unsqueeze(0)


def mask_iou(mask_logits: torch.Tensor, target: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """IoU of each candidate (logit > 0) with the target: (B, K, H, W), (B, 1, H, W) -> (B, K)."""
    with torch.no_grad():
        pred = (torch.sigmoid(mask_logits) > 0.5).to(target.dtype)
        intersection = (pred * target).sum(dim=(-2, -1))
        union = (pred + target).sum(dim=(-2, -1)) - intersection
        return intersection / (union + eps)


class PiClickSetLoss(torch.nn.Module):
    """PiClick's set loss: Hungarian matching of K candidates to every plausible target.

    For each decoder step (all of them: the initial queries and every decoder layer) and
    each image:

    - **matching** (``scipy.optimize.linear_sum_assignment``) of the K queries to the n targets
      (``gt_masks``: every object consistent with the clicks) with the cost
      ``cost_cls * (-softmax(cls)[object]) + cost_mask * focal + cost_dice * dice``: the
      mmdet ``ClassificationCost``, ``FocalLossCost(binary_input)`` (alpha 0.25, gamma 2, mean
      over pixels) and ``DiceCost(pred_act, eps=1, naive)``;
    - ``loss_cls``: cross-entropy over {object, no-object} of every query (matched queries are
      "object"), class weights (1.0, 0.1), divided by the sum of the targets' class weights;
    - ``loss_mask``: sigmoid focal loss (alpha 0.25, gamma 2) of the matched queries, summed and
      divided by (#matched x H x W), weight 20;
    - ``loss_dice``: naive dice (eps 1e-3) of the matched queries over #matched, weight 1;
    - ``loss_iou`` (the official ``loss_rank``): L1 between ``sigmoid(iou_logits)`` and each
      candidate's IoU with the single sampled ``target`` (prediction > 0.5), all K queries,
      weight 0.3 (the released config);
    - ``loss_onehot``: cross-entropy of ``log_softmax`` over the K queries against 0.9 for the
      best-IoU query(ies) and 0.1 elsewhere (not a distribution; as officially), weight 0.05.

    The total is the sum of every weighted term over all steps. Masks predicted at a lower
    resolution are first upsampled to the target size (bilinear, ``align_corners=True``), as
    the official model does before its loss. Difference: the number of matched masks is not
    averaged across DDP processes (the official ``reduce_mean``); pass ``num_masks`` to do so.
    """

    def __init__(
        self,
        num_classes: int = 1,
        class_weight: Sequence[float] = (1.0, 0.1),
        cls_weight: float = 1.0,
        mask_weight: float = 20.0,
        dice_weight: float = 1.0,
        iou_weight: float = 0.3,
        onehot_weight: float = 0.05,
        cost_cls: float = 1.0,
        cost_mask: float = 20.0,
        cost_dice: float = 1.0,
        focal_alpha: float = 0.25,
        focal_gamma: float = 2.0,
        dice_eps: float = 1e-3,
        cost_dice_eps: float = 1.0,
        onehot_targets: tuple[float, float] = (0.9, 0.1),
    ) -> None:
        super().__init__()
        if len(class_weight) != num_classes + 1:
            raise ValueError(
                f"class_weight needs {num_classes + 1} values (classes + no-object), "
                f"got {tuple(class_weight)}"
            )
        self.num_classes = num_classes
        self.register_buffer("class_weight", torch.tensor(class_weight), persistent=False)
        self.weights = {
            "loss_cls": cls_weight,
            "loss_mask": mask_weight,
            "loss_dice": dice_weight,
            "loss_iou": iou_weight,
            "loss_onehot": onehot_weight,
        }
        self.cost_weights = (cost_cls, cost_mask, cost_dice)
        self.focal_alpha = focal_alpha
        self.focal_gamma = focal_gamma
        self.dice_eps = dice_eps
        self.cost_dice_eps = cost_dice_eps
        self.onehot_targets = onehot_targets

    # -- matching ------------------------------------------------------------------------

    def matching_cost(
        self, cls_logits: torch.Tensor, mask_logits: torch.Tensor, gt_masks: torch.Tensor
    ) -> torch.Tensor:
        """(K, n) matching cost of K queries and n target masks of one image."""
        cost_cls, cost_mask, cost_dice = self.cost_weights
        gt = gt_masks.flatten(1).to(mask_logits.dtype)
        prob = torch.sigmoid(mask_logits.flatten(1))
        eps = 1e-12
        alpha, gamma = self.focal_alpha, self.focal_gamma
        neg = -torch.log(1 - prob + eps) * (1 - alpha) * prob.pow(gamma)
        pos = -torch.log(prob + eps) * alpha * (1 - prob).pow(gamma)
        focal = (pos @ gt.T + neg @ (1 - gt).T) / prob.shape[1]
        numerator = 2 * prob @ gt.T
        denominator = prob.sum(-1)[:, None] + gt.sum(-1)[None, :]
        dice = 1 - (numerator + self.cost_dice_eps) / (denominator + self.cost_dice_eps)
        object_prob = cls_logits.softmax(-1)[:, :1]  # every target has class 0
        return cost_cls * -object_prob + cost_mask * focal + cost_dice * dice

    def match(
        self,
        cls_logits: torch.Tensor,
        mask_logits: torch.Tensor,
        gt_masks: Sequence[torch.Tensor],
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Hungarian matching of one decoder step.

        Parameters
        ----------
        cls_logits : torch.Tensor
            (B, K, num_classes + 1).
        mask_logits : torch.Tensor
            (B, K, H, W) at the targets' resolution.
        gt_masks : sequence of torch.Tensor
            Per image, (n_i, H, W) target masks.

        Returns
        -------
        list of (query indices, target indices)
            One pair of index arrays per image.
        """
        pairs = []
        with torch.no_grad():
            for cls, masks, gt in zip(cls_logits, mask_logits, gt_masks, strict=True):
                if gt.shape[0] == 0:
                    pairs.append((np.zeros(0, dtype=int), np.zeros(0, dtype=int)))
                    continue
                if gt.shape[-2:] != masks.shape[-2:]:
                    gt = F.interpolate(gt[:, None].float(), masks.shape[-2:], mode="nearest")[:, 0]
                cost = self.matching_cost(cls.float(), masks.float(), gt)
                queries, targets = linear_sum_assignment(cost.cpu().numpy())
                pairs.append((queries, targets))
        return pairs

    def random_matched_query(
        self,
        cls_logits: torch.Tensor,
        mask_logits: torch.Tensor,
        gt_masks: Sequence[torch.Tensor],
        rng: np.random.Generator,
    ) -> np.ndarray:
        """PiClick's prior for the next simulated click: a random matched query per image.

        The official iterative training (``forward_for_iter`` + ``choice_mask``) feeds back the
        sigmoid of a uniformly chosen query among those Hungarian-matched to a target.

        Returns
        -------
        numpy.ndarray
            (B,) query indices (0 for an image without targets).
        """
        pairs = self.match(cls_logits, mask_logits, gt_masks)
        return np.array(
            [int(rng.choice(queries)) if len(queries) else 0 for queries, _ in pairs], dtype=int
        )

    # -- loss ----------------------------------------------------------------------------

    def _step_losses(
        self,
        cls_logits: torch.Tensor,
        mask_logits: torch.Tensor,
        iou_logits: torch.Tensor,
        onehot_logits: torch.Tensor,
        gt_masks: Sequence[torch.Tensor],
        target: torch.Tensor,
        num_masks: float | None,
    ) -> dict[str, torch.Tensor]:
        batch, queries = cls_logits.shape[:2]
        iou = mask_iou(mask_logits, target)
        loss_iou = F.l1_loss(torch.sigmoid(iou_logits[..., 0]), iou)
        high, low = self.onehot_targets
        is_best = iou == iou.max(dim=-1, keepdim=True).values
        soft = torch.where(is_best, torch.full_like(iou, high), torch.full_like(iou, low))
        loss_onehot = (-soft * F.log_softmax(onehot_logits[..., 0], dim=-1)).sum(-1).mean()

        pairs = self.match(cls_logits, mask_logits, gt_masks)
        labels = torch.full((batch, queries), self.num_classes, dtype=torch.long)
        for item, (query_idx, _) in enumerate(pairs):
            labels[item, torch.as_tensor(query_idx, dtype=torch.long)] = 0
        labels = labels.to(cls_logits.device).flatten()
        class_weight = self.class_weight.to(cls_logits.device, cls_logits.dtype)
        per_query = F.cross_entropy(
            cls_logits.flatten(0, 1), labels, weight=class_weight, reduction="none"
        )
        loss_cls = per_query.sum() / class_weight[labels].sum()

        matched = [
            mask_logits[i, torch.as_tensor(q, dtype=torch.long)] for i, (q, _) in enumerate(pairs)
        ]
        matched_gt = [
            gt_masks[i][torch.as_tensor(t, dtype=torch.long)] for i, (_, t) in enumerate(pairs)
        ]
        preds = (
            torch.cat(matched) if matched else mask_logits.new_zeros((0, *mask_logits.shape[-2:]))
        )
        gts = torch.cat(matched_gt).to(preds.dtype)
        count = float(num_masks) if num_masks is not None else float(preds.shape[0])
        count = max(count, 1.0)
        if preds.shape[0] == 0:
            zero = mask_logits.sum() * 0
            loss_mask = loss_dice = zero
        else:
            prob = torch.sigmoid(preds.flatten(1))
            flat_gt = gts.flatten(1)
            inter = (prob * flat_gt).sum(1)
            dice = 1 - (2 * inter + self.dice_eps) / (prob.sum(1) + flat_gt.sum(1) + self.dice_eps)
            loss_dice = dice.sum() / count
            alpha, gamma = self.focal_alpha, self.focal_gamma
            pt = (1 - prob) * flat_gt + prob * (1 - flat_gt)
            focal_weight = (alpha * flat_gt + (1 - alpha) * (1 - flat_gt)) * pt.pow(gamma)
            bce = F.binary_cross_entropy_with_logits(preds.flatten(1), flat_gt, reduction="none")
            loss_mask = (bce * focal_weight).sum() / (count * flat_gt.shape[1])
        return {
            "loss_cls": loss_cls,
            "loss_mask": loss_mask,
            "loss_dice": loss_dice,
            "loss_iou": loss_iou,
            "loss_onehot": loss_onehot,
        }

    def forward(
        self,
        predictions: SetPredictions,
        gt_masks: Sequence[torch.Tensor],
        target: torch.Tensor,
        num_masks: float | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Total loss and its weighted terms.

        Parameters
        ----------
        predictions : SetPredictions
            Head outputs of every decoder step (``PiClickModel.predictions``).
        gt_masks : sequence of torch.Tensor
            Per image, (n_i, H, W) masks of every object consistent with the clicks
            (see ``click_sampler.masks_consistent_with_clicks``).
        target : torch.Tensor
            (B, 1, H, W) the single sampled target (for the IoU and one-hot terms).
        num_masks : float, optional
            Matched-mask count to normalise by (e.g. averaged over DDP processes).

        Returns
        -------
        tuple
            The scalar total, and a dict of the weighted terms: the last step's under their
            names (``loss_cls``, ...), earlier steps' as ``d{i}.loss_cls`` etc.
        """
        cls_all = _with_steps(predictions.cls_logits, 3)
        masks_all = _with_steps(predictions.mask_logits, 4)
        iou_all = _with_steps(predictions.iou_logits, 3)
        onehot_all = _with_steps(predictions.onehot_logits, 3)
        if target.dim() != 4 or target.shape[1] != 1:
            raise ValueError(f"target must be (B, 1, H, W), got {tuple(target.shape)}")
        if len(gt_masks) != target.shape[0]:
            raise ValueError(f"{len(gt_masks)} target sets for a batch of {target.shape[0]}")
        size = target.shape[-2:]
        # float32 at least: half-precision sums over a 448 x 448 mask would lose the IoU.
        dtype = torch.promote_types(masks_all.dtype, torch.float32)
        target = target.to(dtype)
        gt_masks = [gt.to(target.device) for gt in gt_masks]
        for gt in gt_masks:
            if gt.dim() != 3 or gt.shape[-2:] != size:
                raise ValueError(
                    f"each gt_masks entry must be (n, {size[0]}, {size[1]}), got {tuple(gt.shape)}"
                )
        steps = cls_all.shape[0]
        terms: dict[str, torch.Tensor] = {}
        for step in range(steps):
            masks = masks_all[step].to(dtype)
            if masks.shape[-2:] != size:
                masks = F.interpolate(masks, size=size, mode="bilinear", align_corners=True)
            losses = self._step_losses(
                cls_all[step].to(dtype),
                masks,
                iou_all[step].to(dtype),
                onehot_all[step].to(dtype),
                gt_masks,
                target,
                num_masks,
            )
            prefix = "" if step == steps - 1 else f"d{step}."
            for name, value in losses.items():
                terms[prefix + name] = self.weights[name] * value
        total = torch.stack(list(terms.values())).sum()
        return total, terms
