"""Many predictions advance together, one batched network call per round.

A prediction written as a generator (:meth:`Predictor.predict_steps`, or anything that
delegates to it with ``yield from``, such as the evaluation protocol of one object) yields a
:class:`~napari_clickseg.engine.predictor.ModelRequest` for every forward pass. This module
collects the pending requests of many such generators, concatenates those with the same input
size into one batch (the clicks padded to a common count, which the networks ignore), runs the
model once and hands every generator its slice of the output. ZoomIn resizes every crop to the
network's input size, so all requests of an evaluation batch together.

The results equal one-at-a-time prediction up to floating-point reassociation in batched
matrix products (about 1e-6 in the logits); the image-encoding cache is not used here.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from napari_clickseg.engine.predictor import ModelRequest, Predictor
from napari_clickseg.models.interface import ModelOutput


@dataclass
class ComputeClock:
    """Seconds of computation attributed to one generator.

    A generator reads :attr:`elapsed` before and after a piece of work to time it. Driven
    alone (``live=True``) it is the wall clock; driven together with others, the driver
    advances it by the generator's own work plus its share of each batched network call.
    """

    live: bool = True
    _elapsed: float = field(default=0.0, repr=False)

    @property
    def elapsed(self) -> float:
        """Seconds so far (wall-clock time when live)."""
        return time.perf_counter() if self.live else self._elapsed

    def add(self, seconds: float) -> None:
        """Attribute more computation to this generator."""
        self._elapsed += seconds


Steps = Generator[ModelRequest, ModelOutput, Any]


def run_together(
    predictor: Predictor,
    generators: Sequence[Steps],
    max_batch: int = 8,
    clocks: Sequence[ComputeClock] | None = None,
) -> list[Any]:
    """Drive generators of model requests to completion with batched network calls.

    Parameters
    ----------
    predictor : Predictor
        Its model, device and precision run the batches.
    generators : sequence of generator
        Each yields :class:`ModelRequest` objects and receives their outputs.
    max_batch : int
        At most this many requests share one network call.
    clocks : sequence of ComputeClock, optional
        One per generator (not live); advanced by each generator's share of the work.

    Returns
    -------
    list
        The generators' return values, in order.
    """
    if max_batch < 1:
        raise ValueError(f"max_batch must be at least 1, got {max_batch}")
    if clocks is not None and len(clocks) != len(generators):
        raise ValueError(f"got {len(clocks)} clocks for {len(generators)} generators")
    results: list[Any] = [None] * len(generators)
    pending: dict[int, ModelRequest] = {}
    for index, steps in enumerate(generators):
        _advance(index, steps, None, pending, results, clocks)
    while pending:
        groups: dict[tuple, list[int]] = {}
        for index, request in pending.items():
            groups.setdefault(tuple(request.image.shape[1:]), []).append(index)
        for members in groups.values():
            for start in range(0, len(members), max_batch):
                chunk = members[start : start + max_batch]
                requests = [pending.pop(i) for i in chunk]
                began = time.perf_counter()
                outputs = _run_batch(predictor, requests)
                share = (time.perf_counter() - began) / len(chunk)
                for index, output in zip(chunk, outputs, strict=True):
                    if clocks is not None:
                        clocks[index].add(share)
                    _advance(index, generators[index], output, pending, results, clocks)
    return results


def _advance(index, steps, output, pending, results, clocks) -> None:
    began = time.perf_counter()
    try:
        pending[index] = next(steps) if output is None else steps.send(output)
    except StopIteration as finished:
        results[index] = finished.value
    if clocks is not None:
        clocks[index].add(time.perf_counter() - began)


def _run_batch(predictor: Predictor, requests: list[ModelRequest]) -> list[ModelOutput]:
    """One network call for several requests; the output split back per request."""
    merged = ModelRequest(
        image=torch.cat([r.image for r in requests]),
        prev_mask=torch.cat([r.prev_mask for r in requests]),
        clicks=[item for r in requests for item in r.clicks],
        encoding_key=None,
    )
    output = predictor.run_request(merged)
    sizes = [r.image.shape[0] for r in requests]
    logits = output.logits.split(sizes)
    scores = [None] * len(sizes) if output.scores is None else output.scores.split(sizes)
    features = (
        [None] * len(sizes)
        if output.match_features is None
        else output.match_features.split(sizes)
    )
    return [
        ModelOutput(logits=a, scores=b, match_features=c)
        for a, b, c in zip(logits, scores, features, strict=True)
    ]
