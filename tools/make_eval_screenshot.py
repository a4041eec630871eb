"""Make docs/images/evaluation_dock.png: the evaluation dock after a run on the sample EM stack.

Needs a display; on a headless machine:

    xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python tools/make_eval_screenshot.py

The run is the dock's default, the shipped default model, on the synthetic ssTEM sample's
mitochondria in two slices, so it is quick and needs nothing downloaded.
:func:`make_screenshot` can also be called from another screenshot script.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "evaluation_dock.png"


def _wait(app, tab, seconds: float = 600.0) -> None:
    deadline = time.monotonic() + seconds
    while tab.is_running:
        if time.monotonic() > deadline:
            raise TimeoutError("the evaluation did not finish in time")
        app.processEvents()
        time.sleep(0.02)
    app.processEvents()


def make_screenshot(
    path: str | Path = OUT,
    size: tuple[int, int] = (1280, 980),
    slices: tuple[int, int] = (7, 8),
    max_clicks: int = 10,
) -> Path:
    """Open a viewer with the EM sample, run the dock's evaluation and save a window PNG.

    Parameters
    ----------
    path : str or Path
        PNG to write (its folder is created).
    size : tuple of int
        Window (width, height) in pixels.
    slices : tuple of int
        First and last slice evaluated.
    max_clicks : int
        Click budget per object.

    Returns
    -------
    Path
        The PNG written.
    """
    import napari
    import numpy as np
    from PIL import Image
    from qtpy.QtWidgets import QApplication

    from napari_clickseg._widgets.evaluation_dock import EvaluationDock
    from napari_clickseg.data.samples import em_stack_sample

    viewer = napari.Viewer(title="napari-clickseg evaluation")
    for data, meta, kind in em_stack_sample():
        getattr(viewer, f"add_{kind}")(data, **meta)
    dock = EvaluationDock(viewer)
    viewer.window.add_dock_widget(dock, name="ClickSeg evaluation", area="right")
    viewer.window._qt_window.resize(*size)
    app = QApplication.instance()

    tab = dock.evaluate_tab
    tab.image_combo.set_layer("EM stack")
    tab.gt_combo.set_layer("mitochondria")
    tab.selection.first.setValue(slices[0])
    tab.selection.last.setValue(slices[1])
    tab.max_clicks.setValue(max_clicks)
    viewer.dims.set_point(0, slices[0])
    if not tab.run():
        raise RuntimeError(f"the dock refused to run: {tab.status.text()}")
    _wait(app, tab)
    tab.table.selectRow(0)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    viewer.reset_view()
    scroll = dock.tabs.currentWidget().verticalScrollBar()
    scroll.setValue(scroll.maximum())
    app.processEvents()

    picture = viewer.screenshot(canvas_only=False, flash=False)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A 256-colour palette keeps the PNG small; the GUI has few colours.
    Image.fromarray(np.asarray(picture)[..., :3]).quantize(256).save(path, optimize=True)
    viewer.close()
    return path


def main() -> None:
    """Command line: ``make_eval_screenshot.py [--out PNG]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(OUT), help=f"PNG to write (default {OUT})")
    parser.add_argument("--slices", type=int, nargs=2, default=(7, 8), metavar=("FIRST", "LAST"))
    parser.add_argument("--max-clicks", type=int, default=10)
    args = parser.parse_args()
    path = make_screenshot(args.out, slices=tuple(args.slices), max_clicks=args.max_clicks)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
