"""The annotation dock in a real viewer: clicks by mouse and by layer, commit, undo, PiClick
candidates, saving, propagation, and the messages for what cannot be annotated.

Run under a virtual display:
``xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/pytest tests/_widgets -x -q``
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dock_helpers import SHAPE, volume, wait
from napari.utils._test_utils import read_only_mouse_event
from napari.utils.interactions import mouse_press_callbacks, mouse_release_callbacks
from widget_fakes import DiskModel, ThreeCandidates, predictor_factory

from napari_clickseg._widgets.annotation_dock import AnnotationDock
from napari_clickseg.models import packaged
from tiny_models import tiny_simpleclick_config

pytestmark = pytest.mark.gui


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


def _dock(qtbot, viewer, model=DiskModel, **image_kwargs):
    viewer.add_image(volume(), name="volume", **image_kwargs)
    dock = AnnotationDock(viewer)
    viewer.window.add_dock_widget(dock)
    wait(qtbot, dock)
    if model is not None:
        dock.model_choice.add_model(model.__name__, predictor_factory(model))
        wait(qtbot, dock)
    assert dock.predictor is not None, dock.status.text()
    return dock


def _mouse_click(viewer, world, button=1, modifiers=()):
    """A press and a release at one world position, as the canvas sends them."""
    for kind, send in (
        ("mouse_press", mouse_press_callbacks),
        ("mouse_release", mouse_release_callbacks),
    ):
        event = read_only_mouse_event(
            type=kind,
            button=button,
            modifiers=list(modifiers),
            position=tuple(world),
            dims_displayed=[1, 2],
        )
        send(viewer, event)


def _slice_mask(dock, z):
    return np.asarray(dock.current_layer.data[z]) > 0


def test_mouse_clicks_make_a_mask_on_their_slice_only(qtbot, viewer):
    dock = _dock(qtbot, viewer)
    viewer.dims.set_current_step(0, 2)
    _mouse_click(viewer, (2, 20, 30))
    wait(qtbot, dock)
    assert _slice_mask(dock, 2)[20, 30]
    assert not np.asarray(dock.current_layer.data)[[0, 1, 3, 4, 5]].any()
    # a right click inside the disk is a negative click: it carves the mask there
    _mouse_click(viewer, (2, 20, 33), button=2)
    wait(qtbot, dock)
    assert len(dock.clicks.negative.data) == 1
    assert not _slice_mask(dock, 2)[20, 33]
    # a drag (press, move, release far away) pans and adds nothing
    before = len(dock.clicks.records())
    press = read_only_mouse_event(
        type="mouse_press", button=1, position=(2, 5, 5), pos=np.array([0.0, 0.0])
    )
    mouse_press_callbacks(viewer, press)
    from napari.utils.interactions import mouse_move_callbacks

    mouse_move_callbacks(
        viewer,
        read_only_mouse_event(
            type="mouse_move",
            button=1,
            is_dragging=True,
            position=(2, 9, 9),
            pos=np.array([40.0, 40.0]),
        ),
    )
    mouse_release_callbacks(
        viewer,
        read_only_mouse_event(
            type="mouse_release", button=1, position=(2, 9, 9), pos=np.array([40.0, 40.0])
        ),
    )
    assert len(dock.clicks.records()) == before


def test_points_added_and_deleted_in_the_layers_are_honoured(qtbot, viewer):
    dock = _dock(qtbot, viewer)
    viewer.dims.set_current_step(0, 4)
    dock.clicks.positive.add(np.array([[4.0, 15.0, 25.0]]))
    wait(qtbot, dock)
    assert _slice_mask(dock, 4)[15, 25]
    assert dock.clicks.records()[0].order == 0
    dock.clicks.positive.selected_data = {0}
    dock.clicks.positive.remove_selected()
    wait(qtbot, dock)
    assert not _slice_mask(dock, 4).any()


def test_scale_translate_and_another_viewed_axis(qtbot, viewer):
    dock = _dock(qtbot, viewer, scale=(3.0, 0.5, 0.5), translate=(10.0, 100.0, -4.0))
    world = dock.image_layer.data_to_world((1, 20, 30))
    viewer.dims.set_point(0, world[0])
    _mouse_click(viewer, world)
    wait(qtbot, dock)
    assert _slice_mask(dock, 1)[20, 30]
    # view along axis 2 (rows = axis 0, cols = axis 1): a click belongs to an x slice
    dock.discard_object()
    viewer.dims.order = (2, 0, 1)
    viewer.dims.set_point(2, dock.image_layer.data_to_world((0, 0, 35))[2])
    _mouse_click(viewer, dock.image_layer.data_to_world((3, 25, 35)))
    wait(qtbot, dock)
    record = dock.clicks.records()[0]
    assert record.axis == 2 and record.key() == (2, 35)
    assert dock.current_layer.data[3, 25, 35] and not dock.current_layer.data[3, 25, 20]


def test_ctrl_z_undoes_the_last_click_and_redo_restores_it(qtbot, viewer):
    dock = _dock(qtbot, viewer)
    viewer.dims.set_current_step(0, 0)
    viewer.layers.selection.active = dock.image_layer
    _mouse_click(viewer, (0, 15, 25))
    _mouse_click(viewer, (0, 35, 50))
    wait(qtbot, dock)
    assert _slice_mask(dock, 0)[35, 50]
    handler = viewer.window._qt_viewer._key_map_handler
    handler.press_key("Control-Z")
    handler.release_key("Control-Z")
    wait(qtbot, dock)
    assert len(dock.clicks.records()) == 1
    assert _slice_mask(dock, 0)[15, 25] and not _slice_mask(dock, 0)[35, 50]
    handler.press_key("Control-Shift-Z")
    handler.release_key("Control-Shift-Z")
    wait(qtbot, dock)
    assert _slice_mask(dock, 0)[35, 50]


def test_commit_never_overwrites_and_is_undoable(qtbot, viewer):
    dock = _dock(qtbot, viewer)
    viewer.dims.set_current_step(0, 1)
    _mouse_click(viewer, (1, 20, 30))
    wait(qtbot, dock)
    first = dock.commit()
    assert first == 1
    assert not dock.clicks.records() and not np.asarray(dock.current_layer.data).any()
    committed = np.asarray(dock.committed_layer.data)
    assert committed[1, 20, 30] == 1
    # a second, overlapping object gets id 2 and leaves object 1's pixels alone
    _mouse_click(viewer, (1, 20, 34))
    wait(qtbot, dock)
    viewer.window._qt_viewer._key_map_handler.press_key("N")
    committed = np.asarray(dock.committed_layer.data)
    assert committed[1, 20, 30] == 1 and committed[1, 20, 38] == 2
    assert set(dock.committed_prompts) == {1, 2}
    dock.committed_layer.undo()
    assert 2 not in np.asarray(dock.committed_layer.data)
    assert (np.asarray(dock.committed_layer.data) == 1).sum() == (committed == 1).sum()


def test_piclick_candidates_cycle_and_feed_back(qtbot, viewer):
    dock = _dock(qtbot, viewer, model=ThreeCandidates)
    viewer.dims.set_current_step(0, 3)
    _mouse_click(viewer, (3, 20, 30))
    wait(qtbot, dock)
    disk = _slice_mask(dock, 3).sum()
    assert 0 < disk < 48 * 64
    assert dock.candidate_label.text().startswith("candidate 1/3")
    dock.next_candidate()
    wait(qtbot, dock)
    assert _slice_mask(dock, 3).all()
    assert dock.candidate_label.text().startswith("candidate 2/3")
    # the chosen candidate is the previous mask of the next click
    prior = dock.sessions.predictor.get_state().prev_probs
    assert (prior > 0.5).all()
    dock.previous_candidate()
    dock.previous_candidate()
    wait(qtbot, dock)
    assert not _slice_mask(dock, 3).any()  # candidate 3: empty


def test_prompts_save_and_reload(qtbot, viewer, tmp_path):
    dock = _dock(qtbot, viewer)
    viewer.dims.set_current_step(0, 2)
    _mouse_click(viewer, (2, 20, 30))
    wait(qtbot, dock)
    dock.commit()
    _mouse_click(viewer, (2, 40, 10))
    _mouse_click(viewer, (2, 40, 14), button=2)
    wait(qtbot, dock)
    expected_mask = np.asarray(dock.current_layer.data).copy()
    written = dock.save_annotation(tmp_path)
    assert {p.name for p in written} == {"volume_prompts.json", "volume_objects.tif"}

    dock.discard_object()
    dock.committed_layer.data = np.zeros_like(dock.committed_layer.data)
    dock.load_prompts(tmp_path / "volume_prompts.json")
    wait(qtbot, dock)
    records = dock.clicks.records()
    assert [(r.positive, r.key()) for r in records] == [(True, (0, 2)), (False, (0, 2))]
    np.testing.assert_array_equal(np.asarray(dock.current_layer.data), expected_mask)
    assert np.asarray(dock.committed_layer.data)[2, 20, 30] == 1
    assert 1 in dock.committed_prompts


def test_autosave_writes_atomically_after_changes(qtbot, viewer, tmp_path):
    dock = _dock(qtbot, viewer)
    dock.autosave_folder.setText(str(tmp_path / "auto"))
    dock.autosave_box.setChecked(True)
    _mouse_click(viewer, (0, 20, 30))
    wait(qtbot, dock)
    future = dock.autosave_now()
    future.result(timeout=10)
    assert (tmp_path / "auto" / "volume_prompts.json").exists()
    assert not list((tmp_path / "auto").glob(".*part"))


def test_propagation_fills_other_slices_in_one_undoable_step(qtbot, viewer):
    dock = _dock(qtbot, viewer)
    viewer.dims.set_current_step(0, 2)
    _mouse_click(viewer, (2, 20, 30))
    wait(qtbot, dock)
    seed = _slice_mask(dock, 2).copy()
    dock.propagate("mask+center")
    wait(qtbot, dock)
    data = np.asarray(dock.current_layer.data) > 0
    assert data[[0, 1, 3, 4, 5]].any(axis=(1, 2)).all()
    np.testing.assert_array_equal(data[2], seed)  # the annotated slice is untouched
    dock.current_layer.undo()
    data = np.asarray(dock.current_layer.data) > 0
    assert not data[[0, 1, 3, 4, 5]].any() and (data[2] == seed).all()


def test_clear_messages_for_what_cannot_be_annotated(qtbot, viewer):
    dock = AnnotationDock(viewer)
    viewer.window.add_dock_widget(dock)
    wait(qtbot, dock)
    assert "No image layer" in dock.status.text()
    assert dock.add_click_at_world((1, 2), True) is None
    viewer.add_image(np.zeros((2, 3, 16, 16), np.uint8), name="4d")
    qtbot.waitUntil(lambda: "4D" in dock.status.text(), timeout=5000)
    assert "Split Stack" in dock.last_error
    assert dock.image_layer is None


def test_the_shipped_model_is_the_default_and_segments(qtbot, viewer):
    dock = _dock(qtbot, viewer, model=None)
    assert dock.model_choice.spec.kind == "packaged"
    _mouse_click(viewer, (0, 20, 30))
    wait(qtbot, dock, timeout=60000)
    assert _slice_mask(dock, 0)[20, 30], dock.last_error


def test_without_a_shipped_model_the_classical_baseline_is_the_default(qtbot, viewer, monkeypatch):
    monkeypatch.setattr(packaged, "PACKAGED_WEIGHTS_DIR", Path("/nonexistent/weights"))
    dock = _dock(qtbot, viewer, model=None)
    assert dock.model_choice.spec.kind == "baseline"
    assert "classical watershed baseline" in dock.model_choice.note.text()
    _mouse_click(viewer, (0, 20, 30))
    wait(qtbot, dock)
    assert _slice_mask(dock, 0)[20, 30]


def test_channel_map_feeds_layers_to_r_g_b(qtbot, viewer):
    dock = _dock(qtbot, viewer)
    stack = volume()
    viewer.add_image(stack // 2, name="t2")
    viewer.add_image(np.zeros((3, 48, 64)), name="other shape")
    dock.image_combo.setCurrentText("volume")
    choices = [
        dock.channel_map.inputs[0].itemText(i) for i in range(dock.channel_map.inputs[0].count())
    ]
    assert choices == ["volume", "t2"]  # same-shape image layers only
    dock.channel_map.map_to(("t2", "volume", "t2"))
    image = dock.model_input.image(dock._plane(0), 1)
    assert image[0, 0].tolist() == [stack[1, 0, 0] // 2, stack[1, 0, 0], stack[1, 0, 0] // 2]
    _mouse_click(viewer, (1, 20, 30))
    wait(qtbot, dock)
    assert _slice_mask(dock, 1)[20, 30]


def test_rgb_image_and_2d_clicks(qtbot, viewer):
    rgb = np.zeros((40, 50, 3), np.uint8)
    rgb[10:30, 10:30] = (200, 50, 10)
    viewer.add_image(rgb, name="photo")
    dock = AnnotationDock(viewer)
    viewer.window.add_dock_widget(dock)
    dock.model_choice.add_model("disk", predictor_factory(DiskModel))
    wait(qtbot, dock)
    assert dock.image_layer.name == "photo" and dock.current_layer.data.shape == (40, 50)
    assert dock.model_input.image(dock._plane(None), 0)[15, 15].tolist() == [200, 50, 10]
    _mouse_click(viewer, (15, 20))
    wait(qtbot, dock)
    assert np.asarray(dock.current_layer.data)[15, 20]
    assert dock.clicks.records()[0].key() == (None, 0)


def test_gpu_out_of_memory_falls_back_to_cpu(qtbot, viewer):
    import torch

    calls = []

    def flaky(device):
        calls.append(device)
        if len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return predictor_factory(DiskModel)(device)

    dock = _dock(qtbot, viewer, model=None)
    dock.model_choice.add_model("flaky", flaky)
    wait(qtbot, dock)
    assert "CPU" in dock.last_error
    assert dock.model_choice.spec.device == "cpu" and dock.predictor is not None
    assert len(calls) == 2


def test_model_that_fails_to_load_is_reported(qtbot, viewer, tmp_path):
    dock = _dock(qtbot, viewer, model=None)
    bad = tmp_path / "weights.pth"
    bad.write_bytes(b"not a checkpoint")
    dock.model_choice.set_checkpoint_path(bad)
    wait(qtbot, dock)
    assert "could not be loaded" in dock.last_error and "weights.pth" in dock.last_error
    assert dock.predictor is None


def test_propagation_can_be_cancelled(qtbot, viewer):
    dock = _dock(qtbot, viewer)
    _mouse_click(viewer, (0, 20, 30))
    wait(qtbot, dock)
    dock.propagate("mask+center")
    assert dock.propagate_button.text() == "Cancel propagation"
    dock._propagate_or_cancel()  # the button, pressed again
    wait(qtbot, dock)
    assert dock.propagate_button.text() == "Propagate"
    assert "Propagation" in dock.status.text()


def _tiny_simpleclick(device):
    # Imported here, in the worker, after napari's OpenGL: timm pulls in torchvision and triton.
    from napari_clickseg.models.registry import build_model

    return build_model(tiny_simpleclick_config())


def test_a_real_network_loads_and_predicts_in_the_viewer(qtbot, viewer):
    dock = _dock(qtbot, viewer, model=None)
    dock.model_choice.add_model("tiny SimpleClick", _tiny_simpleclick)
    wait(qtbot, dock, timeout=60000)
    assert dock.predictor is not None, dock.last_error
    _mouse_click(viewer, (0, 20, 30))
    wait(qtbot, dock, timeout=60000)
    assert dock.sessions.prediction((0, 0)) is not None, dock.last_error


def test_a_click_through_the_real_canvas(qtbot, viewer):
    """Mouse events sent to the vispy canvas go through napari's own event processing."""
    dock = _dock(qtbot, viewer)
    viewer.dims.set_current_step(0, 3)
    viewer.reset_view()
    canvas = viewer.window._qt_viewer.canvas._scene_canvas
    centre = (canvas.size[0] / 2, canvas.size[1] / 2)
    canvas.events.mouse_press(pos=centre, button=1, modifiers=())
    canvas.events.mouse_release(pos=centre, button=1, modifiers=())
    wait(qtbot, dock)
    (record,) = dock.clicks.records()
    assert record.positive and record.key() == (0, 3)
    # the click is where napari's cursor says the mouse was, in image pixels
    np.testing.assert_allclose(record.point, dock.image_layer.world_to_data(viewer.cursor.position))
    row, col = record.point[1:]
    assert 0 <= row < SHAPE[1] and 0 <= col < SHAPE[2]
    assert _slice_mask(dock, 3)[round(row), round(col)]


def test_a_deleted_dock_layer_is_made_again_and_clicks_survive(qtbot, viewer):
    dock = _dock(qtbot, viewer)
    _mouse_click(viewer, (0, 20, 30))
    wait(qtbot, dock)
    viewer.layers.remove(dock.current_layer)
    qtbot.waitUntil(lambda: dock.current_layer in viewer.layers, timeout=5000)
    wait(qtbot, dock)
    assert len(dock.clicks.records()) == 1
    assert _slice_mask(dock, 0)[20, 30]  # recomputed from the clicks
