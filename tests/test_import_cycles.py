"""No import cycles among the command-line modules and the checkpoint / registry modules.

Every ``import`` counts, at module level or inside a function: a function-level import that
closes a circle still makes the modules depend on each other's import order (issue 16).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "napari_clickseg"

MODULES = (
    "napari_clickseg.cli",
    "napari_clickseg.cli_common",
    "napari_clickseg.cli_propagate",
    "napari_clickseg.cli_train",
    "napari_clickseg.models.checkpoints",
    "napari_clickseg.models.registry",
    "napari_clickseg.models.icmformer_swin",
)


def _path(module: str) -> Path:
    return PACKAGE.parent / (module.replace(".", "/") + ".py")


def _imports(module: str) -> set[str]:
    """Package modules imported anywhere in ``module`` (``from a import b``: a, and a.b)."""
    tree = ast.parse(_path(module).read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("napari_clickseg") and _path(name).is_file()}


def _cycle_through(start: str) -> list[str] | None:
    """A cycle of imports from ``start`` back to itself, through package modules."""
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        module, path = stack.pop()
        for target in _imports(module):
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return None


@pytest.mark.parametrize("module", MODULES)
def test_no_import_cycle_through(module):
    assert _cycle_through(module) is None, " -> ".join(_cycle_through(module))


@pytest.mark.parametrize(
    "order",
    [
        ("napari_clickseg.cli_propagate", "napari_clickseg.cli"),
        ("napari_clickseg.cli_train", "napari_clickseg.cli"),
        ("napari_clickseg.models.icmformer_swin", "napari_clickseg.models.checkpoints"),
        ("napari_clickseg.models.registry", "napari_clickseg.models.checkpoints"),
    ],
)
def test_modules_import_first_in_a_fresh_interpreter(order):
    code = "; ".join(f"import {name}" for name in order)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(PACKAGE.parent), "PATH": ""},
    )
    assert done.returncode == 0, done.stderr
