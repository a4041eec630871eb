"""Known model weights and the download cache.

:data:`KNOWN_WEIGHTS` names the officially released checkpoints. :func:`fetch_weights` puts a
file in the cache directory (:func:`cache_dir`; the environment variable
``CLICKSEG_CACHE_DIR`` overrides it), streaming to a temporary file that is renamed into place
only when complete and, when its SHA-256 is known, verified. :func:`resolve_weights` turns a
path, a registered name or a URL into a local file.

Some official weights cannot be fetched automatically: SimpleClick's are in a Google Drive
folder, CFR-ICL's are a split 7z archive. For those the error says where to get the file by
hand; a file put into the cache under the registered filename is then found by its name.

No SHA-256 of an official file is recorded yet: the files could not be inspected when this
registry was written, and a hash is never guessed. Cached copies of such files are used as
they are.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from napari_clickseg.models.errors import (
    ManualDownloadRequiredError,
    UnknownWeightsError,
    WeightsDownloadError,
)
from napari_clickseg.models.packaged import DEFAULT_MODEL_NAME, default_model_path

__all__ = [
    "CACHE_ENV_VAR",
    "KNOWN_WEIGHTS",
    "ProgressCallback",
    "WeightsInfo",
    "cache_dir",
    "fetch_weights",
    "get_weights_info",
    "resolve_weights",
]

logger = logging.getLogger(__name__)

#: Environment variable that overrides the cache directory.
CACHE_ENV_VAR = "CLICKSEG_CACHE_DIR"

#: ``progress(bytes_done, bytes_total)``; ``bytes_total`` is 0 while unknown.
ProgressCallback = Callable[[int, int], None]

_CHUNK_BYTES = 1 << 20
_TIMEOUT_S = 60.0
_USER_AGENT = "napari-clickseg"

SIMPLECLICK_DRIVE_FOLDER = (
    "https://drive.google.com/drive/folders/1qpK0gtAPkVMF7VC42UA9XF4xMWr5KJmL"
)
PICLICK_DRIVE_FOLDER = (
    "https://drive.google.com/drive/folders/1-ZOZ0o-wYGhiHfOzpyqq_ikY6gLLbP8S"
)
CFR_ICL_RELEASE = (
    "https://github.com/TitorX/CFR-ICL-Interactive-Segmentation/releases/download/v1.0"
)


@dataclass(frozen=True)
class WeightsInfo:
    """One set of released weights.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``'cocolvis_vit_huge'``.
    architecture : str
        Network family, a key of ``models.registry.ARCHITECTURES`` (``'simpleclick'``).
    variant : str
        Backbone variant, a key of ``models.registry.VARIANTS`` (``'vit_huge'``).
    url : str
        Where the file is published: a direct download URL, a Google Drive folder, or the
        first part of a split archive.
    sha256 : str or None
        SHA-256 of the (unpacked) file, or None while unknown.
    filename : str
        Name of the checkpoint file, in the cache and as published.
    training_data : str
        Data set(s) the weights were trained on.
    description : str
        One line for people.
    archive : str or None
        None for a plain file; ``'7z-split'`` for a split 7z archive that must be unpacked by
        hand.
    extra_urls : tuple of str
        Further parts of a split archive, after ``url``.
    """

    name: str
    architecture: str
    variant: str
    url: str
    sha256: str | None
    filename: str
    training_data: str
    description: str
    archive: str | None = None
    extra_urls: tuple[str, ...] = ()

    @property
    def urls(self) -> tuple[str, ...]:
        """All URLs to download (several for a split archive)."""
        return (self.url, *self.extra_urls)

    @property
    def downloadable(self) -> bool:
        """Whether :func:`fetch_weights` can download the file by itself."""
        return self.archive is None and not _is_drive_folder(self.url)

    def manual_download_message(self, target: Path) -> str:
        """Explain how to get weights that cannot be downloaded automatically.

        Parameters
        ----------
        target : Path
            Where the file would be found in the cache.

        Returns
        -------
        str
            Where to download, what to do with the file, and how to use it.
        """
        use = (
            f"then pass the path of {self.filename} wherever weights are asked for, or put it "
            f"at {target} so that the name {self.name!r} finds it"
        )
        if self.archive == "7z-split":
            parts = "\n".join(f"  {url}" for url in self.urls)
            first = urllib.parse.unquote(self.url.rsplit("/", 1)[-1])
            return (
                f"{self.name!r} ({self.description}) is released as a split 7z archive of "
                f"{len(self.urls)} parts, which napari-clickseg cannot unpack. Download all "
                f"parts by hand:\n{parts}\ninto one folder, unpack them with 7-Zip "
                f"(7z x {first}) to get {self.filename}, {use}."
            )
        return (
            f"{self.name!r} ({self.description}) is published in a Google Drive folder, which "
            f"cannot be downloaded automatically. Download {self.filename} by hand from "
            f"{self.url}, {use}."
        )


def _simpleclick(name: str, variant: str, training_data: str, title: str) -> WeightsInfo:
    return WeightsInfo(
        name=name,
        architecture="simpleclick",
        variant=variant,
        url=SIMPLECLICK_DRIVE_FOLDER,
        sha256=None,
        filename=f"{name}.pth",
        training_data=training_data,
        description=f"SimpleClick {title} trained on {training_data} (official release)",
    )


def _piclick(size: str, title: str) -> WeightsInfo:
    return WeightsInfo(
        name=f"piclick_{size}448",
        architecture="piclick",
        variant=f"piclick_vit_{size}",
        url=PICLICK_DRIVE_FOLDER,
        sha256=None,
        filename=f"piclick_{size}448.pth",
        training_data="COCO+LVIS",
        description=f"PiClick {title} at 448 px trained on COCO+LVIS (official release)",
    )


_ENTRIES: tuple[WeightsInfo, ...] = (
    _simpleclick("sbd_vit_xtiny", "xtiny", "SBD", "ViT-xTiny"),
    _simpleclick("sbd_vit_base", "vit_base", "SBD", "ViT-B"),
    _simpleclick("sbd_vit_large", "vit_large", "SBD", "ViT-L"),
    _simpleclick("sbd_vit_huge", "vit_huge", "SBD", "ViT-H"),
    _simpleclick("cocolvis_vit_base", "vit_base", "COCO+LVIS", "ViT-B"),
    _simpleclick("cocolvis_vit_large", "vit_large", "COCO+LVIS", "ViT-L"),
    _simpleclick("cocolvis_vit_huge", "vit_huge", "COCO+LVIS", "ViT-H"),
    _piclick("base", "ViT-B"),
    _piclick("large", "ViT-L"),
    _piclick("huge", "ViT-H"),
    WeightsInfo(
        name="cocolvis_icl_vit_huge",
        architecture="simpleclick",
        variant="vit_huge",
        url=f"{CFR_ICL_RELEASE}/cocolvis_icl_vit_huge.pth.7z.001",
        sha256=None,
        filename="cocolvis_icl_vit_huge.pth",
        training_data="COCO+LVIS",
        description=(
            "CFR-ICL ViT-H (SimpleClick architecture) trained with the ICL loss on "
            "COCO+LVIS (official release); use it with CFR inference"
        ),
        archive="7z-split",
        extra_urls=(
            f"{CFR_ICL_RELEASE}/cocolvis_icl_vit_huge.pth.7z.002",
            f"{CFR_ICL_RELEASE}/cocolvis_icl_vit_huge.pth.7z.003",
        ),
    ),
)

#: Registered weights by name.
KNOWN_WEIGHTS: dict[str, WeightsInfo] = {info.name: info for info in _ENTRIES}


def cache_dir() -> Path:
    """Directory where downloaded weights are kept.

    Returns
    -------
    Path
        ``$CLICKSEG_CACHE_DIR`` when set and non-empty, else the user cache directory of the
        operating system (``pooch.os_cache('napari-clickseg')``). It may not exist yet.
    """
    override = os.environ.get(CACHE_ENV_VAR, "").strip()
    if override:
        return Path(override).expanduser()
    import pooch

    return Path(pooch.os_cache("napari-clickseg"))


def get_weights_info(name: str) -> WeightsInfo:
    """Look up registered weights by name.

    Parameters
    ----------
    name : str
        A key of :data:`KNOWN_WEIGHTS`.

    Returns
    -------
    WeightsInfo
        The registry entry.

    Raises
    ------
    UnknownWeightsError
        If the name is not registered; the message lists the known names.
    """
    try:
        return KNOWN_WEIGHTS[name]
    except KeyError:
        raise UnknownWeightsError(
            f"unknown weights name {name!r}; known names: {', '.join(KNOWN_WEIGHTS)} "
            "(or give a file path or an http(s) URL)"
        ) from None


def fetch_weights(
    name_or_url: str,
    *,
    sha256: str | None = None,
    progress: ProgressCallback | None = None,
    cache: str | os.PathLike[str] | None = None,
) -> Path:
    """Return a local copy of registered or URL-addressed weights, downloading if needed.

    Parameters
    ----------
    name_or_url : str
        A key of :data:`KNOWN_WEIGHTS`, or an http(s) URL of a file.
    sha256 : str, optional
        Expected SHA-256 (hex). Overrides the registry's; when neither is known the file is
        not verified.
    progress : callable, optional
        ``progress(bytes_done, bytes_total)`` during a download (``bytes_total`` is 0 while
        the server does not say); the last call is ``(size, size)``. A cached file reports
        ``(size, size)`` once. Raising from it cancels the download.
    cache : str or os.PathLike, optional
        Cache directory; :func:`cache_dir` when omitted.

    Returns
    -------
    Path
        The file in the cache.

    Raises
    ------
    UnknownWeightsError
        For a name that is not registered and not a URL.
    ManualDownloadRequiredError
        For weights that cannot be downloaded automatically (Google Drive folder, split 7z
        archive) and are not in the cache; the message says where to get them.
    WeightsDownloadError
        If the download fails, is incomplete, or does not match the SHA-256; no file is left.
    """
    directory = Path(cache).expanduser() if cache is not None else cache_dir()
    expected = _normalise_sha256(sha256)
    if _is_url(name_or_url):
        info = None
        url = name_or_url
        if _is_drive_folder(url):
            raise ManualDownloadRequiredError(
                f"{url} is a Google Drive folder, which cannot be downloaded automatically; "
                "download the checkpoint file from it by hand and pass its path"
            )
        target = directory / _url_cache_name(url)
    else:
        info = get_weights_info(name_or_url)
        url = info.url
        expected = expected or _normalise_sha256(info.sha256)
        target = directory / info.filename

    if target.is_file():
        if expected is None or sha256_of_file(target) == expected:
            size = target.stat().st_size
            _report(progress, size, size)
            return target
        if info is not None and not info.downloadable:
            raise WeightsDownloadError(
                f"the cached file {target} does not match the expected SHA-256 {expected}; "
                "replace it with a correct copy. " + info.manual_download_message(target)
            )
        logger.warning("cached %s does not match its SHA-256; downloading it again", target)
        target.unlink()

    if info is not None and not info.downloadable:
        raise ManualDownloadRequiredError(info.manual_download_message(target))
    _download(url, target, expected, progress)
    return target


def resolve_weights(
    name_or_path: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    cache: str | os.PathLike[str] | None = None,
) -> Path:
    """Turn an existing path, a registered name or a URL into a local weights file.

    Parameters
    ----------
    name_or_path : str or os.PathLike
        An existing file (returned as it is, nothing is copied), ``"default"`` (the model
        shipped in the package), a key of :data:`KNOWN_WEIGHTS`, or an http(s) URL.
    progress : callable, optional
        Passed to :func:`fetch_weights`.
    cache : str or os.PathLike, optional
        Passed to :func:`fetch_weights`.

    Returns
    -------
    Path
        A local file.

    Raises
    ------
    UnknownWeightsError
        If it is neither an existing path, a known name nor a URL.
    ManualDownloadRequiredError, WeightsDownloadError
        As for :func:`fetch_weights`.
    """
    text = os.fspath(name_or_path)
    path = Path(text).expanduser()
    if path.exists():
        return path
    if text == DEFAULT_MODEL_NAME:
        return default_model_path()
    if text in KNOWN_WEIGHTS or _is_url(text):
        return fetch_weights(text, progress=progress, cache=cache)
    raise UnknownWeightsError(
        f"{text!r} is not an existing file, a known weights name or an http(s) URL; "
        f"known names: {DEFAULT_MODEL_NAME}, {', '.join(KNOWN_WEIGHTS)}"
    )


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _is_url(text: str) -> bool:
    return urllib.parse.urlparse(text).scheme in ("http", "https")


def _is_drive_folder(url: str) -> bool:
    parsed = urllib.parse.urlparse(url)
    return parsed.netloc.endswith("drive.google.com") and "/folders/" in parsed.path


def _url_cache_name(url: str) -> str:
    """``<12 hex of the URL's hash>_<file name>``, so equal names from two URLs do not clash."""
    basename = urllib.parse.unquote(urllib.parse.urlparse(url).path.rsplit("/", 1)[-1])
    basename = re.sub(r"[^A-Za-z0-9._-]", "_", basename).lstrip(".") or "weights"
    return f"{hashlib.sha256(url.encode()).hexdigest()[:12]}_{basename}"


def _normalise_sha256(value: str | None) -> str | None:
    if value is None:
        return None
    digest = value.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValueError(f"sha256 must be 64 hexadecimal characters, got {value!r}")
    return digest


def sha256_of_file(path: str | Path) -> str:
    """The SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _report(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


def _download(
    url: str, target: Path, expected: str | None, progress: ProgressCallback | None
) -> None:
    """Stream ``url`` to a temporary file next to ``target``, verify, then rename it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            done, total, actual = _stream(url, out, progress)
        if total and done != total:
            raise WeightsDownloadError(
                f"the download of {url} stopped after {done} of {total} bytes; try again"
            )
        if expected is not None and actual != expected:
            raise WeightsDownloadError(
                f"the file downloaded from {url} is corrupt or not the expected one: its "
                f"SHA-256 is {actual}, expected {expected}; it was deleted"
            )
        if expected is None:
            logger.info("downloaded %s to %s (sha256 %s, not verified)", url, target, actual)
        if not total:
            _report(progress, done, done)
        os.replace(temp, target)
    except urllib.error.HTTPError as exc:
        raise WeightsDownloadError(
            f"downloading {url} failed: HTTP {exc.code} {exc.reason}"
        ) from exc
    except urllib.error.URLError as exc:
        raise WeightsDownloadError(f"downloading {url} failed: {exc.reason}") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise WeightsDownloadError(f"downloading {url} to {target} failed: {exc!r}") from exc
    finally:
        temp.unlink(missing_ok=True)


def _stream(url: str, out: BinaryIO, progress: ProgressCallback | None) -> tuple[int, int, str]:
    """Copy ``url`` into ``out``; return (bytes written, announced size or 0, SHA-256)."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
        if response.headers.get("Content-Type", "").lower().startswith("text/html"):
            raise WeightsDownloadError(
                f"{url} returned an HTML page instead of a weights file; open it in a "
                "browser, download the file by hand and pass its path"
            )
        total = _content_length(response.headers.get("Content-Length"))
        digest = hashlib.sha256()
        done = 0
        _report(progress, 0, total)
        while chunk := response.read(_CHUNK_BYTES):
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            _report(progress, done, total)
    return done, total, digest.hexdigest()


def _content_length(value: str | None) -> int:
    try:
        return max(int(value), 0) if value else 0
    except ValueError:
        return 0
