"""Tiny deterministic models for the dock's GUI tests (milliseconds on a CPU)."""

from __future__ import annotations

import torch

from napari_clickseg.models.click_maps import click_disks
from napari_clickseg.models.interface import ClickSegModel, ModelOutput


class DiskModel(ClickSegModel):
    """Object = the positive click disks minus the negative ones; ignores the image."""

    def __init__(self) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(()))

    def forward(self, image, prev_mask, points):
        disks = click_disks(points, image.shape[2], image.shape[3])
        logits = 8.0 * (disks[:, :1] - disks[:, 1:2]).clamp(min=0) - 4.0
        return ModelOutput(logits=logits + self.anchor)


class ThreeCandidates(ClickSegModel):
    """K = 3: the click disks, the whole image, nothing; scores prefer the disks."""

    def __init__(self) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(()))

    def forward(self, image, prev_mask, points):
        disks = click_disks(points, image.shape[2], image.shape[3])[:, :1]
        logits = torch.cat(
            [8.0 * disks - 4.0, torch.full_like(disks, 4.0), torch.full_like(disks, -4.0)], dim=1
        )
        scores = torch.tensor([[0.9, 0.5, 0.1]]).expand(image.shape[0], 3)
        return ModelOutput(logits=logits + self.anchor, scores=scores)


def predictor_factory(model_class):
    """A ModelChoice factory: a Predictor of ``model_class`` without ZoomIn or flip."""

    def build(device):
        from napari_clickseg.engine.predictor import Predictor

        return Predictor(model_class(), device, zoom_in=None, with_flip=False)

    return build
