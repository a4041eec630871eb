"""Tiny deterministic stand-ins for a network, to test the predictor's bookkeeping."""

from __future__ import annotations

import torch

from napari_clickseg.models.click_maps import click_disks
from napari_clickseg.models.interface import ClickSegModel, ModelOutput


class DiskOracle(ClickSegModel):
    """Logit +4 inside the positive click disks, -4 elsewhere; ignores image and prior."""

    def __init__(self) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(()))
        self.calls: list[torch.Tensor] = []

    def forward(self, image, prev_mask, points):
        self.calls.append(points.clone())
        disks = click_disks(points, image.shape[2], image.shape[3])
        return ModelOutput(logits=8.0 * disks[:, :1] - 4.0 + self.anchor)


class PriorDrift(ClickSegModel):
    """Moves the previous probability halfway towards a fixed target map on each pass."""

    def __init__(self, target: float = 0.9) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(()))
        self.target = target

    def forward(self, image, prev_mask, points):
        probs = (0.5 * (prev_mask + self.target)).clamp(1e-4, 1 - 1e-4)
        return ModelOutput(logits=torch.logit(probs) + self.anchor)


class TwoCandidates(ClickSegModel):
    """Candidate 0: the positive click disks; candidate 1: everything; scores prefer 1."""

    def __init__(self) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(()))

    def forward(self, image, prev_mask, points):
        disks = click_disks(points, image.shape[2], image.shape[3])[:, :1]
        logits = torch.cat([8.0 * disks - 4.0, torch.full_like(disks, 4.0)], dim=1)
        scores = torch.tensor([[0.2, 0.8]]).expand(image.shape[0], 2)
        return ModelOutput(logits=logits + self.anchor, scores=scores)


class HalvesByPosition(ClickSegModel):
    """Two candidates listed by position: the left half, then the right half of the input.

    A candidate scores 1 when it holds the first positive click, else 0. In the flipped pass
    the same positions hold the mirrored halves, so the two passes list the candidates in
    opposite orders and only a matching pairs them correctly. ``zoom_in_on_logits`` follows
    the PiClick predictor.
    """

    zoom_in_on_logits = True

    def __init__(self, logit: float = 4.0) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(()))
        self.logit = logit

    def forward(self, image, prev_mask, points):
        batch, _, height, width = image.shape
        left = torch.full((batch, 1, height, width), -self.logit)
        left[..., : width // 2] = self.logit
        right = -left
        first_col = points[:, 0, 1]
        holds_left = (first_col < width // 2).float()
        scores = torch.stack([holds_left, 1 - holds_left], dim=1)
        features = torch.tensor([[0.2, 0.7]]).expand(batch, 2)
        return ModelOutput(
            logits=torch.cat([left, right], dim=1) + self.anchor,
            scores=scores,
            match_features=features,
        )


class ImageEcho(ClickSegModel):
    """Logits from the image and the previous mask, so that both inputs matter; records them."""

    def __init__(self, size: int = 64) -> None:
        super().__init__()
        self.input_size = (size, size)
        self.anchor = torch.nn.Parameter(torch.zeros(()))
        self.inputs: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(self, image, prev_mask, points):
        self.inputs.append((image.clone(), prev_mask.clone()))
        return ModelOutput(logits=12.0 * (image[:, :1] - 0.45) + 3.0 * prev_mask + self.anchor)
