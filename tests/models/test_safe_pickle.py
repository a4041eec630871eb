"""Restricted loading of research checkpoints: placeholders, refusals, damaged files."""

from __future__ import annotations

import builtins
import importlib
import io
import os
import pickle
import subprocess
import sys
import types
from collections import OrderedDict
from pathlib import Path

import pytest
import torch

from napari_clickseg.models.errors import (
    CheckpointError,
    NotACheckpointError,
    UnsafeCheckpointError,
)
from napari_clickseg.models.safe_pickle import (
    ResearchPlaceholder,
    is_placeholder,
    load_pickled_checkpoint,
    resolve_global,
)

LOSS_MODULE = "isegm.model.modeling.transformer_helper.cross_entropy_loss"


class _FakeResearchCode:
    """Installs a fake ``isegm`` package in sys.modules and removes it again."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def module(self, dotted: str) -> types.ModuleType:
        parts = dotted.split(".")
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            if name not in sys.modules:
                sys.modules[name] = types.ModuleType(name)
                self.names.append(name)
        return sys.modules[dotted]

    def add_class(self, dotted: str, cls: type) -> type:
        module = self.module(dotted)
        cls.__module__ = dotted
        cls.__qualname__ = cls.__name__
        setattr(module, cls.__name__, cls)
        return cls

    def remove(self) -> None:
        for name in reversed(self.names):
            sys.modules.pop(name, None)
        self.names.clear()


@pytest.fixture
def fake_isegm():
    fake = _FakeResearchCode()
    yield fake
    fake.remove()


def _research_checkpoint(fake: _FakeResearchCode) -> dict:
    class CrossEntropyLoss(torch.nn.Module):
        def __init__(self, use_sigmoid: bool = False, loss_weight: float = 1.0) -> None:
            super().__init__()
            self.use_sigmoid = use_sigmoid
            self.loss_weight = loss_weight

    class EasyDictLike(dict):
        pass

    fake.add_class(LOSS_MODULE, CrossEntropyLoss)
    fake.add_class("isegm.utils.easydict_like", EasyDictLike)
    params = EasyDictLike(depth=12, mean=(0.485, 0.456, 0.406))
    state_dict = OrderedDict(
        [
            ("backbone.patch_embed.proj.weight", torch.randn(8, 3, 4, 4)),
            ("head.bias", torch.arange(5, dtype=torch.float16)),
            ("counter", torch.tensor([3], dtype=torch.int64)),
        ]
    )
    config = {
        "class": "isegm.model.is_plainvit_model.PlainVitModel",
        "params": {
            "head_params": {
                "type": "builtin",
                "value": {"in_channels": [8, 16], "loss_decode": CrossEntropyLoss(loss_weight=0.5)},
                "specified": True,
            },
            "backbone_params": {"type": "builtin", "value": params, "specified": True},
            "norm_radius": {"type": "builtin", "value": 5, "specified": False},
        },
    }
    return {"state_dict": state_dict, "config": config}


@pytest.mark.filterwarnings("ignore:Couldn't retrieve source code")  # legacy save of a module
@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_research_checkpoint_loads_with_placeholders(tmp_path, fake_isegm, zip_format):
    checkpoint = _research_checkpoint(fake_isegm)
    path = tmp_path / "sbd_vit_xtiny.pth"
    torch.save(checkpoint, path, _use_new_zipfile_serialization=zip_format)
    fake_isegm.remove()
    assert not any(name == "isegm" or name.startswith("isegm.") for name in sys.modules)

    loaded = load_pickled_checkpoint(path)

    assert set(loaded) == {"state_dict", "config"}
    assert isinstance(loaded["state_dict"], OrderedDict)
    assert list(loaded["state_dict"]) == list(checkpoint["state_dict"])
    for key, tensor in checkpoint["state_dict"].items():
        assert loaded["state_dict"][key].dtype == tensor.dtype
        assert torch.equal(loaded["state_dict"][key], tensor)
    params = loaded["config"]["params"]
    assert params["norm_radius"]["value"] == 5
    loss = params["head_params"]["value"]["loss_decode"]
    assert isinstance(loss, ResearchPlaceholder) and is_placeholder(loss)
    assert loss.research_module == LOSS_MODULE
    assert loss.research_name == "CrossEntropyLoss"
    assert loss.qualified_name == f"{LOSS_MODULE}.CrossEntropyLoss"
    assert loss.attributes["loss_weight"] == 0.5
    assert "CrossEntropyLoss" in repr(loss)
    backbone = params["backbone_params"]["value"]
    assert backbone.dict_items == {"depth": 12, "mean": (0.485, 0.456, 0.406)}
    assert not any(name == "isegm" or name.startswith("isegm.") for name in sys.modules)


def test_placeholder_classes_are_cached_and_inert():
    cls = resolve_global("mmcv.cnn", "ConvModule")
    assert cls is resolve_global("mmcv.cnn", "ConvModule")
    assert is_placeholder(cls)
    obj = cls(1, 2, k=3)
    assert obj.args == (1, 2) and obj.kwargs == {"k": 3}
    assert "mmcv.cnn.ConvModule" in repr(cls)
    # Plain config records load as placeholders too, never as the real objects.
    assert is_placeholder(resolve_global("functools", "partial"))
    assert is_placeholder(resolve_global("torch.nn.modules.normalization", "LayerNorm"))
    # Extra research packages can be named by the caller.
    assert is_placeholder(resolve_global("mylab.nets", "Net", research_packages={"mylab"}))
    with pytest.raises(UnsafeCheckpointError, match=r"research_packages=\('mylab',\)"):
        resolve_global("mylab.nets", "Net")


class _Evil:
    """Pickles as a call of ``func(*args)``, like a malicious checkpoint."""

    def __init__(self, func, args) -> None:
        self.func = func
        self.args = args

    def __reduce__(self):
        return (self.func, self.args)


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_command_in_pickle_is_refused_and_never_runs(tmp_path, zip_format):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    payload = {
        "state_dict": OrderedDict(w=torch.ones(2)),
        "config": _Evil(os.system, (f"touch {marker}",)),
    }
    torch.save(payload, path, _use_new_zipfile_serialization=zip_format)

    with pytest.raises(UnsafeCheckpointError) as info:
        load_pickled_checkpoint(path)

    assert not marker.exists()
    message = str(info.value)
    assert f"{os.system.__module__}.system" in message
    assert str(path) in message
    assert info.value.global_name == f"{os.system.__module__}.system"
    assert isinstance(info.value, CheckpointError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("func", "args", "name"),
    [
        (builtins.eval, ("1 + 1",), "builtins.eval"),
        (builtins.getattr, ("abc", "upper"), "builtins.getattr"),
        (subprocess.Popen, (["true"],), "subprocess.Popen"),
        (importlib.import_module, ("os",), "importlib.import_module"),
        (torch.load, ("x.pth",), "torch.serialization.load"),
    ],
)
def test_other_dangerous_globals_are_refused(tmp_path, func, args, name):
    path = tmp_path / "evil.pth"
    torch.save({"config": _Evil(func, args)}, path)
    with pytest.raises(UnsafeCheckpointError, match=rf"'{name}'"):
        load_pickled_checkpoint(path)


def test_plain_values_round_trip(tmp_path):
    values = {
        "set": {1, 2},
        "frozenset": frozenset({3}),
        "slice": slice(1, 5, 2),
        "complex": 1 + 2j,
        "bytes": b"\x00\xffabc",
        "range": range(3),
        "dtype": torch.bfloat16,
        "device": torch.device("cpu"),
        "size": torch.Size([2, 3]),
        "parameter": torch.nn.Parameter(torch.ones(2)),
    }
    tagged = torch.arange(3)
    tagged.note = "kept"  # a tensor with attributes pickles via _rebuild_from_type_v2
    path = tmp_path / "plain.pth"
    torch.save({**values, "tagged": tagged}, path)
    loaded = load_pickled_checkpoint(path)
    tensors = ("parameter", "tagged")
    assert {k: v for k, v in loaded.items() if k not in tensors} == {
        k: v for k, v in values.items() if k not in tensors
    }
    assert torch.equal(loaded["tagged"], tagged) and loaded["tagged"].note == "kept"
    assert isinstance(loaded["parameter"], torch.nn.Parameter)
    assert torch.equal(loaded["parameter"], values["parameter"])


def test_numpy_values_load(tmp_path):
    np = pytest.importorskip("numpy")
    path = tmp_path / "np.pth"
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    torch.save({"array": array, "scalar": np.float64(2.5)}, path)
    loaded = load_pickled_checkpoint(path)
    np.testing.assert_array_equal(loaded["array"], array)
    assert loaded["array"].dtype == np.float32
    assert loaded["scalar"] == 2.5


def _saved_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (b"", r"empty \(0 bytes\)"),
        (b"hello, this is not a checkpoint\n", r"a text file \(it starts with 'hello"),
        (b"<!DOCTYPE html><html><body>Google Drive</body></html>", r"HTML web page"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 40, r"a 7z archive.*7z x"),
        (b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09", r"unrecognised binary file"),
    ],
    ids=["empty", "text", "html", "7z", "binary"],
)
def test_files_of_other_kinds_are_named(tmp_path, content, pattern):
    path = tmp_path / "weights.pth"
    path.write_bytes(content)
    with pytest.raises(NotACheckpointError, match=pattern) as info:
        load_pickled_checkpoint(path)
    assert str(path) in str(info.value)
    assert "expected" in str(info.value) or "unpack" in str(info.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(NotACheckpointError, match="no such file"):
        load_pickled_checkpoint(tmp_path / "absent.pth")
    with pytest.raises(NotACheckpointError, match="a directory"):
        load_pickled_checkpoint(tmp_path)


def test_truncated_zip_is_damaged(tmp_path):
    data = _saved_bytes({"state_dict": OrderedDict(w=torch.randn(64, 64))})
    path = tmp_path / "cut.pth"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(NotACheckpointError, match="damaged or truncated zip archive"):
        load_pickled_checkpoint(path)


def test_corrupted_zip_record_is_damaged(tmp_path):
    data = bytearray(_saved_bytes({"state_dict": OrderedDict(w=torch.randn(64, 64))}))
    start = data.index(b"data.pkl") + 40  # inside the pickle record's bytes
    data[start : start + 32] = b"\xff" * 32
    path = tmp_path / "corrupt.pth"
    path.write_bytes(bytes(data))
    with pytest.raises(NotACheckpointError, match=r"damaged|truncated"):
        load_pickled_checkpoint(path)


def test_truncated_legacy_file(tmp_path):
    buffer = io.BytesIO()
    torch.save({"w": torch.randn(256)}, buffer, _use_new_zipfile_serialization=False)
    path = tmp_path / "cut_legacy.pth"
    path.write_bytes(buffer.getvalue()[:-100])
    with pytest.raises(NotACheckpointError, match=r"truncated|damaged"):
        load_pickled_checkpoint(path)


def test_zip_that_is_not_a_checkpoint(tmp_path):
    import zipfile

    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(NotACheckpointError, match=r"no data.pkl; entries: readme.txt"):
        load_pickled_checkpoint(path)


def test_safetensors_file_is_named(tmp_path):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    path = tmp_path / "weights.safetensors"
    safetensors_torch.save_file({"w": torch.ones(2)}, str(path))
    with pytest.raises(NotACheckpointError, match="a safetensors file"):
        load_pickled_checkpoint(path)


def test_torchscript_archive_is_not_run(tmp_path):
    import zipfile

    # The layout torch.jit.save writes; torch.load would hand such a file to torch.jit.load.
    path = tmp_path / "scripted.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("scripted/data.pkl", pickle.dumps({}, protocol=2))
        archive.writestr("scripted/constants.pkl", pickle.dumps((), protocol=2))
        archive.writestr("scripted/code/__torch__.py", "def forward(self): ...\n")
    with pytest.raises(NotACheckpointError, match="TorchScript"):
        load_pickled_checkpoint(path)


@pytest.mark.parametrize(
    ("obj", "pattern"),
    [([1, 2], "holds a list"), (torch.zeros(2), "type Tensor"), (7, "type int")],
    ids=["list", "tensor", "int"],
)
def test_pickle_that_is_not_a_dict(tmp_path, obj, pattern):
    path = tmp_path / "notdict.pth"
    torch.save(obj, path)
    with pytest.raises(NotACheckpointError, match=rf"{pattern}.*checkpoint dict was expected"):
        load_pickled_checkpoint(path)


def test_plain_pickle_is_not_a_torch_file(tmp_path):
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps({"state_dict": {}}, protocol=2))
    with pytest.raises(NotACheckpointError, match="plain Python pickle"):
        load_pickled_checkpoint(path)


def test_plain_pickle_with_payload_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_Evil(os.system, (f"touch {marker}",)), protocol=2))
    with pytest.raises(UnsafeCheckpointError):
        load_pickled_checkpoint(path)
    assert not marker.exists()


def test_legacy_protocol_1(tmp_path):
    path = tmp_path / "old.pth"
    torch.save({"w": torch.ones(3)}, path, _use_new_zipfile_serialization=False, pickle_protocol=1)
    assert torch.equal(load_pickled_checkpoint(path)["w"], torch.ones(3))


def test_forced_weights_only_environment_is_explained(tmp_path, monkeypatch):
    path = tmp_path / "ok.pth"
    torch.save({"a": 1}, path)
    monkeypatch.setenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(RuntimeError, match="TORCH_FORCE_WEIGHTS_ONLY_LOAD"):
        load_pickled_checkpoint(path)


def test_bad_research_packages_argument(tmp_path):
    path = tmp_path / "ok.pth"
    torch.save({"a": 1}, path)
    with pytest.raises(ValueError, match="research_packages"):
        load_pickled_checkpoint(path, research_packages=[""])
    assert load_pickled_checkpoint(Path(path), research_packages=["mylab"]) == {"a": 1}
