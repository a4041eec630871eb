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
they do not change the loss and are left out.

:func:`iterative_click_loss` is the ICL of CFR-ICL (``isegm/engine/trainer.py``,
``use_iterloss``): the batch mean of the NFL of every click step, multiplied by that step's
weight (1, 2, 3) and summed - a weighted sum, not a weighted mean.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

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
