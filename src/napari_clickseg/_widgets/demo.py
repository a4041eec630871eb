"""Open napari with a sample volume and the annotation dock, ready to click (``make demo``).

``python -m napari_clickseg._widgets.demo [em_stack|brain_mri|knee_mri]``
"""

from __future__ import annotations

import sys
from typing import Any

SAMPLES = ("em_stack", "brain_mri", "knee_mri")


def build_demo_viewer(sample: str = "em_stack", show: bool = True) -> tuple[Any, Any]:
    """A viewer holding a synthetic sample and the annotation dock.

    Parameters
    ----------
    sample : {'em_stack', 'brain_mri', 'knee_mri'}
        Which synthetic sample to open.
    show : bool
        Show the window (False for screenshots and tests).

    Returns
    -------
    tuple
        (viewer, dock).
    """
    import napari

    from napari_clickseg._widgets.annotation_dock import AnnotationDock
    from napari_clickseg.data import samples

    if sample not in SAMPLES:
        raise ValueError(f"unknown sample {sample!r}; choose one of {', '.join(SAMPLES)}")
    viewer = napari.Viewer(title="napari-clickseg demo", show=show)
    for data, meta, kind in getattr(samples, f"{sample}_sample")():
        getattr(viewer, f"add_{kind}")(data, **meta)
    for layer in list(viewer.layers):
        if type(layer).__name__ == "Labels":
            layer.visible = False  # the ground truth stays available but out of the way
    dock = AnnotationDock(viewer)
    viewer.window.add_dock_widget(dock, name="ClickSeg annotation", area="right")
    image = next(
        layer for layer in reversed(viewer.layers)
        if type(layer).__name__ == "Image" and layer.visible
    )
    dock.image_combo.setCurrentText(image.name)
    viewer.layers.selection.active = image
    viewer.dims.set_current_step(0, image.data.shape[0] // 2)
    return viewer, dock


def main(argv: list[str] | None = None) -> int:
    """Start the demo and run napari's event loop."""
    import napari

    args = sys.argv[1:] if argv is None else argv
    build_demo_viewer(args[0] if args else "em_stack")
    napari.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
