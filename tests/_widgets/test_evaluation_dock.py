"""The evaluation dock in a real viewer: its numbers are the engine's on the same objects.

Run under a virtual display:
``xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/pytest tests/_widgets/test_evaluation_dock.py``
"""

import csv
from pathlib import Path

import numpy as np
import pytest

from napari_clickseg._widgets.evaluation_dock import OBJECT_COLUMNS, EvaluationDock, summary_text
from napari_clickseg._widgets.evaluation_objects import LayerObjects, parse_labels
from napari_clickseg._widgets.evaluation_scoring import OBJECT_COLUMNS as SCORE_COLUMNS
from napari_clickseg._widgets.evaluation_scoring import SLICE_COLUMNS, scoring_summary
from napari_clickseg._widgets.model_choice import BASELINE_LABEL
from napari_clickseg.data.instances import DatasetError, EvalObject
from napari_clickseg.data.windowing import window_bounds, window_to_uint8
from napari_clickseg.engine.baseline import ClickBaseline
from napari_clickseg.engine.evaluation import EvaluationSettings, evaluate_dataset
from napari_clickseg.engine.evaluation_report import result_rows
from napari_clickseg.engine.scoring import object_rows, score_labels, slice_rows

pytestmark = pytest.mark.gui

MAX_CLICKS = 4


def _volume(dtype=np.uint8):
    """4 slices of 40x40: a bright disc (label 1) and a mid-grey square (label 2) that drift."""
    rng = np.random.default_rng(0)
    rows, cols = np.ogrid[:40, :40]
    image = np.full((4, 40, 40), 40.0)
    labels = np.zeros((4, 40, 40), np.uint8)
    for z in range(4):
        disc = (rows - 14 - z) ** 2 + (cols - 13) ** 2 <= 36
        labels[z][disc] = 1
        labels[z, 24:33, 22 + z : 31 + z] = 2
    image[labels == 1] = 220
    image[labels == 2] = 140
    image += rng.normal(0, 6, image.shape)
    labels[3] = np.where(labels[3] == 2, 0, labels[3])  # label 2 absent from the last slice
    image = np.clip(image, 0, 255)
    return image.astype(dtype) if dtype != np.uint8 else np.rint(image).astype(np.uint8), labels


def _hand_objects(image, labels, slices, ids=(1, 2)):
    """The objects the dock should build, cut by hand (slice z of axis 0, label == v)."""
    objects = []
    for z in slices:
        for v in ids:
            gt = (labels[z] == v).astype(np.int8)
            if gt.any():
                objects.append(EvalObject(f"slice{z}/label{v}", image[z], gt))
    return objects


def _broken_model(device):
    raise RuntimeError("weights file is corrupt")


@pytest.fixture
def dock(make_napari_viewer):
    viewer = make_napari_viewer()
    image, labels = _volume()
    viewer.add_image(image, name="volume")
    viewer.add_labels(labels, name="truth")
    widget = EvaluationDock(viewer)
    viewer.window.add_dock_widget(widget, name="Evaluation")
    tab = widget.evaluate_tab
    assert tab.model_choice.spec.kind == "packaged"  # the shipped model is the default
    # the dock's mechanics are compared with the engine on the fast, weight-free baseline
    tab.model_choice.select_model(BASELINE_LABEL)
    tab.max_clicks.setValue(MAX_CLICKS)
    return widget


def _run(qtbot, tab):
    with qtbot.waitSignal(tab.run_finished, timeout=120_000):
        assert tab.run()
    assert not tab.is_running


def test_dock_numbers_equal_the_engine(dock, qtbot, tmp_path):
    tab = dock.evaluate_tab
    assert tab.image_combo.currentText() == "volume" and tab.gt_combo.currentText() == "truth"
    assert tab.model_choice.spec.kind == "baseline"  # chosen by the fixture
    _run(qtbot, tab)
    image, labels = _volume()
    expected = evaluate_dataset(
        ClickBaseline(),
        _hand_objects(image, labels, range(4)),
        EvaluationSettings(max_clicks=MAX_CLICKS, full_curve=True),
    )
    result = tab.result
    assert [o.name for o in result.objects] == [o.name for o in expected.objects]
    assert [o.ious for o in result.objects] == [o.ious for o in expected.objects]
    assert result.summary == expected.summary
    # what the dock shows: summary lines, curve, table
    shown = tab.summary.text().splitlines()
    assert shown[:3] == summary_text(expected).splitlines()[:3]
    assert "NoC@95" in shown[0] and "NoF@85" in shown[1]
    assert tab.plot.curve == pytest.approx(expected.summary.miou)
    assert len(tab.plot.curve) == MAX_CLICKS
    expected_rows = result_rows(expected)
    assert tab.table.texts() == [[str(r[c]) for c in OBJECT_COLUMNS] for r in expected_rows]
    # CSV export: the engine's per-object CSV (times aside)
    path = tab.export_csv(tmp_path / "eval.csv")
    with open(path, newline="") as handle:
        written = list(csv.DictReader(handle))
    assert list(written[0]) == list(expected_rows[0])
    for got, want in zip(written, expected_rows, strict=True):
        assert {k: v for k, v in got.items() if k not in {"seconds", "clicker_seconds"}} == {
            k: str(v) for k, v in want.items() if k not in {"seconds", "clicker_seconds"}
        }
    # a row selection moves the viewer to that object's slice
    assert dock.viewer.dims.current_step[0] != 3
    tab.table.selectRow(len(expected_rows) - 1)  # slice3/label1
    assert dock.viewer.dims.current_step[0] == 3
    # a new run that fails leaves no stale numbers behind
    tab.model_choice.add_model("broken model", _broken_model)
    _run(qtbot, tab)
    assert tab.result is None and tab.summary.text() == "" and tab.table.rowCount() == 0
    assert tab.plot.curve == () and not tab.export_button.isEnabled()


def test_slices_ids_and_float_image_window(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    image, labels = _volume(np.float32)
    viewer.add_image(image, name="float volume", contrast_limits=(100.0, 120.0))
    viewer.add_labels(labels, name="truth")
    widget = EvaluationDock(viewer)
    viewer.window.add_dock_widget(widget)
    tab = widget.evaluate_tab
    tab.model_choice.select_model(BASELINE_LABEL)
    tab.max_clicks.setValue(2)
    tab.full_curve.setChecked(False)
    tab.selection.first.setValue(1)
    tab.selection.last.setValue(3)
    tab.selection.ids.setText("2")
    _run(qtbot, tab)
    # the model sees the volume windowed once at its 0.5-99.5 percentiles (not the display's
    # contrast limits), as in the annotation dock
    windowed = window_to_uint8(image, *window_bounds(image))
    expected = evaluate_dataset(
        ClickBaseline(),
        _hand_objects(windowed, labels, range(1, 4), ids=(2,)),
        EvaluationSettings(max_clicks=2, full_curve=False),
    )
    assert [o.name for o in tab.result.objects] == ["slice1/label2", "slice2/label2"]
    assert [o.ious for o in tab.result.objects] == [o.ious for o in expected.objects]


def test_three_layers_mapped_to_rgb(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    image, labels = _volume()
    channels = {"t1": image, "t2": 255 - image, "flair": image // 2}
    for name, data in channels.items():
        viewer.add_image(data, name=name)
    viewer.add_labels(labels, name="truth")
    widget = EvaluationDock(viewer)
    viewer.window.add_dock_widget(widget)
    tab = widget.evaluate_tab
    tab.image_combo.set_layer("t1")
    tab.channel_map.map_to(("flair", "t1", "t2"))
    tab.model_choice.select_model(BASELINE_LABEL)
    tab.max_clicks.setValue(2)
    tab.selection.first.setValue(2)
    tab.selection.last.setValue(2)
    _run(qtbot, tab)
    rgb = np.stack([channels["flair"], channels["t1"], channels["t2"]], axis=-1)
    objects = _hand_objects(rgb, labels, [2])
    assert objects[0].image.shape == (40, 40, 3)
    expected = evaluate_dataset(
        ClickBaseline(), objects, EvaluationSettings(max_clicks=2, full_curve=True)
    )
    assert [o.ious for o in tab.result.objects] == [o.ious for o in expected.objects]


def test_objects_along_another_axis(dock):
    tab = dock.evaluate_tab
    tab.selection.axis.setValue(1)
    assert (tab.selection.first.value(), tab.selection.last.value()) == (0, 39)
    tab.selection.first.setValue(14)
    tab.selection.last.setValue(14)
    objects = list(tab.build_objects())
    _, labels = _volume()
    assert [o.name for o in objects] == ["slice14/label1"]
    np.testing.assert_array_equal(objects[0].gt, labels[:, 14, :] == 1)


def test_clear_messages(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    widget = EvaluationDock(viewer)
    viewer.window.add_dock_widget(widget)
    tab = widget.evaluate_tab
    assert not tab.run() and "No image layer" in tab.status.text()
    image, labels = _volume()
    viewer.add_image(image, name="volume")
    assert not tab.run() and "No ground truth" in tab.status.text()
    viewer.add_labels(labels[:, :, :30], name="cropped")
    assert not tab.run()
    assert "shape (4, 40, 40)" in tab.status.text() and "(4, 40, 30)" in tab.status.text()
    viewer.add_labels(labels, name="truth")
    tab.gt_combo.set_layer("truth")
    tab.selection.ids.setText("7")
    assert not tab.run() and "no objects to evaluate" in tab.status.text()
    tab.selection.ids.setText("1-")
    assert not tab.run() and "cannot read '1-'" in tab.status.text()
    tab.selection.ids.setText("all")

    tab.model_choice.add_model("broken model", _broken_model)
    _run(qtbot, tab)
    assert "failed to load" in tab.status.text() and "corrupt" in tab.status.text()
    assert tab.result is None and tab.run_button.isEnabled()


def test_late_progress_never_overwrites_the_result(dock, qtbot, monkeypatch):
    """A progress report that reaches the GUI after the run's end leaves the final status."""
    import threading

    from napari_clickseg._widgets import evaluation_run

    real_run = evaluation_run.run_evaluation
    late: list[threading.Timer] = []

    def run_with_a_late_report(build, objects, total, settings, should_stop, progress=None):
        outcome = real_run(build, objects, total, settings, should_stop, progress)
        # the worker's last report, delivered after its "finished" signal
        late.append(threading.Timer(0.3, progress, (total, total, "slice3/label1")))
        late[-1].start()
        return outcome

    monkeypatch.setattr(evaluation_run, "run_evaluation", run_with_a_late_report)
    tab = dock.evaluate_tab
    _run(qtbot, tab)
    assert tab.status.text().startswith("Done.")
    late[-1].join()
    qtbot.wait(300)  # the queued report is delivered now
    assert tab.status.text().startswith("Done."), tab.status.text()
    assert tab.result is not None and not tab.is_running


def test_a_run_finishing_inside_the_last_progress_report_keeps_its_result(dock, qtbot):
    """napari's progress bar can process events while a report updates it: the run's end may
    arrive in there, and the report must not then overwrite the result."""
    tab = dock.evaluate_tab
    _run(qtbot, tab)
    tab._worker = object()  # as if the run were still going when its last report arrives
    finish = tab._on_finished

    class ReentrantProgress:
        n = 0

        def update(self, step):
            tab._outcome = (tab.result, tab.metas)
            finish()  # the queued "finished" signal, delivered inside update()

        def close(self):
            pass

    tab._napari_progress = ReentrantProgress()
    tab._on_progress(tab._run_number, 2, 2, "slice3/label1")
    assert tab.status.text().startswith("Done."), tab.status.text()


def test_one_value_labels_are_split_into_connected_components(make_napari_viewer, qtbot):
    """ISBI-style ground truth (one value for every cell) is offered the split, preselected."""
    viewer = make_napari_viewer()
    image, _ = _volume()
    cells = np.full(image.shape, 255, np.uint8)  # 4 cells per slice between membranes
    cells[:, 19:21, :] = 0
    cells[:, :, 19:21] = 0
    viewer.add_image(image, name="em")
    viewer.add_labels(cells, name="membranes")
    widget = EvaluationDock(viewer)
    viewer.window.add_dock_widget(widget)
    tab = widget.evaluate_tab
    assert tab.split.isChecked() and tab.split.text() == "split into connected components"
    note = tab.split_note.text()
    assert not tab.split_note.isHidden()
    assert "one label value (255)" in note and "4 separate pieces" in note
    tab.selection.first.setValue(1)
    tab.selection.last.setValue(1)
    names = [o.name for o in tab.build_objects()]
    assert names == [f"slice1/label255/part{k}" for k in range(1, 5)]
    # the user's choice stands: unchecked, each slice's whole label is one object again
    tab.split.setChecked(False)
    assert [o.name for o in tab.build_objects()] == ["slice1/label255"]
    # a ground truth with one value per object is not split, and the note goes
    _, labels = _volume()
    viewer.add_labels(labels, name="truth")
    tab.gt_combo.set_layer("truth")
    assert not tab.split.isChecked() and tab.split_note.isHidden()


@pytest.mark.parametrize("first", ["Annotation", "Evaluation"])
def test_dock_stays_usable_beside_the_annotation_dock(make_napari_viewer, qtbot, first):
    """With both docks open, the evaluation dock is not squeezed to a strip, whatever the order,
    and the window still fits the screen (1280 x 1024 under xvfb)."""
    from napari_clickseg._widgets.evaluation_dock import MIN_VISIBLE_HEIGHT

    viewer = make_napari_viewer(show=True)
    viewer.add_image(_volume()[0], name="volume")
    window = viewer.window._qt_window
    window.resize(1200, 800)
    docks = {}
    for name in (first, *({"Annotation", "Evaluation"} - {first})):
        docks[name] = viewer.window.add_plugin_dock_widget("napari-clickseg", name)
        qtbot.wait(50)
    evaluation_dock, evaluation = docks["Evaluation"]
    qtbot.waitUntil(lambda: evaluation.visibleRegion().boundingRect().height() > 0, timeout=5000)
    qtbot.wait(200)
    shown = evaluation.visibleRegion().boundingRect().height()
    assert shown >= MIN_VISIBLE_HEIGHT, shown
    assert window.height() <= 1024
    # the evaluation dock is in front; the annotation dock is one tab away
    assert evaluation.isVisible() and not evaluation_dock.visibleRegion().isEmpty()


def test_brats_case_offers_flair_and_its_segmentation(make_napari_viewer, tmp_path):
    """The dock starts on the visible modality (FLAIR, the measured best input, docs/annotation.md),
    not on the first layer (T1)."""
    import nibabel as nib

    case = tmp_path / "Case_1"
    case.mkdir()
    rng = np.random.default_rng(0)
    seg = np.zeros((8, 8, 4), np.uint8)
    seg[2:5, 2:5, 1:3] = 2
    for kind in ("t1", "t1ce", "t2", "flair"):
        volume = rng.normal(400, 60, seg.shape).astype(np.int16)
        nib.save(nib.Nifti1Image(volume, np.eye(4)), case / f"Case_1_{kind}.nii.gz")
    nib.save(nib.Nifti1Image(seg, np.eye(4)), case / "Case_1_seg.nii.gz")
    viewer = make_napari_viewer()
    viewer.open(str(case), plugin="napari-clickseg")
    viewer.layers.selection.clear()
    widget = EvaluationDock(viewer)
    tab = widget.evaluate_tab
    assert tab.image_combo.currentText() == "Case_1_flair"
    assert tab.gt_combo.currentText() == "Case_1_seg"
    assert tab.channel_map.mode.currentText().startswith("gray")
    assert [s.name for s in tab.channel_map.model_input().sources] == ["Case_1_flair"]


def test_cancel_stops_before_the_next_object(dock, qtbot):
    tab = dock.evaluate_tab
    with qtbot.waitSignal(tab.run_finished, timeout=120_000):
        assert tab.run()
        assert not tab.run()  # one run at a time
        tab.cancel()
    assert "Cancelled after" in tab.status.text()
    assert tab.result is None and tab.run_button.isEnabled()
    # napari asks running workers to quit when it closes: the run stops the same way
    with qtbot.waitSignal(tab.run_finished, timeout=120_000):
        assert tab.run()
        tab._worker.quit()
    assert "Cancelled after" in tab.status.text() and tab.result is None


def test_scoring_tab_equals_engine_scoring(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    _, truth = _volume()
    predicted = truth.copy()
    predicted[1, 10:20, 10:20] = 1  # grow label 1 in slice 1
    predicted[2] = 0  # miss slice 2 entirely
    predicted = np.where(predicted == 2, 5, predicted)  # label 2 annotated as 5
    viewer.add_labels(truth, name="truth")
    viewer.add_labels(predicted, name="annotation")
    widget = EvaluationDock(viewer)
    viewer.window.add_dock_widget(widget)
    tab = widget.score_tab
    tab.predicted_combo.set_layer("annotation")
    tab.gt_combo.set_layer("truth")
    tab.match_combo.setCurrentText("largest overlap")
    result = tab.score()
    expected = score_labels(predicted, truth, axis=0, match="overlap")
    assert result == expected
    assert [o.predicted_label for o in result.objects] == [1, 5]
    assert tab.summary.text() == scoring_summary(expected)
    assert tab.object_table.texts() == [
        [str(r[c]) for c in SCORE_COLUMNS] for r in object_rows(expected)
    ]
    assert tab.slice_table.texts() == [
        [str(r[c]) for c in SLICE_COLUMNS] for r in slice_rows(expected)
    ]
    for table, rows in (("objects", object_rows(expected)), ("slices", slice_rows(expected))):
        path = tab.export_csv(tmp_path / f"{table}.csv", table)
        with open(path, newline="") as handle:
            assert list(csv.DictReader(handle)) == [{k: str(v) for k, v in r.items()} for r in rows]
    # a per-slice row selection moves the viewer to that slice
    before = viewer.dims.current_step[0]
    row = next(i for i, r in enumerate(slice_rows(expected)) if r["slice"] != before)
    tab.slice_table.selectRow(row)
    assert viewer.dims.current_step[0] == slice_rows(expected)[row]["slice"] != before
    # same ids: label 2 has no prediction with id 2
    tab.match_combo.setCurrentText("same label id")
    by_id = tab.score()
    assert by_id.objects[1].iou == 0.0 and by_id.unmatched == (5,)
    assert "matching no object: 5" in tab.summary.text()
    tab.gt_combo.set_layer("annotation")
    assert tab.score() is None and "same layer" in tab.status.text()


def test_dock_opens_from_the_plugin_menu(make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-clickseg", "Evaluation")
    assert isinstance(widget, EvaluationDock)
    assert [widget.tabs.tabText(i) for i in range(2)] == ["Evaluate model", "Score annotation"]


def test_current_view_converts_world_to_slice(make_napari_viewer):
    viewer = make_napari_viewer()
    image, labels = _volume()
    viewer.add_image(image, name="volume", scale=(2.0, 1.0, 1.0))
    viewer.add_labels(labels, name="truth", scale=(2.0, 1.0, 1.0))
    widget = EvaluationDock(viewer)
    viewer.window.add_dock_widget(widget)
    tab = widget.evaluate_tab
    viewer.dims.set_point(0, 4.0)  # world z = 4 is slice 2 at 2 units per slice
    tab.selection.current.click()
    assert tab.selection.selection() == (0, [2], None)
    assert [o.name for o in tab.build_objects()] == ["slice2/label1", "slice2/label2"]


def test_parse_labels():
    assert parse_labels("all") is None and parse_labels(" ") is None
    assert parse_labels("3, 1, 5-7") == (1, 3, 5, 6, 7)
    for bad in ("0", "4-2", "a", "1;2"):
        with pytest.raises(ValueError, match="object ids"):
            parse_labels(bad)


def test_layer_objects_pieces_small_objects_and_rgb():
    labels = np.zeros((6, 8), np.uint16)
    labels[0:2, 0:2] = 4  # two 4-connected pieces of label 4 ...
    labels[4:6, 5:8] = 4
    labels[3, 0] = 9  # ... and a one-pixel label 9
    rgb = np.zeros((6, 8, 3), np.uint8)
    rgb[..., 1] = 100
    whole = LayerObjects(rgb, labels, rgb=True)
    assert [o.name for o in whole] == ["slice0/label4", "slice0/label9"]
    pieces = LayerObjects(rgb, labels, rgb=True, split_components=True, min_pixels=2)
    objects = list(pieces)
    assert [o.name for o in objects] == ["slice0/label4/part1", "slice0/label4/part2"]
    assert [o.area for o in objects] == [4, 6]
    assert objects[0].image.shape == (6, 8, 3)
    assert [s.name for s in pieces.skipped] == ["slice0/label9/part1"]
    with pytest.raises(ValueError, match=r"has shape \(6, 8\) but ground truth"):
        LayerObjects(rgb, labels[:, :7], rgb=True)
    with pytest.raises(DatasetError, match="none of the labels \\[2\\] in the image"):
        len(LayerObjects(rgb, labels, rgb=True, labels_wanted=[2]))


def test_network_model_numbers_equal_the_engine(tiny_model, dock, qtbot):
    """A (tiny, untrained) SimpleClick through the model chooser: the dock is the engine."""
    # tiny_model comes first: building it imports timm (and triton) before napari's OpenGL,
    # which would crash under Mesa (see model_choice.avoid_llvm_clash for the dock's own path)
    from napari_clickseg.engine.predictor import Predictor

    tab = dock.evaluate_tab
    tab.model_choice.add_model("tiny SimpleClick", lambda device: tiny_model)
    tab.model_choice.set_device("cpu")
    tab.max_clicks.setValue(2)
    tab.selection.first.setValue(0)
    tab.selection.last.setValue(0)
    _run(qtbot, tab)
    image, labels = _volume()
    expected = evaluate_dataset(
        Predictor(tiny_model, "cpu"),
        _hand_objects(image, labels, [0]),
        EvaluationSettings(max_clicks=2, full_curve=True),
    )
    assert tab.result is not None, tab.status.text()
    assert [o.ious for o in tab.result.objects] == [o.ious for o in expected.objects]
    assert tab.result.summary == expected.summary


def test_opening_the_dock_module_does_not_import_torch():
    """napari imports the widget module when the dock opens; torch waits for the first run."""
    import subprocess
    import sys

    code = (
        "import sys, napari_clickseg._widgets.evaluation_dock; "
        "print(sorted(m for m in ('torch', 'timm') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


ISBI = Path(__file__).resolve().parents[3] / "shared" / "data" / "isbi2012_em"


@pytest.mark.skipif(not ISBI.is_dir(), reason="real ISBI 2012 data not present")
def test_real_isbi_objects_equal_the_cli_adapter():
    """Layers as napari opens the ISBI PNG folders give the CLI adapter's objects and numbers."""
    from napari_clickseg._reader import read_png_folder
    from napari_clickseg.data.registry import open_dataset

    ((image, _, _),) = read_png_folder(ISBI / "image")
    ((label, _, kind),) = read_png_folder(ISBI / "label")
    assert kind == "labels"  # 255 inside cells, 0 on membranes
    ours = LayerObjects(image, label, slices=[20], split_components=True).limit(3)
    cli = open_dataset(f"isbi:{ISBI}", slices=[20]).limit(3)
    for a, b in zip(ours, cli, strict=True):
        np.testing.assert_array_equal(a.gt, b.gt)
        np.testing.assert_array_equal(a.image[..., 0], b.image)
    settings = EvaluationSettings(max_clicks=2, full_curve=True)
    mine = evaluate_dataset(ClickBaseline(), ours, settings)
    theirs = evaluate_dataset(ClickBaseline(), cli, settings)
    assert [o.ious for o in mine.objects] == [o.ious for o in theirs.objects]


def test_lazy_layers_are_evaluated_without_reading_the_volume(make_napari_viewer, qtbot, tmp_path):
    """A zarr-backed (dask) image and labels of 1 GB nominal: building the objects and taking the
    first one reads only its slice."""
    import tracemalloc

    import dask.array as da
    import zarr

    shape, chunks = (64, 4096, 2048), (1, 1024, 1024)
    image = zarr.create_array(
        store=str(tmp_path / "i.zarr"), shape=shape, chunks=chunks, dtype="u1"
    )
    labels = zarr.create_array(
        store=str(tmp_path / "l.zarr"), shape=shape, chunks=chunks, dtype="u1"
    )
    image[30, 100:200, 100:200] = 200
    labels[30, 120:180, 120:180] = 1
    viewer = make_napari_viewer()
    viewer.add_image(da.from_zarr(image), name="em", contrast_limits=(0, 255))
    viewer.add_labels(da.from_zarr(labels), name="truth")
    widget = EvaluationDock(viewer)
    viewer.window.add_dock_widget(widget, name="Evaluation")
    tab = widget.evaluate_tab
    tab.selection.first.setValue(29)
    tab.selection.last.setValue(31)
    tracemalloc.start()
    try:
        objects = tab.build_objects()
        first = next(iter(objects))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first.name == "slice30/label1" and first.area == 3600
    assert peak < 200e6  # the volumes are 512 MB each
