"""The dock's keys clash with none of napari's default shortcuts or layer keymaps."""

from napari.layers import Image, Labels, Points, Shapes
from napari.utils.key_bindings import coerce_keybinding
from napari.utils.shortcuts import default_shortcuts

from napari_clickseg._widgets.keybindings import KEY_ACTIONS, display_key, help_rows


def test_keys_are_free_in_napari_except_labels_undo_by_design():
    ours = {coerce_keybinding(entry.key) for entry in KEY_ACTIONS}
    napari_keys = {binding for bindings in default_shortcuts.values() for binding in bindings}
    assert not ours & napari_keys
    for layer_class in (Image, Points, Shapes):
        assert not ours & set(layer_class.class_keymap), layer_class.__name__
    # Labels keeps Ctrl+Z / Ctrl+Shift+Z for its own undo (how a commit is undone).
    assert ours & set(Labels.class_keymap) == {
        coerce_keybinding("Control-Z"),
        coerce_keybinding("Control-Shift-Z"),
    }


def test_help_lists_mouse_and_every_key():
    rows = dict(help_rows())
    assert "Left click" in rows
    for entry in KEY_ACTIONS:
        assert rows[display_key(entry.key)] == entry.description
