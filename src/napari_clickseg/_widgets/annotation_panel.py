"""The annotation dock's widgets and their layout (no behaviour: the dock connects them).

:class:`AnnotationPanel` builds the image and model choice, the edit and candidate buttons, the
status line, the propagation and saving groups and the key help table. Buttons call the slots
they are given by name; everything else is connected by the dock and its parts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from napari_clickseg._widgets import keybindings
from napari_clickseg._widgets.channel_map import ChannelMap
from napari_clickseg._widgets.model_choice import ModelChoice

#: Button text -> name of the slot it calls (the slot mapping given to the panel).
EDIT_BUTTONS = {
    "Undo click": "undo_click",
    "Redo click": "redo_click",
    "Commit (N)": "commit",
    "Discard (Shift+N)": "discard_object",
}
CANDIDATE_BUTTONS = {
    "< candidate (J)": "previous_candidate",
    "candidate (K) >": "next_candidate",
}


class AnnotationPanel:
    """Every widget of the annotation dock, laid out in ``layout``.

    Parameters
    ----------
    slots : mapping of str to callable
        The slots of :data:`EDIT_BUTTONS`, :data:`CANDIDATE_BUTTONS` and ``propagate``,
        ``save``, ``load``, ``choose_autosave_folder``, ``autosave`` (called when the autosave
        box is toggled) and ``cancel`` (the busy row's Cancel button).
    """

    def __init__(self, slots: Mapping[str, Callable[[], Any]]) -> None:
        self.image_combo = QComboBox()
        self.image_combo.setToolTip("The image layer to annotate (2D or 3D, gray or RGB)")
        self.channel_map = ChannelMap()
        self.model_choice = ModelChoice()
        self.click_mode_box = QCheckBox("click to annotate")
        self.click_mode_box.setChecked(True)
        self.overwrite_box = QCheckBox("commit overwrites other objects")
        self.overwrite_box.setToolTip("Off: pixels of committed objects keep their object")
        self.buttons: dict[str, QPushButton] = {}
        self.candidate_label = QLabel("")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)  # no known end: a moving bar
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumHeight(8)
        self.busy_bar.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running propagation")
        self.cancel_button.clicked.connect(lambda _=False: slots["cancel"]())
        self.cancel_button.hide()
        self.autosave_box = QCheckBox("autosave to")
        self.autosave_box.toggled.connect(lambda _=False: slots["autosave"]())
        self.autosave_folder = QLineEdit()
        self.autosave_folder.setPlaceholderText("folder for prompts + objects")
        self.propagation_mode = QComboBox()
        self.propagate_button = QPushButton("Propagate")
        self.propagate_button.clicked.connect(lambda _=False: slots["propagate"]())

        layout = QVBoxLayout()
        layout.addWidget(self._annotate_group())
        layout.addLayout(self._button_row(EDIT_BUTTONS, slots))
        candidate_row = self._button_row(CANDIDATE_BUTTONS, slots)
        candidate_row.addWidget(self.candidate_label)
        layout.addLayout(candidate_row)
        layout.addWidget(self.status)
        busy_row = QHBoxLayout()
        busy_row.addWidget(self.busy_bar, 1)
        busy_row.addWidget(self.cancel_button)
        layout.addLayout(busy_row)
        layout.addWidget(self._propagate_group())
        layout.addWidget(self._files_group(slots))
        layout.addWidget(self._keys_group())
        layout.addStretch(1)
        self.layout = layout

    def _annotate_group(self) -> QGroupBox:
        annotate = QGroupBox("Annotate")
        form = QFormLayout()
        form.addRow("Image", self.image_combo)
        form.addRow(self.channel_map)
        form.addRow(self.model_choice)
        form.addRow(self.click_mode_box)
        form.addRow(self.overwrite_box)
        annotate.setLayout(form)
        return annotate

    def _button_row(
        self, buttons: Mapping[str, str], slots: Mapping[str, Callable[[], Any]]
    ) -> QHBoxLayout:
        row = QHBoxLayout()
        for text, name in buttons.items():
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, slot=slots[name]: slot())
            self.buttons[text] = button
            row.addWidget(button)
        return row

    def _propagate_group(self) -> QGroupBox:
        propagate = QGroupBox("Propagate through the volume")
        row = QHBoxLayout()
        row.addWidget(self.propagation_mode)
        row.addWidget(self.propagate_button)
        propagate.setLayout(row)
        try:
            from napari_clickseg.engine.propagation import DEFAULT_MODE, MODES

            self.propagation_mode.addItems(MODES)
            self.propagation_mode.setCurrentText(DEFAULT_MODE)
        except ImportError:
            propagate.setVisible(False)
        return propagate

    def _files_group(self, slots: Mapping[str, Callable[[], Any]]) -> QGroupBox:
        files = QGroupBox("Save")
        browse = QPushButton("...")
        browse.clicked.connect(lambda _=False: slots["choose_autosave_folder"]())
        autosave_row = QHBoxLayout()
        autosave_row.addWidget(self.autosave_box)
        autosave_row.addWidget(self.autosave_folder)
        autosave_row.addWidget(browse)
        save_row = QHBoxLayout()
        for text, name in (("Save...", "save"), ("Load prompts...", "load")):
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, slot=slots[name]: slot())
            save_row.addWidget(button)
        files_layout = QVBoxLayout()
        files_layout.addLayout(autosave_row)
        files_layout.addLayout(save_row)
        files.setLayout(files_layout)
        return files

    @staticmethod
    def _keys_group() -> QGroupBox:
        keys = QLabel(
            "<table>"
            + "".join(
                f"<tr><td><b>{k}</b>&nbsp;</td><td>{w}</td></tr>"
                for k, w in keybindings.help_rows()
            )
            + "</table>"
        )
        keys_box = QGroupBox("Mouse and keys")
        keys_layout = QVBoxLayout()
        keys_layout.addWidget(keys)
        keys_box.setLayout(keys_layout)
        return keys_box

