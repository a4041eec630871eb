"""Prompts JSON and annotation folders: round trips, atomic writes, clear errors."""

import json

import numpy as np
import pytest

from napari_clickseg.engine.autosave import load_annotation, save_annotation
from napari_clickseg.engine.prompts_io import (
    PromptClick,
    Prompts,
    PromptsFileError,
    load_prompts,
    save_prompts,
)


def _prompts():
    current = [
        PromptClick((3.0, 10.5, 20.0), True, 0, 0),
        PromptClick((3.0, 12.0, 21.0), False, 1, 0),
        PromptClick((2.0, 7.0, 9.0), True, 2, 2),
    ]
    committed = {1: [PromptClick((1.0, 4.0, 4.0), True, 0, 0)]}
    return Prompts("EM stack", (5, 32, 32), current, committed)


def test_prompts_round_trip(tmp_path):
    path = save_prompts(tmp_path / "p.json", _prompts())
    loaded = load_prompts(path)
    assert loaded == _prompts()
    assert loaded.current[2].slice_index == 9  # sliced along axis 2
    assert not list(tmp_path.glob(".*part"))  # no temporary file left behind


def test_damaged_or_foreign_files_are_refused(tmp_path):
    path = tmp_path / "p.json"
    path.write_text("{not json")
    with pytest.raises(PromptsFileError, match="cannot read"):
        load_prompts(path)
    path.write_text(json.dumps({"format": "other"}))
    with pytest.raises(PromptsFileError, match="not a napari-clickseg prompts file"):
        load_prompts(path)
    data = _prompts().to_dict()
    data["current"][0]["point"] = [1.0, 2.0]
    path.write_text(json.dumps(data))
    with pytest.raises(PromptsFileError, match="3 coordinates"):
        load_prompts(path)


def test_annotation_folder_round_trip(tmp_path):
    labels = np.zeros((5, 32, 32), np.uint32)
    labels[1, 2:6, 2:6] = 1
    written = save_annotation(tmp_path / "auto", _prompts(), labels)
    assert [p.name for p in written] == ["EM_stack_prompts.json", "EM_stack_objects.tif"]
    prompts, loaded = load_annotation(tmp_path / "auto", "EM stack")
    assert prompts == _prompts()
    np.testing.assert_array_equal(loaded, labels)
