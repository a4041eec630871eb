"""Reporting an evaluation: the papers' table, a per-object CSV, a JSON summary for machines and
an mIoU-vs-clicks plot."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from napari_clickseg.engine.evaluation import EvaluationResult
from napari_clickseg.engine.metrics import NocSummary, noc, official_threshold
from napari_clickseg.io.atomic import atomic_write


def _percents(summary: NocSummary) -> list[int]:
    return [p for p in (80, 85, 90, 95) if official_threshold(p) in summary.thresholds]


def results_table(
    result: EvaluationResult,
    percents: tuple[int, ...] = (85, 90),
    miou_clicks: tuple[int, ...] = (1, 3, 5, 10, 20),
) -> str:
    """The papers' table as aligned text: NoC, NoF, mIoU@k, seconds per click.

    ``s/click`` is the model's time per click (the papers' SPC); ``clicker s/click`` the
    simulated user's, which the papers leave out.

    Parameters
    ----------
    result : EvaluationResult
        From :func:`~napari_clickseg.engine.evaluation.evaluate_dataset`.
    percents : tuple of int
        NoC / NoF thresholds to show (80, 85, 90, 95).
    miou_clicks : tuple of int
        k values of mIoU@k (shown as NaN beyond the shortest curve).

    Returns
    -------
    str
        A header line and a value line.
    """
    summary = result.summary
    percents = tuple(p for p in percents if p in _percents(summary))
    header = [f"NoC@{p}" for p in percents] + [f"NoF@{p}" for p in percents]
    header += [f"mIoU@{k}" for k in miou_clicks] + ["s/click", "clicker s/click", "objects"]
    values = [f"{summary.noc_at(p):.2f}" for p in percents]
    values += [str(summary.nof_at(p)) for p in percents]
    values += [f"{summary.miou_at(k):.3f}" for k in miou_clicks]
    values += [
        f"{result.seconds_per_click:.3f}",
        f"{result.clicker_seconds_per_click:.4f}",
        str(summary.objects),
    ]
    widths = [max(len(h), len(v)) for h, v in zip(header, values, strict=True)]
    head = " | ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))
    row = " | ".join(v.rjust(w) for v, w in zip(values, widths, strict=True))
    return f"{head}\n{row}"


def result_rows(result: EvaluationResult) -> list[dict[str, Any]]:
    """One row per object: name, NoC per threshold, final IoU, time, clicks, IoU per click."""
    summary = result.summary
    rows = []
    for record in result.objects:
        row: dict[str, Any] = {"object": record.name, "clicks": len(record.ious)}
        for percent in _percents(summary):
            threshold = official_threshold(percent)
            row[f"noc@{percent}"] = noc(record.ious, threshold, summary.max_clicks)
        row["final_iou"] = f"{record.ious[-1]:.6f}"
        row["seconds"] = f"{sum(record.seconds):.4f}"
        row["clicker_seconds"] = f"{sum(record.clicker_seconds):.4f}"
        row["click_sequence"] = " ".join(
            f"{int(c.row)},{int(c.col)},{'+' if c.is_positive else '-'}" for c in record.clicks
        )
        for index in range(summary.max_clicks):
            value = record.ious[index] if index < len(record.ious) else None
            row[f"iou@{index + 1}"] = "" if value is None else f"{value:.6f}"
        rows.append(row)
    return rows


def write_csv(result: EvaluationResult, path: str | Path) -> Path:
    """Write :func:`result_rows` as CSV (atomically) and return the path."""
    path = Path(path)
    rows = result_rows(result)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    partial.replace(path)
    return path


def summary_dict(
    result: EvaluationResult,
    model: dict[str, Any] | None = None,
    dataset: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every metric of an evaluation, its settings and identities, as plain JSON-able data.

    Parameters
    ----------
    result : EvaluationResult
        The evaluation.
    model : dict, optional
        The model's identity (name, file, SHA-256, predictor settings), as the caller knows it.
    dataset : dict, optional
        The data set's identity (spec, adapter, layout, options).
    extra : dict, optional
        Anything else to record (package version, date, processes).

    Returns
    -------
    dict
        ``metrics`` (NoC, NoF per official threshold, the whole mIoU curve), ``timing`` (model
        and clicker seconds per click, totals), ``settings`` (the protocol), ``model``,
        ``dataset`` and ``objects`` (name, clicks, final IoU per object).
    """
    summary = result.summary
    percents = _percents(summary)
    clicks = sum(len(r.ious) for r in result.objects)
    model_seconds = sum(sum(r.seconds) for r in result.objects)
    clicker_seconds = sum(sum(r.clicker_seconds) for r in result.objects)
    return {
        "format": "napari-clickseg evaluation summary 1",
        "metrics": {
            "objects": summary.objects,
            "max_clicks": summary.max_clicks,
            "noc": {str(p): _number(summary.noc_at(p)) for p in percents},
            "nof": {str(p): summary.nof_at(p) for p in percents},
            "miou": {str(k): _number(v) for k, v in enumerate(summary.miou, start=1)},
        },
        "timing": {
            "clicks": clicks,
            "model_seconds_per_click": result.seconds_per_click,
            "clicker_seconds_per_click": result.clicker_seconds_per_click,
            "model_seconds": model_seconds,
            "clicker_seconds": clicker_seconds,
        },
        "settings": dataclasses.asdict(result.settings),
        "model": dict(model or {}),
        "dataset": dict(dataset or {}),
        **dict(extra or {}),
        "objects": [
            {"object": r.name, "clicks": len(r.ious), "final_iou": _number(r.ious[-1])}
            for r in result.objects
        ],
    }


def _number(value: float) -> float | None:
    """JSON has no NaN: an undefined value (e.g. mIoU past the shortest curve) is null."""
    return None if math.isnan(value) else float(value)


def write_summary_json(summary: dict[str, Any], path: str | Path) -> Path:
    """Write a :func:`summary_dict` as indented JSON (atomically) and return the path."""
    text = json.dumps(summary, indent=2, default=str) + "\n"
    return atomic_write(path, lambda temporary: temporary.write_text(text))


def plot_miou(results: dict[str, EvaluationResult], path: str | Path, title: str = "") -> Path:
    """Plot mIoU against the number of clicks for one or more evaluations into a PNG.

    Parameters
    ----------
    results : dict of str to EvaluationResult
        Label -> result (e.g. model names).
    path : str or Path
        PNG to write.
    title : str
        Plot title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(figsize=(6, 4), dpi=120)
    for label, result in results.items():
        curve = result.summary.miou
        axes.plot(range(1, len(curve) + 1), curve, marker="o", markersize=3, label=label)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("clicks")
    axes.set_ylabel("mIoU")
    axes.set_ylim(0, 1)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    if title:
        axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return Path(path)
