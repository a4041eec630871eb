"""Device and precision choice: 'auto' follows the hardware, impossible requests are explained."""

from __future__ import annotations

import pytest
import torch

from napari_clickseg.engine import device as device_module
from napari_clickseg.engine.device import autocast_dtype, resolve_precision

CPU = torch.device("cpu")


@pytest.mark.parametrize(("native", "expected"), [(True, "bfloat16"), (False, "float32")])
def test_auto_is_bfloat16_only_on_a_cpu_with_bfloat16_hardware(monkeypatch, native, expected):
    monkeypatch.setattr(device_module, "cpu_has_native_bfloat16", lambda: native)
    assert resolve_precision("auto", CPU) == expected
    assert autocast_dtype("auto", CPU) == (torch.bfloat16 if native else None)
    assert resolve_precision("float32", CPU) == "float32"


def test_bfloat16_on_a_cpu_without_the_hardware_is_refused(monkeypatch):
    monkeypatch.setattr(device_module, "cpu_has_native_bfloat16", lambda: False)
    with pytest.raises(ValueError, match=r"emulated and slower than float32.*AMX"):
        autocast_dtype("bfloat16", CPU)
    monkeypatch.setattr(device_module, "cpu_has_native_bfloat16", lambda: True)
    assert autocast_dtype("bfloat16", CPU) == torch.bfloat16


def test_float16_and_unknown_names_are_explained():
    with pytest.raises(ValueError, match="'float16' needs a CUDA GPU; on cpu use 'float32'"):
        autocast_dtype("float16", CPU)
    with pytest.raises(ValueError, match="precision must be one of auto, float32, bfloat16"):
        resolve_precision("half", CPU)


def test_mps_runs_auto_in_float32():
    assert resolve_precision("auto", torch.device("mps")) == "float32"
    with pytest.raises(ValueError, match=r"bfloat16.*needs a CUDA GPU or a CPU"):
        autocast_dtype("bfloat16", torch.device("mps"))


def test_the_cli_offers_the_same_precisions():
    from napari_clickseg.cli import PRECISION_CHOICES

    assert PRECISION_CHOICES == device_module.PRECISION_CHOICES
