"""Clicks in image pixel coordinates."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Click:
    """One click on an image.

    Attributes
    ----------
    row, col : float
        Position in image pixels, (row, col) = (y, x); fractional positions are allowed.
    is_positive : bool
        True for a click on the object, False for a click on the background.
    """

    row: float
    col: float
    is_positive: bool

    @classmethod
    def from_tuple(cls, click: tuple[float, float, bool] | Click) -> Click:
        """Accept a Click or a (row, col, is_positive) tuple."""
        if isinstance(click, Click):
            return click
        try:
            row, col, is_positive = click
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"a click must be a Click or a (row, col, is_positive) tuple, got {click!r}"
            ) from error
        return cls(float(row), float(col), bool(is_positive))


def check_clicks_inside(clicks: list[Click], shape: tuple[int, int]) -> None:
    """Raise a clear error for clicks outside an image of ``shape`` (rows, cols).

    Parameters
    ----------
    clicks : list of Click
        Clicks to check.
    shape : tuple of int
        Image (rows, cols).
    """
    height, width = shape
    for index, click in enumerate(clicks):
        if not (0 <= click.row <= height - 1 and 0 <= click.col <= width - 1):
            raise ValueError(
                f"click {index} at (row={click.row:g}, col={click.col:g}) lies outside the "
                f"image of {height} rows x {width} cols; clicks are (row, col) in pixels"
            )
