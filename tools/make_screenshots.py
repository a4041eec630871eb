"""Screenshot of the annotation dock in use on the synthetic brain MRI sample.

Run under a display or a virtual one:
``xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python tools/make_screenshots.py``
Writes docs/images/annotation_dock.png (the whole window: canvas, layers and the dock).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from scipy.ndimage import distance_transform_edt, gaussian_filter

OUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "annotation_dock.png"


def _wait_idle(dock, timeout: float = 120.0) -> None:
    from qtpy.QtWidgets import QApplication

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        QApplication.processEvents()
        if dock.runner.idle:
            for _ in range(5):
                QApplication.processEvents()
            return
        time.sleep(0.02)
    raise TimeoutError("the dock did not finish its work in time")


def main() -> Path:
    from PIL import Image

    from napari_clickseg._widgets.demo import build_demo_viewer

    viewer, dock = build_demo_viewer("brain_mri", show=True)
    viewer.window._qt_window.resize(1500, 900)
    _wait_idle(dock)
    image = dock.image_layer
    seg = next(layer for layer in viewer.layers if layer.name == "seg").data
    z = int(np.argmax((seg > 0).sum(axis=(1, 2))))  # the slice with the most tumour
    viewer.dims.set_point(0, image.data_to_world((z, 0, 0))[0])
    tumour = seg[z] > 0
    depth = distance_transform_edt(tumour)
    centre = np.unravel_index(np.argmax(depth), tumour.shape)
    dock.add_click_at_world(image.data_to_world((z, *centre)), True)
    _wait_idle(dock)
    label = dock.commit()
    print("committed", label, dock.status.text())
    # The next object: the darkest tissue of the other hemisphere (one positive click).
    flair = gaussian_filter(image.data[z].astype(float), 2)
    interior = distance_transform_edt(flair > 0.25 * flair.max()) > 8
    half = flair.shape[1] // 2
    if centre[1] >= half:  # keep the hemisphere without the tumour
        interior[:, half:] = False
    else:
        interior[:, :half] = False
    interior[:, half - 12 : half + 12] = False  # not the dark midline between the hemispheres
    ventricle = np.unravel_index(np.argmin(np.where(interior, flair, np.inf)), flair.shape)
    dock.add_click_at_world(image.data_to_world((z, *ventricle)), True)
    _wait_idle(dock)
    viewer.reset_view()
    _wait_idle(dock)
    shot = viewer.screenshot(canvas_only=False, flash=False)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(shot[..., :3]).quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(
        OUT, optimize=True
    )
    viewer.close()
    return OUT


if __name__ == "__main__":
    path = main()
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
