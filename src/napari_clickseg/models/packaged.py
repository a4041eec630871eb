"""The models trained by the project that ship inside the package.

They are files in the project's own format (safetensors + JSON config, see
:mod:`napari_clickseg.models.checkpoints`) in the package's ``weights/`` folder, so the plugin
segments offline, out of the box. The name :data:`DEFAULT_MODEL_NAME` (``"default"``) stands
for :data:`DEFAULT_MODEL_FILE` wherever a model name is accepted (``load_model("default")``,
``clickseg ... --model default``). Its model card is ``docs/model_card.md``.
"""

from __future__ import annotations

from pathlib import Path

from napari_clickseg.models.errors import UnknownWeightsError

__all__ = [
    "DEFAULT_MODEL_FILE",
    "DEFAULT_MODEL_NAME",
    "PACKAGED_WEIGHTS_DIR",
    "default_model_path",
    "packaged_weights",
]

#: Where the project's own models ship inside the package.
PACKAGED_WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"

#: The name that means the shipped default model.
DEFAULT_MODEL_NAME = "default"

#: The default model's file in :data:`PACKAGED_WEIGHTS_DIR`.
DEFAULT_MODEL_FILE = "clickseg_default_xtiny224.safetensors"


def packaged_weights() -> list[Path]:
    """The model files shipped in the package: the default first, then the others by name."""
    if not PACKAGED_WEIGHTS_DIR.is_dir():
        return []
    files = sorted(PACKAGED_WEIGHTS_DIR.glob("*.safetensors"))
    return sorted(files, key=lambda path: path.name != DEFAULT_MODEL_FILE)


def default_model_path() -> Path:
    """The shipped default model's file.

    Raises
    ------
    UnknownWeightsError
        If this installation has no default model (a source tree without the weights file).
    """
    path = PACKAGED_WEIGHTS_DIR / DEFAULT_MODEL_FILE
    if not path.is_file():
        raise UnknownWeightsError(
            f"the default model {DEFAULT_MODEL_FILE} is missing from {PACKAGED_WEIGHTS_DIR}; "
            "reinstall napari-clickseg, or name a checkpoint file or 'baseline' instead"
        )
    return path
