"""Clicks as network input: the official points layout and binary click disks.

The layout and the disk maths follow the official SimpleClick code (``isegm/model/ops.py``,
``DistMaps`` with ``use_disks=True``) exactly: squared distances from every pixel to every
click at float coordinates, the minimum over positive and over negative clicks separately,
and a disk ``d^2 <= radius^2``. The radius is in network-input pixels.

Bit-exactness detail: in the official evaluation the click coordinates reach the network as
float64 (ZoomIn computes them from NumPy integers), and ``DistMaps`` subtracts them in place
from a float32 pixel grid, which computes in float64 and rounds to float32; the squares and
the sum are float32. :func:`points_tensor` therefore keeps float64 and :func:`click_disks`
rounds the differences the same way, so boundary pixels of the disks match exactly (float32
points give the same result as a float32 subtraction).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

#: Distance given to padding clicks; far larger than any disk radius.
_INVALID_DISTANCE = 1e6


def points_tensor(
    clicks: Sequence[Sequence[tuple[float, float, bool]]],
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float64,
    multiple_of: int = 1,
) -> torch.Tensor:
    """Pack click lists into the official (B, 2M, 3) points tensor.

    Parameters
    ----------
    clicks : sequence of sequences of (row, col, is_positive)
        One click list per batch item, in the order the clicks were made. Coordinates are
        in network-input pixels and may be fractional.
    device : torch.device or str, optional
        Device of the returned tensor.
    dtype : torch.dtype
        float64 (the default) keeps fractional click positions as the official evaluation
        does; use float32 on devices without float64 (Apple MPS).
    multiple_of : int
        Round M up to a multiple of this (more unused rows; a compiled network then sees few
        distinct shapes). 1, the official layout, by default.

    Returns
    -------
    torch.Tensor
        Tensor of shape (B, 2M, 3) with M = max(#positive, #negative, 1) over the
        batch, rounded up to ``multiple_of``. The first M rows of an item are its positive
        clicks, the last M its negative clicks, each as (row, col, click_index); unused rows
        are (-1, -1, -1).
    """
    per_item = []
    for item in clicks:
        positives, negatives = [], []
        for index, (row, col, is_positive) in enumerate(item):
            (positives if is_positive else negatives).append((float(row), float(col), index))
        per_item.append((positives, negatives))
    num_max = max([1] + [max(len(p), len(n)) for p, n in per_item])
    num_max = -(-num_max // multiple_of) * multiple_of
    pad = [(-1.0, -1.0, -1.0)]
    rows = [
        positives + pad * (num_max - len(positives)) + negatives + pad * (num_max - len(negatives))
        for positives, negatives in per_item
    ]
    return torch.tensor(rows, dtype=dtype, device=device).reshape(len(rows), 2 * num_max, 3)


def click_disks(points: torch.Tensor, height: int, width: int, radius: float = 5.0) -> torch.Tensor:
    """Binary disk maps of the positive and negative clicks.

    Parameters
    ----------
    points : torch.Tensor
        Clicks in the layout of :func:`points_tensor`, shape (B, 2M, 3).
    height, width : int
        Size of the maps (the network input size).
    radius : float
        Disk radius in network-input pixels (5 in all released models).

    Returns
    -------
    torch.Tensor
        Float tensor (B, 2, height, width): channel 0 the positive disks, channel 1 the
        negative disks, each 1 inside a disk and 0 elsewhere.
    """
    batch, num_rows, _ = points.shape
    num_per_sign = num_rows // 2
    coords = points[..., :2].reshape(-1, 2)
    if not coords.is_floating_point():
        coords = coords.float()
    invalid = coords.max(dim=1).values < 0
    rows = torch.arange(height, dtype=coords.dtype, device=points.device)
    cols = torch.arange(width, dtype=coords.dtype, device=points.device)
    # Differences in the points' precision rounded to float32, then float32 squares and sum:
    # the official arithmetic (see the module docstring).
    d_row = (rows[None, :] - coords[:, 0:1]).float() ** 2
    d_col = (cols[None, :] - coords[:, 1:2]).float() ** 2
    dist = d_row[:, :, None] + d_col[:, None, :]
    dist[invalid] = _INVALID_DISTANCE
    dist = dist.view(batch, 2, num_per_sign, height, width).amin(dim=2)
    return (dist <= radius**2).float()


def click_maps(
    prev_mask: torch.Tensor,
    points: torch.Tensor,
    size: tuple[int, int],
    radius: float = 5.0,
    with_prev_mask: bool = True,
) -> torch.Tensor:
    """The network's click input: [previous mask, positive disks, negative disks].

    Parameters
    ----------
    prev_mask : torch.Tensor
        (B, 1, H, W) previous probability map.
    points : torch.Tensor
        (B, 2M, 3) clicks, see :func:`points_tensor`.
    size : tuple of int
        (H, W) of the network input.
    radius : float
        Disk radius in network-input pixels.
    with_prev_mask : bool
        False for models without the previous-mask channel.

    Returns
    -------
    torch.Tensor
        (B, 3, H, W), or (B, 2, H, W) without the previous mask.
    """
    disks = click_disks(points, size[0], size[1], radius)
    return torch.cat([prev_mask, disks], dim=1) if with_prev_mask else disks
