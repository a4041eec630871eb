"""Weights registry and download cache, against a local HTTP server only."""

from __future__ import annotations

import hashlib
import http.server
import os
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from napari_clickseg.models import weights
from napari_clickseg.models.errors import (
    ManualDownloadRequiredError,
    UnknownWeightsError,
    WeightsDownloadError,
)
from napari_clickseg.models.weights import (
    KNOWN_WEIGHTS,
    WeightsInfo,
    cache_dir,
    fetch_weights,
    get_weights_info,
    resolve_weights,
)

PAYLOAD_BYTES = 2 * (1 << 20) + 12345  # more than one download chunk


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Refuse any connection that is not to this machine, and bypass proxies."""
    real_connect = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise OSError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    for name in (
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("CLICKSEG_CACHE_DIR", str(directory))
    return directory


@dataclass
class Server:
    root: Path
    url: str
    hits: list[str] = field(default_factory=list)

    def add(self, name: str, data: bytes) -> str:
        (self.root / name).write_bytes(data)
        return f"{self.url}/{urllib.parse.quote(name)}"


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    hits: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.timeout = 5
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield Server(root, f"http://127.0.0.1:{httpd.server_address[1]}", hits)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def payload() -> bytes:
    return os.urandom(PAYLOAD_BYTES)


def _register(monkeypatch, url: str, sha256: str | None) -> str:
    info = WeightsInfo(
        name="test_tiny",
        architecture="simpleclick",
        variant="xtiny",
        url=url,
        sha256=sha256,
        filename="test_tiny.pth",
        training_data="none",
        description="test weights",
    )
    monkeypatch.setitem(KNOWN_WEIGHTS, info.name, info)
    return info.name


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


def test_download_by_name_verifies_reports_and_caches(server, cache, payload, monkeypatch):
    url = server.add("tiny.pth", payload)
    name = _register(monkeypatch, url, hashlib.sha256(payload).hexdigest())
    calls: list[tuple[int, int]] = []

    path = fetch_weights(name, progress=lambda done, total: calls.append((done, total)))

    assert path == cache / "test_tiny.pth"
    assert path.read_bytes() == payload
    assert calls[0] == (0, len(payload))
    assert calls[-1] == (len(payload), len(payload))
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert len(calls) > 2
    assert server.hits == ["/tiny.pth"]
    assert _files(cache) == ["test_tiny.pth"]

    again: list[tuple[int, int]] = []
    assert fetch_weights(name, progress=lambda d, t: again.append((d, t))) == path
    assert server.hits == ["/tiny.pth"]  # served from the cache
    assert again == [(len(payload), len(payload))]


def test_download_by_url_with_hash(server, cache, payload):
    url = server.add("model weights.pth", payload)
    path = fetch_weights(url, sha256=hashlib.sha256(payload).hexdigest().upper())
    assert path.parent == cache
    assert path.name.endswith("_model_weights.pth")
    assert path.read_bytes() == payload
    assert fetch_weights(url) == path
    assert len(server.hits) == 1


def test_explicit_cache_argument(server, tmp_path, payload):
    url = server.add("tiny.pth", payload)
    path = fetch_weights(url, cache=tmp_path / "elsewhere")
    assert path.parent == tmp_path / "elsewhere"


def test_hash_mismatch_raises_and_leaves_no_file(server, cache, payload, monkeypatch):
    wrong = "0" * 64
    name = _register(monkeypatch, server.add("tiny.pth", payload), wrong)
    with pytest.raises(WeightsDownloadError) as info:
        fetch_weights(name)
    message = str(info.value)
    assert wrong in message and hashlib.sha256(payload).hexdigest() in message
    assert _files(cache) == []


def test_cached_file_with_wrong_hash_is_downloaded_again(server, cache, payload, monkeypatch):
    name = _register(
        monkeypatch, server.add("tiny.pth", payload), hashlib.sha256(payload).hexdigest()
    )
    cache.mkdir()
    (cache / "test_tiny.pth").write_bytes(b"stale")
    assert fetch_weights(name).read_bytes() == payload
    assert server.hits == ["/tiny.pth"]


def test_http_error_is_reported(server, cache):
    with pytest.raises(WeightsDownloadError, match="HTTP 404"):
        fetch_weights(f"{server.url}/missing.pth")
    assert _files(cache) == []


def test_cancelling_through_progress_leaves_no_file(server, cache, payload):
    url = server.add("tiny.pth", payload)

    def cancel(done: int, total: int) -> None:
        if done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch_weights(url, progress=cancel)
    assert _files(cache) == []


def test_unknown_name_lists_known_names(cache):
    with pytest.raises(UnknownWeightsError) as info:
        fetch_weights("vit_gigantic")
    for name in KNOWN_WEIGHTS:
        assert name in str(info.value)
    with pytest.raises(UnknownWeightsError, match="cocolvis_vit_huge"):
        get_weights_info("nope")


def test_bad_sha256_argument(cache):
    with pytest.raises(ValueError, match="64 hexadecimal"):
        fetch_weights("cocolvis_vit_huge", sha256="abc")


DRIVE_NAMES = [n for n, i in KNOWN_WEIGHTS.items() if i.archive is None]


@pytest.mark.parametrize("name", DRIVE_NAMES)
def test_drive_entries_explain_manual_download(cache, name):
    info = KNOWN_WEIGHTS[name]
    with pytest.raises(ManualDownloadRequiredError) as error:
        fetch_weights(name)
    message = str(error.value)
    assert "drive.google.com/drive/folders/" in message
    assert info.filename in message
    assert str(cache / info.filename) in message
    assert "path" in message
    assert _files(cache) == []


def test_split_7z_entry_explains_manual_download(cache):
    info = KNOWN_WEIGHTS["cocolvis_icl_vit_huge"]
    with pytest.raises(ManualDownloadRequiredError) as error:
        fetch_weights("cocolvis_icl_vit_huge")
    message = str(error.value)
    for part in ("001", "002", "003"):
        assert f"{weights.CFR_ICL_RELEASE}/cocolvis_icl_vit_huge.pth.7z.{part}" in message
    assert "7z x cocolvis_icl_vit_huge.pth.7z.001" in message
    assert info.filename in message and "path" in message


def test_manual_entry_found_once_in_cache(cache):
    cache.mkdir()
    placed = cache / "cocolvis_icl_vit_huge.pth"
    placed.write_bytes(b"unpacked by hand")
    assert fetch_weights("cocolvis_icl_vit_huge") == placed
    assert resolve_weights("cocolvis_icl_vit_huge") == placed


def test_manual_entry_with_wrong_cached_hash(cache, monkeypatch):
    info = replace(KNOWN_WEIGHTS["sbd_vit_base"], sha256="1" * 64)
    monkeypatch.setitem(KNOWN_WEIGHTS, "sbd_vit_base", info)
    cache.mkdir()
    (cache / "sbd_vit_base.pth").write_bytes(b"something else")
    with pytest.raises(WeightsDownloadError, match="does not match the expected SHA-256"):
        fetch_weights("sbd_vit_base")
    assert (cache / "sbd_vit_base.pth").exists()  # a file put there by hand is not deleted


def test_resolve_weights(tmp_path, cache, server, payload):
    local = tmp_path / "mine.pth"
    local.write_bytes(b"x")
    assert resolve_weights(local) == local
    assert resolve_weights(str(local)) == local
    assert _files(cache) == []
    url = server.add("tiny.pth", payload)
    assert resolve_weights(url).read_bytes() == payload
    with pytest.raises(UnknownWeightsError, match="not an existing file"):
        resolve_weights(tmp_path / "absent.pth")


def test_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("CLICKSEG_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("CLICKSEG_CACHE_DIR")
    assert "napari-clickseg" in str(cache_dir())


def test_registry_entries_are_consistent():
    from napari_clickseg.models.registry import ARCHITECTURES, VARIANTS

    expected = {
        "sbd_vit_xtiny",
        "sbd_vit_base",
        "sbd_vit_large",
        "sbd_vit_huge",
        "cocolvis_vit_base",
        "cocolvis_vit_large",
        "cocolvis_vit_huge",
        "cocolvis_icl_vit_huge",
        "piclick_base448",
        "piclick_large448",
        "piclick_huge448",
    }
    assert set(KNOWN_WEIGHTS) == expected
    for name, info in KNOWN_WEIGHTS.items():
        assert info.name == name
        assert info.architecture in ARCHITECTURES
        assert info.variant in VARIANTS
        assert info.sha256 is None  # unknown until the files are inspected; never invented
        assert info.filename.endswith(".pth")
        assert not info.downloadable
        assert info.url.startswith("https://")


def test_piclick_file_put_in_the_cache_loads_by_its_registry_name(cache):
    import shutil

    from napari_clickseg.models.checkpoints import load_model
    from napari_clickseg.models.piclick import PiClickModel

    cache.mkdir()
    official = Path(__file__).parents[1] / "fixtures" / "official" / "piclick_tiny.pth"
    shutil.copy(official, cache / "piclick_base448.pth")
    model = load_model("piclick_base448")
    assert isinstance(model, PiClickModel) and model.zoom_in_on_logits
