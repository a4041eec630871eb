"""The annotation dock's keys, chosen not to clash with napari's defaults.

They are bound on the viewer while the dock is open. napari looks keys up in the active
layer's keymap first: with a Labels layer selected, Ctrl+Z is napari's labels undo (which is
how a commit is undone); with the image or a click layer selected, Ctrl+Z undoes the last click.
Letters that napari binds on Image, Points, Labels or Shapes layers (A, B, C, D, E, F, I, L,
M, O, P, R, S, T, V, X, Y, Z, digits, brackets) are avoided, so a selected layer never steals
one of ours.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KeyAction:
    """One key of the dock.

    Attributes
    ----------
    key : str
        napari key combination, e.g. ``'Control-Z'``.
    action : str
        Name of the dock method it calls.
    description : str
        What it does, for the dock and the docs.
    """

    key: str
    action: str
    description: str


#: Mouse actions (not bindable keys), listed with the keys in the dock and the docs.
MOUSE_HELP = (
    ("Left click", "positive click (on the object)"),
    ("Right click / Ctrl+left click", "negative click (on the background)"),
)

KEY_ACTIONS = (
    KeyAction("Control-Z", "undo_click", "undo the last click on this slice"),
    KeyAction("Control-Shift-Z", "redo_click", "redo the undone click"),
    KeyAction("N", "commit", "commit the object (new id) and start the next one"),
    KeyAction("Shift-N", "discard_object", "clear the current object's clicks and mask"),
    KeyAction("K", "next_candidate", "next mask candidate (PiClick)"),
    KeyAction("J", "previous_candidate", "previous mask candidate (PiClick)"),
    KeyAction("G", "toggle_click_mode", "turn click-to-annotate on or off"),
)


def display_key(key: str) -> str:
    """'Control-Shift-Z' -> 'Ctrl+Shift+Z'."""
    return key.replace("Control", "Ctrl").replace("-", "+")


def help_rows() -> list[tuple[str, str]]:
    """(keys, what) rows for the dock's help table and the docs."""
    rows = list(MOUSE_HELP)
    rows += [(display_key(k.key), k.description) for k in KEY_ACTIONS]
    return rows


def install(viewer: Any, target: Any) -> Callable[[], None]:
    """Bind every key of :data:`KEY_ACTIONS` on the viewer to ``target``'s methods.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer.
    target : object
        Has one method per action name.

    Returns
    -------
    callable
        Unbinds them again, restoring whatever was bound before.
    """
    previous = {}
    for entry in KEY_ACTIONS:
        method = getattr(target, entry.action)

        def handler(_viewer: Any, method: Callable[[], Any] = method) -> None:
            method()

        previous[entry.key] = viewer.bind_key(entry.key, handler, overwrite=True)

    def uninstall() -> None:
        for key, old in previous.items():
            viewer.bind_key(key, old, overwrite=True)

    return uninstall
