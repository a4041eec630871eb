"""Training curves as a PNG: the loss per logged step and the validation NoC per epoch."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["plot_training_curves", "read_log"]


def read_log(path: str | Path) -> list[dict]:
    """The records of a ``log.jsonl`` file (lines that are not JSON objects are skipped)."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def plot_training_curves(log_path: str | Path, png_path: str | Path) -> Path:
    """Draw the loss (left) and validation NoC@85/90 (right) of a run.

    Parameters
    ----------
    log_path : str or Path
        The run's ``log.jsonl``.
    png_path : str or Path
        Where the figure goes (written atomically).

    Returns
    -------
    Path
        The PNG file.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    records = read_log(log_path)
    steps = [r for r in records if r.get("event") == "step"]
    epochs = [r for r in records if r.get("event") == "epoch"]
    figure = Figure(figsize=(10, 4), layout="constrained")
    loss_axes, noc_axes = figure.subplots(1, 2)
    loss_axes.plot([r["step"] for r in steps], [r["loss"] for r in steps], lw=1, label="step")
    trained = [r for r in epochs if r.get("loss") is not None]
    if trained:
        loss_axes.plot([r["steps"] for r in trained], [r["loss"] for r in trained], "o-",
                       label="epoch mean")  # fmt: skip
    loss_axes.set_xlabel("optimiser step")
    loss_axes.set_ylabel("training loss")
    loss_axes.legend()
    validated = [r for r in epochs if "noc90" in r]
    for key in ("noc85", "noc90"):
        noc_axes.plot([r["epoch"] for r in validated], [r[key] for r in validated], "o-",
                      label=key.upper().replace("NOC", "NoC@"))  # fmt: skip
    noc_axes.set_xlabel("epoch")
    noc_axes.set_ylabel("validation clicks (lower is better)")
    if validated:
        noc_axes.legend()
    else:
        noc_axes.text(0.5, 0.5, "no validation data", ha="center", transform=noc_axes.transAxes)
        noc_axes.set_xticks([])
        noc_axes.set_yticks([])
    png_path = Path(png_path)
    partial = png_path.with_name(png_path.name + ".partial.png")
    figure.savefig(partial, dpi=100)
    partial.replace(png_path)
    return png_path
