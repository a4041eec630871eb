"""napari-clickseg: click-based interactive segmentation for napari.

The public Python API (documented in docs/api.md) is importable from here; torch and the
models load lazily so that napari starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_model": "napari_clickseg.models.checkpoints",
    "save_model": "napari_clickseg.models.checkpoints",
    "build_model": "napari_clickseg.models.registry",
    "variant_config": "napari_clickseg.models.registry",
    "points_tensor": "napari_clickseg.models.click_maps",
    "ModelOutput": "napari_clickseg.models.interface",
    "Click": "napari_clickseg.engine.clicks",
    "Predictor": "napari_clickseg.engine.predictor",
    "Prediction": "napari_clickseg.engine.predictor",
    "CFRSettings": "napari_clickseg.engine.predictor",
    "ZoomInSettings": "napari_clickseg.engine.zoom_in",
    "Session": "napari_clickseg.engine.session",
}

__all__ = [  # noqa: RUF022 - grouped as in _EXPORTS
    "__version__",
    "load_model",
    "save_model",
    "build_model",
    "variant_config",
    "points_tensor",
    "ModelOutput",
    "Click",
    "Predictor",
    "Prediction",
    "CFRSettings",
    "ZoomInSettings",
    "Session",
]

if TYPE_CHECKING:
    from napari_clickseg.engine.clicks import Click
    from napari_clickseg.engine.predictor import CFRSettings, Prediction, Predictor
    from napari_clickseg.engine.session import Session
    from napari_clickseg.engine.zoom_in import ZoomInSettings
    from napari_clickseg.models.checkpoints import load_model, save_model
    from napari_clickseg.models.click_maps import points_tensor
    from napari_clickseg.models.interface import ModelOutput
    from napari_clickseg.models.registry import build_model, variant_config


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'napari_clickseg' has no attribute {name!r}")
