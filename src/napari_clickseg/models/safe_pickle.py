"""Load official research checkpoints without ever running code from the file.

The official SimpleClick / CFR-ICL / iCMFormer / PiClick checkpoints are ``torch.save``-d dicts
``{'state_dict': OrderedDict, 'config': {...}}`` whose config pickles objects of the research code
(for example ``isegm.model.modeling.transformer_helper.cross_entropy_loss.CrossEntropyLoss``).
``torch.load(weights_only=True)`` refuses them, and a plain ``torch.load(weights_only=False)``
would import and run whatever the file names. Here every global that the pickle asks for goes
through :func:`resolve_global`, which applies one rule:

1. **Allowed** — a fixed table of ``(module, name)`` pairs resolves to the real object: what torch
   needs to rebuild tensors and parameters (the ``torch._utils._rebuild_*`` functions that torch's
   own ``weights_only`` unpickler allows, ``torch._tensor._rebuild_from_type_v2``, storage and
   tensor classes, ``torch.Size``, ``torch.device``, dtypes, layouts, qschemes, memory formats),
   plain containers and scalars (``collections.OrderedDict`` / ``Counter``, ``builtins`` ``set``,
   ``frozenset``, ``bytearray``, ``complex``, ``slice``, ``range``), ``_codecs.encode`` restricted
   to latin-1 (protocol 2 writes ``bytes`` that way), and NumPy array / scalar / dtype
   reconstruction.
2. **Inert placeholder** — a global whose module is one of the research packages
   (:data:`DEFAULT_RESEARCH_PACKAGES`: ``isegm``, ``mmcv``, ``mmseg``, ``mmdet``, ``mmengine``,
   ``timm``, ``easydict``, ``yacs``, ``detectron2``, ``models``, ``model``, ``__main__``, plus
   any the caller adds), or inside them (``pkg.sub.mod``); torch layer classes referenced by a
   config (``torch.nn.modules.*``); and the plain record types ``functools.partial``,
   ``argparse.Namespace`` and ``types.SimpleNamespace``. Such a global becomes a subclass of
   :class:`ResearchPlaceholder`, which records module, name, constructor arguments, state and
   items, and has no behaviour at all. Nothing is imported for it.
3. **Refused** — anything else (``os.system``, ``posix.system``, ``builtins.eval``,
   ``builtins.getattr``, ``subprocess.Popen``, ``importlib.import_module``, other torch or NumPy
   functions, unknown packages) raises :class:`UnsafeCheckpointError` naming the global and the
   file, before anything is called.

Since the pickle machine can only call what ``find_class`` hands it, and that is either an
allowed rebuild function / container type or an inert placeholder, loading a file can never run
code from it.
"""

from __future__ import annotations

import _compat_pickle
import importlib
import io
import os
import pickle
import reprlib
import sys
import threading
import types
import warnings
import zipfile
from collections import Counter, OrderedDict
from collections.abc import Iterable
from functools import lru_cache
from typing import IO, Any, ClassVar

from napari_clickseg.models.errors import (
    CheckpointError,
    NotACheckpointError,
    UnsafeCheckpointError,
)

__all__ = [
    "DEFAULT_RESEARCH_PACKAGES",
    "ResearchPlaceholder",
    "RestrictedUnpickler",
    "is_placeholder",
    "load_pickled_checkpoint",
    "make_pickle_module",
    "placeholder_class",
    "resolve_global",
]

#: Top-level packages (or dotted prefixes) of research code whose globals load as placeholders.
DEFAULT_RESEARCH_PACKAGES: frozenset[str] = frozenset(
    {
        "isegm",  # RITM / SimpleClick / CFR-ICL / iCMFormer / PiClick
        "mmcv",
        "mmseg",
        "mmdet",
        "mmengine",
        "timm",
        "easydict",
        "yacs",
        "detectron2",
        "models",  # research repos' top-level config / model folders
        "model",
        "__main__",  # classes defined in the training script itself
    }
)

# Not research code, but plain records a config may hold; they load as placeholders too.
_PLACEHOLDER_PREFIXES: tuple[str, ...] = ("torch.nn.modules",)
_PLACEHOLDER_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {("functools", "partial"), ("argparse", "Namespace"), ("types", "SimpleNamespace")}
)

# The tensor rebuild functions that torch's own weights_only unpickler allows
# (torch/_weights_only_unpickler.py: _tensor_rebuild_functions); missing ones are skipped.
_TORCH_REBUILD_FUNCTIONS: tuple[str, ...] = (
    "_rebuild_parameter",
    "_rebuild_parameter_with_state",
    "_rebuild_qtensor",
    "_rebuild_tensor",
    "_rebuild_tensor_v2",
    "_rebuild_tensor_v3",
    "_rebuild_sparse_tensor",
    "_rebuild_meta_tensor_no_storage",
    "_rebuild_wrapper_subclass",
    "_rebuild_device_tensor_from_numpy",
    "_rebuild_device_tensor_from_cpu_tensor",
)

_EXPECTED = (
    "expected a PyTorch checkpoint written by torch.save (a zip archive holding data.pkl, or a "
    "legacy pickle), such as the official SimpleClick or CFR-ICL .pth files"
)


# --------------------------------------------------------------------------------------------
# Inert placeholders
# --------------------------------------------------------------------------------------------


class _PlaceholderMeta(type):
    """Metaclass giving placeholder classes a readable repr."""

    research_module: str
    research_name: str

    def __repr__(cls) -> str:
        if not cls.research_name:
            return super().__repr__()
        return f"<inert placeholder for {cls.research_module}.{cls.research_name}>"


class ResearchPlaceholder(metaclass=_PlaceholderMeta):
    """Inert stand-in for a class or function of research code named in a checkpoint.

    Calling the class, ``__new__``, ``__setstate__``, item assignment and ``append`` /
    ``extend`` / ``add`` only record what the pickle passed; nothing else is defined, so a
    placeholder cannot run anything.

    Attributes
    ----------
    research_module, research_name : str
        The global the checkpoint named (class attributes).
    args : tuple
        Positional arguments the pickle constructed the object with.
    kwargs : dict
        Keyword arguments (protocol 4 ``NEWOBJ_EX``).
    state : Any
        What the pickle passed to ``__setstate__`` (usually the object's ``__dict__``).
    dict_items : dict
        Items set on the object (dict subclasses such as ``EasyDict``).
    list_items : list
        Items appended to the object (list or set subclasses).
    """

    research_module: ClassVar[str] = ""
    research_name: ClassVar[str] = ""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    state: Any
    dict_items: dict[Any, Any]
    list_items: list[Any]

    def __new__(cls, *args: Any, **kwargs: Any) -> ResearchPlaceholder:
        self = object.__new__(cls)
        self.args = args
        self.kwargs = kwargs
        self.state = None
        self.dict_items = {}
        self.list_items = []
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Swallow the constructor arguments (already recorded by ``__new__``)."""

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.dict_items[key] = value

    def append(self, value: Any) -> None:
        """Record an item appended by the pickle."""
        self.list_items.append(value)

    def extend(self, values: Iterable[Any]) -> None:
        """Record items appended by the pickle."""
        self.list_items.extend(values)

    def add(self, value: Any) -> None:
        """Record an item added by the pickle (set subclasses)."""
        self.list_items.append(value)

    @property
    def qualified_name(self) -> str:
        """``module.name`` of the research global this object stands for."""
        return f"{self.research_module}.{self.research_name}"

    @property
    def attributes(self) -> dict[str, Any]:
        """The recorded instance attributes (the pickled ``__dict__`` and slots), or ``{}``."""
        state = self.state
        if isinstance(state, dict):
            return dict(state)
        if isinstance(state, tuple) and len(state) == 2:
            merged: dict[str, Any] = {}
            for part in state:
                if isinstance(part, dict):
                    merged.update(part)
            return merged
        return {}

    @reprlib.recursive_repr()
    def __repr__(self) -> str:
        return f"<inert placeholder instance of {self.qualified_name}>"


_PLACEHOLDER_CLASSES: dict[tuple[str, str], type[ResearchPlaceholder]] = {}
_PLACEHOLDER_LOCK = threading.Lock()


def placeholder_class(module: str, name: str) -> type[ResearchPlaceholder]:
    """Return the (cached) inert placeholder class for the global ``module.name``.

    Parameters
    ----------
    module : str
        Module the checkpoint named, e.g. ``'isegm.model.is_plainvit_model'``.
    name : str
        Class or function name, e.g. ``'PlainVitModel'``.

    Returns
    -------
    type[ResearchPlaceholder]
        The same class for the same global, so ``isinstance`` checks are stable across loads.
    """
    key = (module, name)
    with _PLACEHOLDER_LOCK:
        cls = _PLACEHOLDER_CLASSES.get(key)
        if cls is None:
            short = name.rpartition(".")[2] or "Placeholder"
            cls = _PlaceholderMeta(
                short,
                (ResearchPlaceholder,),
                {
                    "research_module": module,
                    "research_name": name,
                    "__module__": __name__,
                    "__qualname__": f"ResearchPlaceholder[{module}.{name}]",
                },
            )
            _PLACEHOLDER_CLASSES[key] = cls
    return cls


def is_placeholder(obj: Any) -> bool:
    """Return True if ``obj`` is a placeholder class or an instance of one.

    Parameters
    ----------
    obj : Any
        Any object from a loaded checkpoint.

    Returns
    -------
    bool
        Whether ``obj`` stands for research code that was not loaded.
    """
    if isinstance(obj, type):
        return issubclass(obj, ResearchPlaceholder)
    return isinstance(obj, ResearchPlaceholder)


# --------------------------------------------------------------------------------------------
# The allow rule
# --------------------------------------------------------------------------------------------


def _latin1_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """Stand-in for ``_codecs.encode`` that only does what pickle protocol 2 needs for bytes."""
    if not isinstance(obj, str) or encoding not in ("latin1", "latin-1") or errors != "strict":
        raise pickle.UnpicklingError(
            "_codecs.encode is only allowed as pickle protocol 2 uses it, "
            f"encode(str, 'latin1'); got encode({type(obj).__name__}, {encoding!r}, {errors!r})"
        )
    return obj.encode("latin-1")


def _numpy_globals() -> dict[tuple[str, str], Any]:
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency
        return {}
    try:
        multiarray = importlib.import_module("numpy._core.multiarray")  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        multiarray = importlib.import_module("numpy.core.multiarray")
    table: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        table[(module, "_reconstruct")] = multiarray._reconstruct
        table[(module, "scalar")] = multiarray.scalar
    return table


@lru_cache(maxsize=1)
def _allowed_globals() -> dict[tuple[str, str], Any]:
    """The fixed table of globals that resolve to real objects."""
    import torch

    table: dict[tuple[str, str], Any] = {
        ("collections", "OrderedDict"): OrderedDict,
        ("collections", "Counter"): Counter,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("builtins", "bytearray"): bytearray,
        ("builtins", "complex"): complex,
        ("builtins", "slice"): slice,
        ("builtins", "range"): range,
        ("_codecs", "encode"): _latin1_encode,
        ("torch", "Size"): torch.Size,
        ("torch", "Tensor"): torch.Tensor,
        ("torch", "device"): torch.device,
        ("torch.nn.parameter", "Parameter"): torch.nn.Parameter,
        ("torch.serialization", "_get_layout"): torch.serialization._get_layout,
        ("torch._tensor", "_rebuild_from_type_v2"): torch._tensor._rebuild_from_type_v2,
    }
    for name in _TORCH_REBUILD_FUNCTIONS:
        function = getattr(torch._utils, name, None)
        if function is not None:
            table[("torch._utils", name)] = function
    enum_types = (torch.dtype, torch.layout, torch.qscheme, torch.memory_format)
    for attr, value in vars(torch).items():
        if isinstance(value, enum_types):
            table[("torch", attr)] = value
    for tensor_class in getattr(torch, "_tensor_classes", ()):
        table[(tensor_class.__module__, tensor_class.__name__)] = tensor_class
    for storage_class in getattr(torch, "_storage_classes", ()):
        key = (storage_class.__module__, storage_class.__name__)
        if storage_class in (torch.storage.TypedStorage, torch.storage.UntypedStorage):
            table[key] = storage_class
        else:  # legacy typed storages are rebuilt through torch's StorageType, as torch does
            table[key] = torch.serialization.StorageType(storage_class.__name__)
    table.update(_numpy_globals())
    return table


def _in_packages(module: str, packages: Iterable[str]) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def _canonical(module: str, name: str) -> tuple[str, str]:
    """Map Python 2 names (``__builtin__.set``, ``copy_reg``) to Python 3 ones, as pickle does."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def resolve_global(
    module: str,
    name: str,
    *,
    source: str = "<pickle>",
    research_packages: Iterable[str] = DEFAULT_RESEARCH_PACKAGES,
) -> Any:
    """Resolve a global named by a pickle according to the allow rule (see the module doc).

    Parameters
    ----------
    module, name : str
        The global as written in the pickle.
    source : str
        The file being loaded, for error messages.
    research_packages : iterable of str
        Packages (or dotted prefixes) whose globals become inert placeholders.

    Returns
    -------
    Any
        The real object for an allowed global, or a :class:`ResearchPlaceholder` subclass.

    Raises
    ------
    UnsafeCheckpointError
        For any other global; nothing is imported or called.
    """
    if not isinstance(module, str) or not isinstance(name, str):
        raise UnsafeCheckpointError(
            f"{source}: the pickle names a global with a non-string module or name "
            f"({module!r}, {name!r}); refusing to load it",
            path=source,
            global_name=f"{module!r}.{name!r}",
        )
    module, name = _canonical(module, name)
    allowed = _allowed_globals()
    if (module, name) in allowed:
        return allowed[(module, name)]
    if (
        _in_packages(module, research_packages)
        or _in_packages(module, _PLACEHOLDER_PREFIXES)
        or (module, name) in _PLACEHOLDER_GLOBALS
    ):
        return placeholder_class(module, name)
    raise UnsafeCheckpointError(
        _refusal_message(module, name, source, research_packages), source, f"{module}.{name}"
    )


def _refusal_message(module: str, name: str, source: str, packages: Iterable[str]) -> str:
    top = module.partition(".")[0]
    message = (
        f"{source}: refused to load the global '{module}.{name}'. It is not needed to rebuild "
        "tensors or plain containers and could run code, so the file was not loaded (it may "
        "be malicious). Allowed are torch's tensor rebuild functions, plain containers and "
        "scalars, NumPy arrays, and inert placeholders for classes of research packages "
        f"({', '.join(sorted(packages))})."
    )
    if top not in sys.stdlib_module_names and top not in ("torch", "numpy", "builtins"):
        message += (
            f" If '{top}' is research code whose objects should load as inert placeholders, "
            f"pass research_packages=('{top}',)."
        )
    return message


# --------------------------------------------------------------------------------------------
# The unpickler and the pickle module handed to torch.load
# --------------------------------------------------------------------------------------------


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` applies :func:`resolve_global`.

    Class attributes ``source`` (the file, for messages) and ``research_packages`` are set by
    :func:`make_pickle_module`, because torch constructs the unpickler itself.
    """

    source: ClassVar[str] = "<pickle>"
    research_packages: ClassVar[frozenset[str]] = DEFAULT_RESEARCH_PACKAGES

    def find_class(self, module: str, name: str) -> Any:
        """Resolve a global; see :func:`resolve_global`."""
        return resolve_global(
            module, name, source=self.source, research_packages=self.research_packages
        )


def make_pickle_module(source: str, research_packages: Iterable[str] = ()) -> types.ModuleType:
    """Build a module object usable as ``torch.load(..., pickle_module=...)``.

    Parameters
    ----------
    source : str
        The file that will be loaded, for error messages.
    research_packages : iterable of str
        Extra packages (or dotted prefixes) to load as placeholders, added to
        :data:`DEFAULT_RESEARCH_PACKAGES`.

    Returns
    -------
    types.ModuleType
        A module exposing ``Unpickler`` (a :class:`RestrictedUnpickler` subclass), ``load``,
        ``loads`` and ``UnpicklingError``.
    """
    extra = frozenset(research_packages)
    bad = sorted(repr(p) for p in extra if not isinstance(p, str) or not p.strip("."))
    if bad:
        raise ValueError(
            "research_packages must be non-empty package names such as 'isegm'; "
            f"got {', '.join(bad)}"
        )
    unpickler_class = type(
        "RestrictedUnpickler",
        (RestrictedUnpickler,),
        {"source": source, "research_packages": DEFAULT_RESEARCH_PACKAGES | extra},
    )

    def load(file: IO[bytes], **kwargs: Any) -> Any:
        return unpickler_class(file, **kwargs).load()

    def loads(data: bytes, **kwargs: Any) -> Any:
        return load(io.BytesIO(data), **kwargs)

    module = types.ModuleType(f"{__name__}.restricted", "Restricted pickle for torch.load.")
    module.Unpickler = unpickler_class  # type: ignore[attr-defined]
    module.load = load  # type: ignore[attr-defined]
    module.loads = loads  # type: ignore[attr-defined]
    module.UnpicklingError = pickle.UnpicklingError  # type: ignore[attr-defined]
    return module


# --------------------------------------------------------------------------------------------
# Recognising what a file is
# --------------------------------------------------------------------------------------------

_OTHER_FORMATS: tuple[tuple[bytes, str, str], ...] = (
    (
        b"7z\xbc\xaf\x27\x1c",
        "a 7z archive",
        "unpack it first (for a split archive: 7z x NAME.7z.001) and load the .pth file inside",
    ),
    (b"\x1f\x8b", "a gzip-compressed file", "decompress it first (gunzip) and load the result"),
    (b"\xfd7zXZ\x00", "an xz-compressed file", "decompress it first (unxz) and load the result"),
    (b"Rar!\x1a\x07", "a RAR archive", "unpack it first and load the .pth file inside"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (e.g. Keras weights)", "this loader reads PyTorch files"),
    (b"\x93NUMPY", "a NumPy .npy file", "this loader reads PyTorch files"),
)


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # a multi-byte character cut at the end is fine
            return False
        text = head[: exc.start].decode("utf-8")
    return all(ch.isprintable() or ch in "\t\r\n\f" for ch in text)


def _is_safetensors(head: bytes, size: int) -> bool:
    if len(head) < 10:
        return False
    header_length = int.from_bytes(head[:8], "little")
    return 2 <= header_length <= size - 8 and head[8:9] == b"{"


def _check_zip(handle: IO[bytes], source: str) -> None:
    try:
        with zipfile.ZipFile(handle) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise NotACheckpointError(
            f"{source}: a damaged or truncated zip archive ({exc}). A torch.save checkpoint in "
            "zip format must be complete; if it was downloaded, the download was probably "
            "interrupted: download it again",
            source,
        ) from None
    leaves = {name.rpartition("/")[2] for name in names}
    if "constants.pkl" in leaves:
        raise NotACheckpointError(
            f"{source}: a TorchScript archive (torch.jit.save). It holds compiled code, which "
            f"this loader never runs; {_EXPECTED}",
            source,
        )
    if "data.pkl" not in leaves:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise NotACheckpointError(
            f"{source}: a zip archive, but not a torch.save checkpoint (it holds no data.pkl; "
            f"entries: {shown or 'none'}); {_EXPECTED}",
            source,
        )


def _sniff(handle: IO[bytes], source: str, size: int) -> str:
    """Return 'zip', 'pickle' or 'tar' for files torch can read; raise for anything else."""
    if size == 0:
        raise NotACheckpointError(
            f"{source}: the file is empty (0 bytes), perhaps a failed download; {_EXPECTED}",
            source,
        )
    head = handle.read(512)
    handle.seek(0)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        _check_zip(handle, source)
        handle.seek(0)
        return "zip"
    # Pickle protocol >= 2 starts with PROTO; with protocols 0 and 1, torch's legacy format
    # starts with its magic number written as text.
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return "pickle"
    if head.startswith(b"L119547037146038801333356"):
        return "pickle"
    if head[257:262] == b"ustar":  # torch's oldest (tar) format
        return "tar"
    if _is_safetensors(head, size):
        raise NotACheckpointError(
            f"{source}: a safetensors file. This loader reads pickled torch checkpoints "
            "(official research .pth files); load safetensors weights (the project's own format) "
            "with safetensors.torch.load_file instead",
            source,
        )
    for magic, what, advice in _OTHER_FORMATS:
        if head.startswith(magic):
            raise NotACheckpointError(f"{source}: {what}, not a checkpoint; {advice}", source)
    if _looks_like_text(head):
        stripped = head.lstrip().lower()
        if stripped.startswith((b"<!doctype html", b"<html")):
            what = (
                "an HTML web page, not a checkpoint: probably a download or virus-scan page "
                "(Google Drive serves one for large files) saved in place of the file"
            )
        elif stripped.startswith(b"version https://git-lfs"):
            what = "a Git LFS pointer file, not the checkpoint itself (fetch it with git lfs pull)"
        else:
            first = head.decode("utf-8", errors="replace").strip().splitlines()
            what = f"a text file (it starts with {first[0][:60]!r})" if first else "a text file"
        raise NotACheckpointError(f"{source}: {what}; {_EXPECTED}", source)
    raise NotACheckpointError(
        f"{source}: an unrecognised binary file (it starts with bytes {head[:8].hex(' ')}); "
        f"{_EXPECTED}",
        source,
    )


def _explain_failure(exc: Exception, source: str, kind: str) -> NotACheckpointError:
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, RuntimeError) and "Invalid magic number" in str(exc):
        return NotACheckpointError(
            f"{source}: a plain Python pickle, not a file written by torch.save; {_EXPECTED}",
            source,
        )
    if isinstance(exc, EOFError) or "EOF" in str(exc) or "truncated" in str(exc):
        return NotACheckpointError(
            f"{source}: the file ends too early ({detail}); it is truncated, perhaps by an "
            f"interrupted download; {_EXPECTED}",
            source,
        )
    what = {"zip": "a zip-format", "pickle": "a legacy-format", "tar": "a tar-format"}[kind]
    return NotACheckpointError(
        f"{source}: looks like {what} torch checkpoint but could not be read ({detail}); "
        "the file is probably damaged",
        source,
    )


def _describe(obj: Any) -> str:
    if is_placeholder(obj):
        return f"an object of research class {obj.qualified_name}"
    kind = type(obj).__name__
    if isinstance(obj, list):
        return "a list (multi-stage checkpoints saved as lists are not supported)"
    return f"an object of type {kind}"


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def load_pickled_checkpoint(
    path: str | os.PathLike[str], *, research_packages: Iterable[str] = ()
) -> dict[Any, Any]:
    """Load a ``torch.save``-d checkpoint dict without running code from the file.

    Both torch file formats (zip and legacy) are read by ``torch.load`` itself; every global
    the pickle names is resolved by :func:`resolve_global` (see the module docstring).

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint, e.g. an official ``cocolvis_vit_huge.pth``.
    research_packages : iterable of str, optional
        Extra packages whose classes should load as inert placeholders, added to
        :data:`DEFAULT_RESEARCH_PACKAGES`.

    Returns
    -------
    dict
        The checkpoint, tensors on the CPU; research objects appear as
        :class:`ResearchPlaceholder` instances.

    Raises
    ------
    NotACheckpointError
        The file is missing, empty, damaged, of another kind (text, HTML, safetensors, 7z,
        TorchScript, ...), or does not hold a dict.
    UnsafeCheckpointError
        The file names a global outside the allow rule.
    """
    import torch

    source = os.fspath(path)
    if os.getenv("TORCH_FORCE_WEIGHTS_ONLY_LOAD", "0").lower() in ("1", "y", "yes", "true"):
        raise RuntimeError(
            "TORCH_FORCE_WEIGHTS_ONLY_LOAD is set, which stops torch.load from using the "
            "restricted unpickler needed for research checkpoints; unset it to load "
            f"{source} (it is still loaded without running code from the file)"
        )
    try:
        handle = open(source, "rb")  # noqa: SIM115 - closed by the with-block below
    except FileNotFoundError:
        raise NotACheckpointError(f"{source}: no such file; {_EXPECTED}", source) from None
    except IsADirectoryError:
        raise NotACheckpointError(
            f"{source}: a directory, not a file; {_EXPECTED}", source
        ) from None
    with handle:
        kind = _sniff(handle, source, os.fstat(handle.fileno()).st_size)
        pickle_module = make_pickle_module(source, research_packages)
        try:
            with warnings.catch_warnings():
                # Legacy files that pickled whole modules make torch try to compare their
                # source code with the placeholder's; there is none, which is expected.
                warnings.filterwarnings("ignore", message="Couldn't retrieve source code")
                # weights_only=False is required for torch to use pickle_module at all. It is
                # safe here because every global goes through RestrictedUnpickler.find_class,
                # which only hands out tensor rebuild functions, plain containers and inert
                # placeholders. The open handle (not the path) is passed so that torch reads
                # exactly the file inspected above and never dispatches on the file name.
                checkpoint = torch.load(
                    handle,
                    map_location="cpu",
                    pickle_module=pickle_module,
                    weights_only=False,
                    mmap=False,
                )
        except CheckpointError:
            raise
        except Exception as exc:
            raise _explain_failure(exc, source, kind) from exc
    if not isinstance(checkpoint, dict):
        raise NotACheckpointError(
            f"{source}: holds {_describe(checkpoint)}, but a checkpoint dict was expected, e.g. "
            "{'state_dict': ..., 'config': ...} as written by SimpleClick's save_checkpoint",
            source,
        )
    return checkpoint
