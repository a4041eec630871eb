"""The one interface every click-segmentation network answers.

Every architecture (SimpleClick, iCMFormer, PiClick) takes the same inputs and returns a
:class:`ModelOutput`, so the predictor, the session and the widgets never branch on the
architecture's name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import torch
from torch import nn

#: ImageNet statistics every released model normalises its RGB input with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class ModelOutput:
    """What a click-segmentation network returns for a batch.

    Attributes
    ----------
    logits : torch.Tensor
        Mask logits for K candidate masks, shape (B, K, H, W), at the input resolution.
        K is 1 for single-mask models (SimpleClick, iCMFormer).
    scores : torch.Tensor or None
        Optional per-candidate scores, shape (B, K); higher is better. ``None`` for
        single-mask models.
    match_features : torch.Tensor or None
        Optional per-candidate values, shape (B, K), that the predictor compares when it
        pairs the candidates of the plain and the flipped pass (PiClick: the class
        probability). ``None`` for single-mask models.
    """

    logits: torch.Tensor
    scores: torch.Tensor | None = None
    match_features: torch.Tensor | None = None

    @property
    def num_candidates(self) -> int:
        """Number of candidate masks K."""
        return int(self.logits.shape[1])


class ClickSegModel(nn.Module):
    """Base class of the click-segmentation networks.

    Subclasses implement :meth:`forward` with this signature:

    ``forward(image, prev_mask, points) -> ModelOutput``

    - ``image``: (B, 3, H, W) float RGB in [0, 1] (normalisation happens inside the model);
    - ``prev_mask``: (B, 1, H, W) float probability of the previous prediction (zeros if none);
    - ``points``: (B, 2M, 3) float clicks in the official layout, see
      :func:`napari_clickseg.models.click_maps.points_tensor`.

    Attributes
    ----------
    input_size : tuple of int
        The (height, width) the network was trained at (448 x 448 for the released models).
    config : object
        The dataclass config the model was built from (used to save and reload it).
    inference_defaults : mapping
        Inference settings the model's file recommends (its ``inference`` metadata, e.g.
        ``{"cfr": {"steps": 4, ...}}``); empty for official checkpoints, which run the
        official settings.
    """

    input_size: tuple[int, int] = (448, 448)
    config: object = None
    inference_defaults: Mapping[str, object] = MappingProxyType({})
    #: Whether ZoomIn chooses its next crop from the chosen candidate's averaged *logits*
    #: (official PiClick predictor: 0.5 on logits, i.e. probability > 0.62) rather than from
    #: its probabilities (official SimpleClick and iCMFormer predictors).
    zoom_in_on_logits: bool = False

    def encode_image(self, image: torch.Tensor) -> object:
        """The part of the forward pass that depends on the image alone.

        The predictor computes it once per input crop and reuses it for every click and
        CFR pass on that crop. The default does nothing and returns the image.

        Parameters
        ----------
        image : torch.Tensor
            (B, 3, H, W) RGB in [0, 1].

        Returns
        -------
        object
            Whatever :meth:`decode` needs; opaque to callers.
        """
        return image

    def decode(
        self, encoding: object, prev_mask: torch.Tensor, points: torch.Tensor
    ) -> ModelOutput:
        """The rest of the forward pass: ``decode(encode_image(x), m, p) == forward(x, m, p)``.

        Parameters
        ----------
        encoding : object
            Output of :meth:`encode_image`.
        prev_mask : torch.Tensor
            (B, 1, H, W) previous probability map; it also gives the input size.
        points : torch.Tensor
            (B, 2M, 3) clicks in network-input pixels.

        Returns
        -------
        ModelOutput
        """
        return self.forward(encoding, prev_mask, points)

    def register_normalisation(self, mean: Sequence[float], std: Sequence[float]) -> None:
        """Keep the input normalisation as non-persistent buffers (not in checkpoints)."""
        self.register_buffer("norm_mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("norm_std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def normalise(self, image: torch.Tensor) -> torch.Tensor:
        """(image - mean) / std, as the official models do inside their forward."""
        return (image - self.norm_mean) / self.norm_std

    @property
    def device(self) -> torch.device:
        """Device of the model's parameters."""
        return next(self.parameters()).device
