"""Committing objects never overwrites other objects unless asked."""

import numpy as np
import pytest

from napari_clickseg.engine.object_store import next_label, plan_commit


def test_new_object_gets_a_new_id_and_keeps_other_objects():
    labels = np.zeros((4, 4), np.uint16)
    labels[0, :] = 3
    mask = np.zeros((4, 4), bool)
    mask[:2, :2] = True
    plan = plan_commit(labels, mask)
    assert plan.label == 4
    assert plan.kept_pixels == 2 and plan.written_pixels == 2
    labels[plan.indices] = plan.label
    assert (labels[0, :] == 3).all() and (labels[1, :2] == 4).all()


def test_overwrite_takes_the_pixels_when_asked():
    labels = np.ones((3, 3), np.uint8)
    plan = plan_commit(labels, np.ones((3, 3), bool), overwrite=True)
    assert plan.label == 2 and plan.written_pixels == 9 and plan.overwritten_pixels == 9


def test_full_dtype_and_bad_shapes_are_explained():
    with pytest.raises(OverflowError, match="uint32"):
        next_label(np.full((2, 2), 255, np.uint8))
    with pytest.raises(ValueError, match="does not match"):
        plan_commit(np.zeros((2, 2), np.uint8), np.zeros((3, 3), bool))
