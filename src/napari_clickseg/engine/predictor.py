"""Image + clicks + previous mask -> probability map, as the official predictor does it.

One forward pass (official ``BasePredictor.get_prediction`` with ZoomIn, sigmoid and
horizontal flip, SimpleClick's evaluation settings):

1. ``input = cat(image, previous probability map)`` at full resolution;
2. ZoomIn (:mod:`napari_clickseg.engine.zoom_in`) crops an ROI and resizes it to the
   network size (bilinear, align_corners=True, aspect ratio not kept); clicks map to
   ``size * (r - rmin) / (rmax - rmin + 1)``;
3. the batch becomes [crop, horizontally flipped crop], flipped clicks ``c' = W - c - 1``;
4. the logits of the two are averaged (``0.5 * (a + flip(b))``), then the sigmoid; for
   multi-candidate models (PiClick) the candidates of the two passes are first paired by
   the official Hungarian matching and their scores summed, and the best-scored candidate
   is the pick (target reasoning);
5. the probabilities are resized back to the ROI (bilinear, align_corners=True) and pasted
   into a zero canvas; the pick becomes the next previous mask and steers ZoomIn (through
   its averaged logits for PiClick, as its official predictor does).

Large slices: the cost of a click follows the network's input size, not the slice's. The image
is kept as it came and converted to float only where the network reads it
(:class:`~napari_clickseg.engine.image_input.ImageSource`); a crop much larger than the network
input (the whole slice at the first click) is resized by reading only the at most 2h x 2w source
pixels the bilinear resize uses (:func:`~napari_clickseg.engine.roi_map.resize_at`, PyTorch's
arithmetic); the output stays at the network's resolution with its ROI
(:class:`~napari_clickseg.engine.roi_map.RoiMap`) and becomes a full-resolution array only when
asked for (``Prediction.probs``, ``Prediction.mask``).

CFR (cascade-forward refinement, CFR-ICL) repeats the pass ``steps + 1`` times with the same
clicks for the first ``max_clicks`` clicks, each pass feeding the previous output back, and
in adaptive mode stops once at most 20 pixels change at the threshold. With ZoomIn each pass
crops around the previous pass's mask, so CFR on the first click also zooms from the whole
image onto the object; ``min_view_shrink`` (ours, off by default) keeps that for images the
first view shrinks a lot (a 1024 px section into a 224 px input), where it pays most.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Generator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from napari_clickseg.engine.candidate_matching import match_flipped_candidates
from napari_clickseg.engine.clicks import Click, check_clicks_inside
from napari_clickseg.engine.compiled import network_calls
from napari_clickseg.engine.device import autocast_dtype, resolve_precision, select_device
from napari_clickseg.engine.image_input import ImageSource
from napari_clickseg.engine.roi_map import RoiMap, resize_at
from napari_clickseg.engine.zoom_in import Roi, ZoomInSettings, next_roi_from_box
from napari_clickseg.models.click_maps import points_tensor
from napari_clickseg.models.interface import ClickSegModel, ModelOutput

#: Binarisation threshold of the official evaluation.
DEFAULT_THRESHOLD = 0.49
#: Adaptive CFR stops when at most this many pixels change between passes ...
CFR_ADAPTIVE_PIXELS = 20
#: ... at this threshold (fixed in CFR-ICL's code, whatever the display threshold).
CFR_ADAPTIVE_THRESHOLD = 0.49
#: A crop larger than this many times the network input's area is resized by reading only the
#: source pixels the resize uses (:func:`resize_at`); smaller crops take the official path
#: (crop, then ``F.interpolate`` on the device).
GATHER_AREA_RATIO = 16


@dataclass(frozen=True)
class CFRSettings:
    """Cascade-forward refinement (CFR-ICL, Sun et al. 2024).

    Attributes
    ----------
    steps : int
        n in CFR-n: n extra forward passes (n + 1 in all). 0 disables CFR.
    adaptive : bool
        Stop early once at most 20 pixels change between consecutive passes.
    max_clicks : int or None
        CFR runs while the number of clicks is at most this: 1 (the paper and the official
        default) refines only the first click; None refines every click.
    min_view_shrink : float
        CFR runs only where the first pass's view shrinks the image at least this many times
        into the network input (longer side of the view over the input's side), so images
        the network sees at about their own scale keep a single pass. 0 (the default, the
        official behaviour): always. Our option, not CFR-ICL's.
    """

    steps: int = 0
    adaptive: bool = False
    max_clicks: int | None = 1
    min_view_shrink: float = 0.0

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ValueError(f"CFR steps must be >= 0, got {self.steps}")
        if self.max_clicks is not None and self.max_clicks < 1:
            raise ValueError(f"CFR max_clicks must be >= 1 or None, got {self.max_clicks}")
        if not self.min_view_shrink >= 0:
            raise ValueError(f"CFR min_view_shrink must be >= 0, got {self.min_view_shrink}")

    @classmethod
    def recommended_for(cls, model: ClickSegModel) -> CFRSettings:
        """The CFR settings stored with a model (its file's ``inference`` metadata), else off.

        Parameters
        ----------
        model : ClickSegModel
            A loaded model; official checkpoints recommend nothing, so CFR stays off for them.

        Returns
        -------
        CFRSettings
        """
        values = dict(getattr(model, "inference_defaults", {}) or {}).get("cfr")
        if values is None:
            return cls()
        if not isinstance(values, dict):
            raise ValueError(
                f"the model's recommended CFR settings must be a mapping, got {values!r}"
            )
        try:
            return cls(**values)
        except TypeError as error:
            raise ValueError(
                f"the model's recommended CFR settings {values!r} are not valid: {error}"
            ) from error

    def applies_to(self, num_clicks: int) -> bool:
        """Whether CFR runs for a prediction with ``num_clicks`` clicks."""
        return self.steps > 0 and (self.max_clicks is None or num_clicks <= self.max_clicks)


class Prediction:
    """The result of one click.

    Parameters and attributes
    -------------------------
    probs : numpy.ndarray
        (H, W) float32 probability map of the selected candidate, full image resolution
        (computed when read for predictions of :class:`Predictor`: see ``maps``).
    candidates : numpy.ndarray
        (K, H, W) float32 probability maps of every candidate (K = 1 for single-mask models).
    scores : numpy.ndarray or None
        (K,) candidate scores, None for single-mask models.
    selected : int
        Index of the candidate in ``probs``.
    roi : tuple of int or None
        The ZoomIn ROI (rmin, rmax, cmin, cmax) of the last pass, None without ZoomIn.
    passes : int
        Forward passes run for this click (more than 1 with CFR).
    threshold : float
        Threshold used by :attr:`mask`.
    zoom_logits : numpy.ndarray or None
        (K, h, w) flip-averaged candidate logits at the network's resolution, kept for
        models whose ZoomIn follows logits (PiClick) so that a candidate picked later can
        steer the next crop exactly as the official code does; None otherwise.
    maps : sequence of RoiMap, optional
        The candidates kept compactly (network resolution plus ROI) instead of ``probs`` and
        ``candidates``; the full-resolution arrays are then computed on each read (not cached,
        so that a history of predictions stays small).
    """

    def __init__(
        self,
        probs: np.ndarray | None = None,
        candidates: np.ndarray | None = None,
        scores: np.ndarray | None = None,
        selected: int = 0,
        roi: Roi | None = None,
        passes: int = 1,
        threshold: float = DEFAULT_THRESHOLD,
        zoom_logits: np.ndarray | None = None,
        *,
        maps: Sequence[RoiMap] | None = None,
    ) -> None:
        if maps is None and (probs is None or candidates is None):
            raise ValueError("a Prediction needs probs and candidates, or maps")
        self._probs = probs
        self._candidates = candidates
        self.maps = None if maps is None else tuple(maps)
        self.scores = scores
        self.selected = selected
        self.roi = roi
        self.passes = passes
        self.threshold = threshold
        self.zoom_logits = zoom_logits

    def __repr__(self) -> str:
        return (
            f"Prediction(shape={self.shape}, candidates={self.num_candidates}, "
            f"selected={self.selected}, roi={self.roi}, passes={self.passes})"
        )

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the image."""
        return self.maps[0].shape if self.maps is not None else tuple(self._probs.shape)

    @property
    def num_candidates(self) -> int:
        """K, the number of candidate masks."""
        return len(self.maps) if self.maps is not None else int(self._candidates.shape[0])

    @property
    def probs(self) -> np.ndarray:
        """(H, W) float32 probabilities of the selected candidate."""
        if self.maps is None:
            return self._probs
        return self.maps[self.selected].dense()

    @property
    def candidates(self) -> np.ndarray:
        """(K, H, W) float32 probabilities of every candidate."""
        if self.maps is None:
            return self._candidates
        return np.stack([m.dense() for m in self.maps])

    @property
    def mask(self) -> np.ndarray:
        """Boolean mask ``probs > threshold``."""
        if self.maps is None:
            return self._probs > self.threshold
        return self.maps[self.selected].above(self.threshold)

    def candidate_map(self, index: int) -> RoiMap:
        """Candidate ``index`` as a compact :class:`RoiMap`."""
        if self.maps is not None:
            return self.maps[index]
        return RoiMap.from_dense(self._candidates[index])

    def with_selected(self, index: int) -> Prediction:
        """The same prediction with another candidate selected."""
        twin = copy.copy(self)
        twin.selected = index
        if twin.maps is None:
            twin._probs = self._candidates[index]
        return twin


@dataclass(frozen=True)
class PredictorState:
    """What a predictor carries from one click to the next (for undo), kept compactly.

    Attributes
    ----------
    prev : RoiMap
        The previous probability map (the network's previous-mask input).
    roi : tuple of int or None
        The ZoomIn ROI in use.
    zoom : RoiMap
        The map ZoomIn chooses its next crop from (``prev``, or logits for PiClick).
    """

    prev: RoiMap
    roi: Roi | None
    zoom: RoiMap

    @classmethod
    def from_arrays(
        cls, prev_probs: np.ndarray, roi: Roi | None, zoom_probs: np.ndarray
    ) -> PredictorState:
        """A state from full-resolution arrays."""
        prev = RoiMap.from_dense(prev_probs)
        zoom = prev if zoom_probs is prev_probs else RoiMap.from_dense(zoom_probs)
        return cls(prev, roi, zoom)

    @property
    def prev_probs(self) -> np.ndarray:
        """(H, W) float32 previous probabilities (read-only, computed on each read)."""
        return _read_only(self.prev.dense())

    @property
    def zoom_probs(self) -> np.ndarray:
        """(H, W) float32 map ZoomIn follows (read-only, computed on each read)."""
        return _read_only(self.zoom.dense())

    def mask(self, threshold: float) -> np.ndarray:
        """Boolean (H, W) ``prev_probs > threshold`` without the float array."""
        return self.prev.above(threshold)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass
class ModelRequest:
    """One network call a prediction needs (see :meth:`Predictor.predict_steps`).

    Attributes
    ----------
    image : torch.Tensor
        (b, 3, h, w) network input in [0, 1] (b = 2 with flip: the crop and its mirror).
    prev_mask : torch.Tensor
        (b, 1, h, w) previous probabilities.
    clicks : list of list of (row, col, is_positive)
        Clicks of each batch item in network-input pixels.
    encoding_key : tuple or None
        Identifies the input crop for the image-encoding cache.
    """

    image: torch.Tensor
    prev_mask: torch.Tensor
    clicks: list[list[tuple[float, float, bool]]]
    encoding_key: tuple | None = None


def drive_steps(
    steps: Generator[ModelRequest, ModelOutput, Any],
    run_request: Callable[[ModelRequest], ModelOutput] | None,
) -> Any:
    """Run a generator of network requests to its end, one request at a time.

    Parameters
    ----------
    steps : generator
        Yields :class:`ModelRequest` objects, receives their outputs, returns a result.
    run_request : callable or None
        Answers one request (``Predictor.run_request``); None for generators that never yield.

    Returns
    -------
    object
        The generator's return value.
    """
    try:
        request = next(steps)
        while True:
            if run_request is None:
                raise TypeError("a generator asked for a network call but no model runs here")
            request = steps.send(run_request(request))
    except StopIteration as finished:
        return finished.value


class Predictor:
    """Runs a click-segmentation model on one image, click after click.

    Parameters
    ----------
    model : ClickSegModel
        Any model of :mod:`napari_clickseg.models`.
    device : str or torch.device, optional
        Where to run; CUDA, then MPS, then CPU when omitted.
    zoom_in : ZoomInSettings or None
        ZoomIn crop settings; None feeds the whole image at its own size (it must then tile
        into 224-px windows), as the official predictor without ZoomIn.
    with_flip : bool
        Average the logits of the crop and its horizontal flip (official default: True).
    cfr : CFRSettings or None
        Cascade-forward refinement. None (the default): what the model's file recommends
        (:meth:`CFRSettings.recommended_for`; the packaged default model: adaptive CFR-4
        where the first view shrinks the image over 3x), else off, as for official checkpoints.
    threshold : float
        Binarisation threshold of :attr:`Prediction.mask` (official: 0.49).
    precision : {'float32', 'auto', 'bfloat16', 'float16'}
        float32 (the default) is the official, exact path. Reduced precisions run the network
        under autocast: bfloat16 on a CUDA GPU or a CPU with AMX / AVX512-BF16, float16 on a
        CUDA GPU; 'auto' picks bfloat16 where the hardware has it, float32 elsewhere.
    cache_image_encoding : bool
        Compute the click-independent part of the network (``model.encode_image``: the
        image patch embedding; for iCMFormer the whole image stream through the shared
        first half of the blocks) once per input crop and reuse it while the ZoomIn crop
        stays the same. Exact: the outputs do not change. Off only to measure the plain path.
    compile_mode : str or None
        Run the network through ``torch.compile`` in this mode ('default', 'reduce-overhead'
        for CUDA graphs, 'max-autotune'); None (the default) runs it eagerly. The first clicks
        are slow while it compiles (:mod:`napari_clickseg.engine.compiled`).
    """

    def __init__(
        self,
        model: ClickSegModel,
        device: str | torch.device | None = None,
        *,
        zoom_in: ZoomInSettings | None = ZoomInSettings(),  # noqa: B008 - frozen dataclass
        with_flip: bool = True,
        cfr: CFRSettings | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        precision: str = "float32",
        cache_image_encoding: bool = True,
        compile_mode: str | None = None,
    ) -> None:
        self.device = select_device(device)
        #: The precision the network runs in ('auto' resolved).
        self.precision = resolve_precision(precision, self.device)
        self.autocast = autocast_dtype(self.precision, self.device)
        self.model = model.to(self.device).eval()
        self.compile_mode = compile_mode
        self._calls = network_calls(self.model, compile_mode)
        self.zoom_in = None if zoom_in is None else zoom_in.for_input(model.input_size)
        self.with_flip = with_flip
        self.cfr = cfr if cfr is not None else CFRSettings.recommended_for(model)
        self.threshold = threshold
        self._source: ImageSource | None = None
        self._prev: RoiMap | None = None
        self._zoom: RoiMap | None = None
        self._roi: Roi | None = None
        self.cache_image_encoding = cache_image_encoding
        #: ``predict([])`` works after a non-empty prior (see :meth:`predict`).
        self.predicts_without_clicks = True
        self._encoding_key: tuple | None = None
        self._encoding: object = None

    # -- image and state -------------------------------------------------------------------
    def set_image(
        self,
        image: np.ndarray,
        channels: Sequence[int] | None = None,
        intensity_range: tuple[float, float] | None = None,
    ) -> None:
        """Set the image to segment and forget all previous clicks.

        Parameters
        ----------
        image : numpy.ndarray
            (H, W) grayscale or (H, W, C) channels last; see
            :mod:`napari_clickseg.engine.image_input` for how channels and intensities are
            mapped. It is kept by reference, not copied: do not modify it while it is set.
        channels : sequence of int, optional
            Three channels to feed as R, G, B.
        intensity_range : tuple of float, optional
            (low, high) intensity window for non-uint8 images.
        """
        self._source = ImageSource(image, channels, intensity_range)
        self._encoding_key, self._encoding = None, None
        self.reset()

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of the current image."""
        self._require_image()
        return self._source.shape

    def reset(self) -> None:
        """Forget clicks and previous masks; keep the image."""
        self._require_image()
        self._prev = self._zoom = RoiMap.zeros(self.image_shape)
        self._roi = None

    def get_state(self) -> PredictorState:
        """The state carried between clicks (compact and immutable: no copy is needed)."""
        self._require_image()
        return PredictorState(prev=self._prev, roi=self._roi, zoom=self._zoom)

    def set_state(self, state: PredictorState) -> None:
        """Restore a state from :meth:`get_state`."""
        self._require_image()
        if state.prev.shape != self.image_shape:
            raise ValueError(
                f"state of shape {state.prev.shape} does not fit the image {self.image_shape}"
            )
        self._prev, self._zoom, self._roi = state.prev, state.zoom, state.roi

    def set_prev_mask(self, mask: np.ndarray) -> None:
        """Use a mask or probability map as the prior of the next click.

        Used to refine an existing mask or to seed a slice from its neighbour. It becomes
        both the network's previous-mask input and the mask ZoomIn crops around.

        Parameters
        ----------
        mask : numpy.ndarray
            (H, W) boolean mask or probabilities in [0, 1].
        """
        self._require_image()
        mask = np.asarray(mask)
        if mask.shape != self.image_shape:
            raise ValueError(
                f"prior mask of shape {mask.shape} does not match the image {self.image_shape}"
            )
        if mask.dtype != bool and mask.size and (mask.min() < 0 or mask.max() > 1):
            raise ValueError("prior mask values must lie in [0, 1]")
        # A bool mask (propagation's prior) becomes float only inside its bounding box.
        self._prev = self._zoom = RoiMap.from_dense(mask)
        self._roi = None

    # -- prediction ------------------------------------------------------------------------
    def predict(self, clicks: Sequence[Click | tuple[float, float, bool]]) -> Prediction:
        """Predict the mask for all clicks so far (the newest one last).

        Parameters
        ----------
        clicks : sequence of Click or (row, col, is_positive)
            Every click on the object so far, in image pixels, oldest first. May be empty
            after :meth:`set_prev_mask`: the networks then refine the prior mask alone (used
            by mask-only propagation; the official code always has a click).

        Returns
        -------
        Prediction
            The new probability map; it also becomes the prior of the next call.
        """
        return self.run_steps(self.predict_steps(clicks))

    def predict_steps(
        self, clicks: Sequence[Click | tuple[float, float, bool]]
    ) -> Generator[ModelRequest, ModelOutput, Prediction]:
        """:meth:`predict` as a generator that hands out its network calls.

        It yields a :class:`ModelRequest` for every forward pass, expects the
        :class:`~napari_clickseg.models.interface.ModelOutput` for it back through
        ``send``, and returns the :class:`Prediction`. :meth:`run_steps` drives it with
        this predictor's model; :mod:`napari_clickseg.engine.batching` drives many at once,
        one batched forward pass for all of them.

        Parameters
        ----------
        clicks : sequence of Click or (row, col, is_positive)
            As for :meth:`predict`.
        """
        self._require_image()
        click_list = [Click.from_tuple(c) for c in clicks]
        if not click_list and self._prev.bbox_above(self.threshold) is None:
            raise ValueError(
                "predict needs at least one click, or a non-empty prior mask (set_prev_mask) "
                "to predict from the mask alone"
            )
        check_clicks_inside(click_list, self.image_shape)
        return (yield from self._predict_steps(click_list))

    def run_steps(self, steps: Generator[ModelRequest, ModelOutput, Prediction]) -> Prediction:
        """Drive a :meth:`predict_steps` generator with this predictor's model."""
        return drive_steps(steps, self.run_request)

    def run_request(self, request: ModelRequest) -> ModelOutput:
        """One network call for a request of :meth:`predict_steps`."""
        points_dtype = torch.float32 if self.device.type == "mps" else torch.float64
        points = points_tensor(
            request.clicks,
            device=self.device,
            dtype=points_dtype,
            multiple_of=self._calls.clicks_per_sign,
        )
        return self.run_model(
            request.image, request.prev_mask, points, encoding_key=request.encoding_key
        )

    def spawn(self) -> Predictor:
        """A predictor with the same model and settings and no image (shares the weights)."""
        twin = copy.copy(self)
        twin._source = twin._prev = twin._zoom = twin._roi = None
        twin._encoding_key, twin._encoding = None, None
        return twin

    def _predict_steps(
        self, click_list: list[Click]
    ) -> Generator[ModelRequest, ModelOutput, Prediction]:
        if not self.cfr.applies_to(len(click_list)):
            return (yield from self._pass_steps(click_list, passes=1))
        previous = None
        for index in range(self.cfr.steps + 1):
            prediction = yield from self._pass_steps(click_list, passes=index + 1)
            if index == 0 and self._view_shrink(prediction.roi) < self.cfr.min_view_shrink:
                return prediction
            if not self.cfr.adaptive:
                continue
            current = prediction.candidate_map(prediction.selected).above(CFR_ADAPTIVE_THRESHOLD)
            changed = None if previous is None else np.count_nonzero(current != previous)
            if changed is not None and changed <= CFR_ADAPTIVE_PIXELS:
                return prediction
            previous = current
        return prediction

    def _view_shrink(self, roi: Roi | None) -> float:
        """How many times a pass's view was shrunk into the network input (longer side)."""
        if self.zoom_in is None or roi is None:
            return 1.0  # the whole image at its own size
        rmin, rmax, cmin, cmax = roi
        target_h, target_w = self.zoom_in.target_size
        return max((rmax - rmin + 1) / target_h, (cmax - cmin + 1) / target_w)

    def select_candidate(self, prediction: Prediction, index: int) -> Prediction:
        """Choose another candidate of the latest prediction and feed it back as the prior.

        For multi-candidate models (PiClick): the chosen mask becomes the previous mask of the
        next click and the mask ZoomIn crops around, as the official evaluation does when it
        picks a candidate.

        Parameters
        ----------
        prediction : Prediction
            The latest result of :meth:`predict`.
        index : int
            Candidate to use.

        Returns
        -------
        Prediction
            The same prediction with ``selected`` and ``probs`` changed.
        """
        count = prediction.num_candidates
        if not 0 <= index < count:
            raise IndexError(f"candidate {index} does not exist: the prediction has {count}")
        self._prev = prediction.candidate_map(index)
        self._zoom = self._zoom_map(prediction, index)
        return prediction.with_selected(index)

    def run_model(
        self,
        image: torch.Tensor,
        prev_mask: torch.Tensor,
        points: torch.Tensor,
        encoding_key: tuple | None = None,
    ) -> ModelOutput:
        """The raw network call with this predictor's device and precision.

        Parameters
        ----------
        image : torch.Tensor
            (B, 3, H, W) in [0, 1] on the predictor's device.
        prev_mask : torch.Tensor
            (B, 1, H, W) previous probabilities.
        points : torch.Tensor
            (B, 2M, 3) clicks in network-input pixels.
        encoding_key : tuple, optional
            Identifies ``image`` (e.g. its crop box); a call with the key of the previous
            call reuses its image encoding when :attr:`cache_image_encoding` is on.

        Returns
        -------
        ModelOutput
            float32 logits (B, K, H, W), scores (B, K) or None and match features (B, K) or
            None (PiClick's class probabilities, which the flip pairing compares).
        """
        autocast = (
            torch.autocast(self.device.type, dtype=self.autocast)
            if self.autocast is not None
            else nullcontext()
        )
        with torch.inference_mode(), autocast:
            if not self.cache_image_encoding or encoding_key is None:
                output = self._calls.forward(image, prev_mask, points)
            else:
                if encoding_key != self._encoding_key:
                    self._encoding = self._calls.encode_image(image)
                    self._encoding_key = encoding_key
                output = self._calls.decode(self._encoding, prev_mask, points)
        copy = self._calls.copy_outputs
        return ModelOutput(
            logits=_as_float(output.logits, copy),
            scores=_as_float(output.scores, copy),
            match_features=_as_float(output.match_features, copy),
        )

    def _pass_steps(
        self, clicks: list[Click], passes: int
    ) -> Generator[ModelRequest, ModelOutput, Prediction]:
        height, width = self.image_shape
        net_clicks = [(c.row, c.col, c.is_positive) for c in clicks]
        roi = None
        if self.zoom_in is not None:
            box = self._zoom.bbox_above(self.zoom_in.prob_thresh)
            roi = next_roi_from_box(self._roi, box, self.image_shape, clicks, self.zoom_in)
            self._roi = roi
            net_input, net_clicks = self._crop(net_clicks, roi)
        else:
            net_input = self._network_input((0, height - 1, 0, width - 1), None)
        batch, batch_clicks = net_input, [net_clicks]
        if self.with_flip:
            crop_width = net_input.shape[3]
            batch = torch.cat([net_input, torch.flip(net_input, dims=[3])], dim=0)
            batch_clicks.append([(r, crop_width - c - 1, p) for r, c, p in net_clicks])
        output = yield ModelRequest(
            image=batch[:, :3],
            prev_mask=batch[:, 3:],
            clicks=batch_clicks,
            encoding_key=(roi, tuple(batch.shape)),
        )
        logits, scores = output.logits, output.scores
        if self.with_flip:
            logits, scores = _average_flipped(output)
        probs = torch.sigmoid(logits)[0].cpu().numpy()
        selected = int(torch.argmax(scores[0])) if scores is not None else 0
        box = roi if roi is not None else (0, height - 1, 0, width - 1)
        maps = [RoiMap.pasted((height, width), box, candidate) for candidate in probs]
        prediction = Prediction(
            scores=None if scores is None else scores[0].cpu().numpy(),
            selected=selected,
            roi=roi,
            passes=passes,
            threshold=self.threshold,
            zoom_logits=logits[0].cpu().numpy() if self.model.zoom_in_on_logits else None,
            maps=maps,
        )
        self._prev = maps[selected]
        self._zoom = self._zoom_map(prediction, selected)
        return prediction

    def _zoom_map(self, prediction: Prediction, index: int) -> RoiMap:
        """The full-image map ZoomIn chooses its next crop from, for one candidate."""
        if prediction.zoom_logits is None:
            return prediction.candidate_map(index)
        logits = prediction.zoom_logits[index]
        height, width = self.image_shape
        box = prediction.roi if prediction.roi is not None else (0, height - 1, 0, width - 1)
        return RoiMap.pasted(self.image_shape, box, logits)

    def _crop(
        self, clicks: list[tuple[float, float, bool]], roi: Roi
    ) -> tuple[torch.Tensor, list[tuple[float, float, bool]]]:
        rmin, rmax, cmin, cmax = roi
        target_h, target_w = self.zoom_in.target_size
        crop = self._network_input(roi, (target_h, target_w))
        scaled = [
            (
                target_h * (r - rmin) / (rmax - rmin + 1),
                target_w * (c - cmin) / (cmax - cmin + 1),
                p,
            )
            for r, c, p in clicks
        ]
        return crop, scaled

    def _network_input(self, roi: Roi, size: tuple[int, int] | None) -> torch.Tensor:
        """(1, 4, h, w) image and previous mask of an ROI, resized to ``size`` (None: as is).

        A crop up to :data:`GATHER_AREA_RATIO` times the network input takes the official
        path (full-resolution crop, ``F.interpolate`` on the device); a larger one (the whole
        slice at the first click) is resized from the source pixels the resize reads, so its
        cost does not grow with the crop.
        """
        rmin, rmax, cmin, cmax = roi
        crop_size = (rmax - rmin + 1, cmax - cmin + 1)
        if size is not None and crop_size[0] * crop_size[1] > GATHER_AREA_RATIO * size[0] * size[1]:

            def read(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
                rows, cols = rows + rmin, cols + cmin
                image = self._source.block(rows, cols)
                return np.concatenate([image, self._prev.values(rows, cols)[None]], axis=0)

            small = resize_at(read, crop_size, size)
            return torch.from_numpy(small)[None].to(self.device)
        crop = np.concatenate([self._source.crop(roi), self._prev.crop(roi)[None]], axis=0)
        net_input = torch.from_numpy(crop)[None].to(self.device)
        if size is None:
            return net_input
        return F.interpolate(net_input, size=size, mode="bilinear", align_corners=True)

    def _require_image(self) -> None:
        if self._source is None:
            raise RuntimeError("no image set: call set_image(image) first")


def _average_flipped(output: ModelOutput) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Merge the plain (batch item 0) and flipped (item 1) passes into one (1, K, h, w).

    One candidate: the official average ``0.5 * (a + flip(b))``. Several (PiClick): the
    flipped candidates are first paired with the plain ones by the official matching
    (:mod:`napari_clickseg.engine.candidate_matching`), the logits of each pair averaged
    and their scores summed, as the official ``max_score`` branch does.
    """
    logits, scores, features = output.logits, output.scores, output.match_features
    plain, mirrored = logits[:1], torch.flip(logits[1:], dims=[3])
    if logits.shape[1] == 1:
        merged_scores = None if scores is None else 0.5 * (scores[:1] + scores[1:])
        return 0.5 * (plain + mirrored), merged_scores
    perm = match_flipped_candidates(
        plain[0],
        mirrored[0],
        None if features is None else features[0],
        None if features is None else features[1],
    )
    index = torch.from_numpy(perm).to(logits.device)
    merged_scores = None if scores is None else scores[:1, index] + scores[1:]
    return 0.5 * (plain[:, index] + mirrored), merged_scores


def _as_float(tensor: torch.Tensor | None, copy: bool) -> torch.Tensor | None:
    """float32, and a copy where the network's output buffers are reused (CUDA graphs)."""
    if tensor is None:
        return None
    tensor = tensor.float()
    return tensor.clone() if copy else tensor
