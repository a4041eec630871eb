"""The synthetic generators as an evaluation data set (``synthetic:<kind>``)."""

import numpy as np
import pytest

from napari_clickseg.cli import main
from napari_clickseg.data.instances import DatasetError, EvalObject
from napari_clickseg.data.registry import open_dataset
from napari_clickseg.data.synthetic import make_brain_mri, make_knee_mri
from napari_clickseg.data.synthetic_dataset import BRAIN_COMPARTMENTS, SyntheticDataset

KNEE = {"shape": [12, 64, 64], "slice_step": 3}


def test_knee_objects_are_the_cartilage_labels_of_the_chosen_slices():
    dataset = open_dataset("synthetic:knee", seed=5, **KNEE)
    assert isinstance(dataset, SyntheticDataset) and dataset.name == "synthetic_knee"
    objects = list(dataset)
    _, labels = make_knee_mri(shape=(12, 64, 64), seed=5)
    expected = [
        (z, name, value)
        for z in range(0, 12, 3)
        for name, value in (("femoral", 1), ("tibial", 2))
        if (labels[z] == value).sum() >= 20
    ]
    assert [(o.meta["slice"], o.meta["object"]) for o in objects] == [e[:2] for e in expected]
    for obj, (z, _, value) in zip(objects, expected, strict=True):
        assert isinstance(obj, EvalObject) and obj.image.dtype == np.uint8
        np.testing.assert_array_equal(obj.gt, (labels[z] == value).astype(np.int8))
        assert obj.name == f"knee/v5/z{z}/{obj.meta['object']}"
    assert len(dataset) == len(objects)


def test_seeds_make_distinct_reproducible_sets():
    first = [o.image for o in open_dataset("synthetic:knee", seed=5, **KNEE)]
    again = [o.image for o in open_dataset("synthetic:knee", seed=5, **KNEE)]
    other = [o.image for o in open_dataset("synthetic:knee", seed=6, **KNEE)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])


def test_brain_targets_and_modality():
    options = {"shape": [40, 128, 128], "slice_step": 5}
    _, seg = make_brain_mri(shape=(40, 128, 128), seed=3)
    flair = list(open_dataset("synthetic:brain", seed=3, targets=["core"], **options))
    t1ce = list(open_dataset("synthetic:brain", seed=3, modality="t1ce", targets="core", **options))
    assert flair and {o.meta["object"] for o in flair} == {"core"}
    for a, b in zip(flair, t1ce, strict=True):
        z = a.meta["slice"]
        np.testing.assert_array_equal(a.gt, np.isin(seg[z], BRAIN_COMPARTMENTS["core"]))
        assert not np.array_equal(a.image, b.image)


def test_small_objects_are_skipped_and_listed():
    dataset = open_dataset("synthetic:knee", seed=5, min_area=10**6, **KNEE)
    with pytest.raises(DatasetError, match="no object to evaluate"):
        list(dataset)
    assert dataset.skipped and all("fewer than 1000000 pixels" in s.reason for s in dataset.skipped)


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        ("synthetic:lungs", {}, "unknown synthetic kind 'lungs'; known: em_cells"),
        ("synthetic:knee", {"volumes": 0}, "volumes and slice_step must be >= 1"),
        ("synthetic:brain", {"modality": "dwi"}, "unknown modality 'dwi'"),
        ("synthetic:brain", {"targets": ["oedema"]}, r"unknown target\(s\) \['oedema'\]"),
    ],
)
def test_bad_specs_and_options_say_what_is_expected(spec, options, message):
    with pytest.raises(DatasetError, match=message):
        open_dataset(spec, **options)


def test_clickseg_evaluate_runs_on_a_synthetic_set(tmp_path, capsys):
    args = ["evaluate", "--model", "baseline", "--data", "synthetic:knee", "--max-clicks", "2"]
    args += ["--data-option", "shape=12,64,64", "--data-option", "slice_step=6"]
    args += ["--data-option", "seed=2000", "--out", str(tmp_path)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "synthetic_knee (" in text and "NoC@85" in text
    assert list(tmp_path.glob("synthetic_knee__baseline.csv"))
