"""Reference fixtures for the NoC evaluation protocol, computed by the *official* SimpleClick code.

The official ``isegm`` package (clicker, IoU, NoC metric, per-instance loop) and the official
``scripts/evaluate_model.py`` are imported / read from a separate checkout given on the command
line; none of that code is part of this project. Our own code here only builds inputs, calls the
official functions and stores what they return.

Usage::

    PYTHONPATH=/dir/with/cv2 python tools/make_official_protocol_fixtures.py \\
        --official-repo /path/to/SimpleClick [--out tests/fixtures/official]

The checkout must provide ``isegm/inference/{clicker,utils,evaluation}.py`` and
``scripts/evaluate_model.py``; the environment needs ``numpy``, ``cv2`` (official ``Clicker``),
``torch`` and ``tqdm`` (imported by the official ``utils`` / ``evaluation`` modules) and ``scipy``
(only to state what a float64 distance transform would pick in the two large cases).

Written files:

* ``protocol.npz``: next-click cases (official ``Clicker``), large float32-tie cases stored as
  disk specifications, per-instance loop runs (official ``evaluate_sample`` with a toy predictor),
  metric cases (official ``compute_noc_metric`` and ``save_results``) and IoU cases (official
  ``get_iou``).
* ``PROTOCOL.md``: documents every array, each case and the official behaviour found.

Distance transform: the official clicker calls ``cv2.distanceTransform(..., cv2.DIST_L2, 0)``.
Pip builds of OpenCV route that call to Intel IPP for small inputs, and IPP's result is off by one
float32 ulp at some pixels, differently from process to process (opencv/opencv#24082). The
reference values are therefore computed with ``cv2.ipp.setUseIPP(False)``, i.e. OpenCV's own exact
``trueDistTrans`` (float32 of the correctly rounded square root of the exact squared distance).

The generation is deterministic (same arrays for the same numpy / OpenCV builds).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import io
import json
import platform
import sys
import tempfile
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAX_H, MAX_W = 24, 32  # padding size of the small next-click / IoU / loop cases
MAX_PREV = 12  # padding size of the previous-click lists
RANDOM_SEED = 20240607
N_RANDOM = 30
ELAPSED_TIME = 123.0  # seconds passed to save_results (only SPC / Time columns depend on it)
LITERAL_THRS = (0.80, 0.85, 0.90, 0.95)
# Two integers that are sums of two squares and whose float32 square roots are equal:
# sqrt(4240681) = 2059.2913830, sqrt(4240682) = 2059.2916258, both -> float32 2059.2915039.
TIE_N1, TIE_N2 = 4240681, 4240682


# ------------------------------------------------------------------------------------------------
# Access to the official code
# ------------------------------------------------------------------------------------------------
class Official:
    """Modules and functions of the official checkout."""

    def __init__(self, repo: Path):
        self.repo = repo
        sys.path.insert(0, str(repo))
        self.cv2 = importlib.import_module("cv2")
        self.cv2.ipp.setUseIPP(False)  # reference: OpenCV's exact code path (see module doc)
        self.clicker = importlib.import_module("isegm.inference.clicker")
        self.utils = importlib.import_module("isegm.inference.utils")
        self.evaluation = importlib.import_module("isegm.inference.evaluation")
        for mod in (self.clicker, self.utils, self.evaluation):
            if not Path(mod.__file__).resolve().is_relative_to(repo):
                raise RuntimeError(f"{mod.__name__} was imported from {mod.__file__}, not {repo}")
        self.script = repo / "scripts" / "evaluate_model.py"
        self.save_results = self._load_script_function(self.script, "save_results")

    def _load_script_function(self, path: Path, name: str):
        """Compile one top-level function of an official script, unchanged.

        ``scripts/evaluate_model.py`` cannot be imported as a whole without the dataset, config
        and visualisation modules; ``save_results`` only needs ``np``, ``pickle`` and the
        ``utils`` module, so its source is executed on its own in such a namespace. ``utils``
        is a recording proxy (see :class:`RecordingUtils`).
        """
        source = path.read_text()
        tree = ast.parse(source)
        nodes = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
        if len(nodes) != 1:
            raise RuntimeError(f"{path} has no single top-level function {name!r}")
        module = ast.Module(body=nodes, type_ignores=[])
        self.recording_utils = RecordingUtils(self.utils)
        namespace = {"np": np, "pickle": importlib.import_module("pickle")}
        namespace["utils"] = self.recording_utils
        exec(compile(module, str(path), "exec"), namespace)
        return namespace[name]


class RecordingUtils(types.SimpleNamespace):
    """Stands in for ``isegm.inference.utils`` and records ``compute_noc_metric`` calls."""

    def __init__(self, utils):
        super().__init__()
        self._utils = utils
        self.calls = []

    def __getattr__(self, name):
        return getattr(self._utils, name)

    def compute_noc_metric(self, all_ious, iou_thrs, max_clicks=20):
        result = self._utils.compute_noc_metric(all_ious, iou_thrs=iou_thrs, max_clicks=max_clicks)
        self.calls.append({"iou_thrs": list(iou_thrs), "max_clicks": max_clicks, "result": result})
        return result


def call_capturing_locals(code: types.CodeType, func, *args, **kwargs):
    """Call ``func`` and return (result, locals of the last frame of ``code`` when it returned)."""
    captured: dict = {}

    def profiler(frame, event, arg):
        if event == "return" and frame.f_code is code:
            captured.clear()
            captured.update(frame.f_locals)

    previous = sys.getprofile()
    sys.setprofile(profiler)
    try:
        result = func(*args, **kwargs)
    finally:
        sys.setprofile(previous)
    return result, captured


# ------------------------------------------------------------------------------------------------
# (a) next-click cases
# ------------------------------------------------------------------------------------------------
@dataclass
class ClickCase:
    name: str
    description: str
    gt: np.ndarray  # int8, values in {1, 0, -1}
    pred: np.ndarray  # bool
    clicks: list = field(default_factory=list)  # [(row, col, is_positive)]


def _blank(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((h, w), np.int8), np.zeros((h, w), bool)


def _disk(h: int, w: int, r: int, c: int, radius_sq: int) -> np.ndarray:
    rr = np.arange(h)[:, None]
    cc = np.arange(w)[None, :]
    return (rr - r) ** 2 + (cc - c) ** 2 <= radius_sq


def handmade_click_cases() -> list[ClickCase]:
    """Edge cases of ``Clicker._get_next_click``; expected values come from the official code."""
    cases = []

    def add(name, description, gt, pred, clicks=()):
        cases.append(ClickCase(name, description, gt, pred, [tuple(c) for c in clicks]))

    gt, pred = _blank(9, 11)
    gt[2:7, 3:8] = 1
    add("first_click_odd_square", "5x5 object, empty prediction: unique centre maximum", gt, pred)

    gt, pred = _blank(10, 12)
    gt[2:6, 3:9] = 1
    add("first_click_even_rect_tie", "4x6 object: 8 pixels tie, first in row-major wins", gt, pred)

    gt, pred = _blank(7, 9)
    gt[:] = 1
    add("first_click_full_image_gt", "object = whole image: only the padding bounds it", gt, pred)

    gt, pred = _blank(8, 12)
    gt[:, :4] = 1
    add("object_touching_left_border", "object = 4 leftmost columns (padding matters)", gt, pred)

    gt, pred = _blank(10, 10)
    gt[:5, :5] = 1
    add("object_in_top_left_corner", "5x5 object in the corner", gt, pred)

    gt, pred = _blank(9, 13)
    gt[7:, 4:11] = 1
    add("object_touching_bottom_border", "2-row object on the bottom border", gt, pred)

    gt, pred = _blank(9, 13)
    gt[4, 6] = 1
    add("one_pixel_object", "single-pixel object, empty prediction", gt, pred)

    gt, pred = _blank(9, 13)
    gt[0, 0] = 1
    add("one_pixel_object_at_origin", "single-pixel object at (0, 0)", gt, pred)

    gt, pred = _blank(9, 13)
    gt[8, 12] = 1
    add("one_pixel_object_at_last_pixel", "single-pixel object at (H-1, W-1)", gt, pred)

    gt, pred = _blank(1, 1)
    gt[0, 0] = 1
    add("image_1x1_missed", "1x1 image, object missed", gt, pred)

    gt, pred = _blank(1, 1)
    gt[0, 0] = 1
    pred[0, 0] = True
    add("image_1x1_correct", "1x1 image, prediction correct (no error pixel)", gt, pred)

    gt, pred = _blank(1, 15)
    gt[0, 3:12] = 1
    add("one_row_image", "1x15 image: every FN pixel has distance 1", gt, pred)

    gt, pred = _blank(13, 1)
    gt[2:10, 0] = 1
    add("one_column_image", "13x1 image", gt, pred)

    gt, pred = _blank(12, 12)
    gt[np.arange(12), np.arange(12)] = 1
    add("thin_diagonal_line", "1-pixel diagonal object: all distances 1", gt, pred)

    gt, pred = _blank(24, 32)
    gt[4:20, 6:26] = 1
    rr, cc = np.mgrid[:24, :32]
    gt[(rr - 11) ** 2 + (cc - 15) ** 2 <= 16] = 0
    add("ring_object", "rectangle with a round hole, empty prediction", gt, pred)

    gt, pred = _blank(14, 16)
    gt[2:12, 2:6] = 1
    gt[8:12, 2:14] = 1
    add("l_shaped_object", "L-shaped object", gt, pred)

    gt, pred = _blank(24, 8)
    gt[1:23, 2:7] = 1
    add("tall_object", "tall non-square image and object", gt, pred)

    gt, pred = _blank(10, 14)
    gt[3:7, 4:10] = 1
    pred[:] = True
    add("full_prediction_all_ones", "prediction all ones: FP = whole background", gt, pred)

    gt, pred = _blank(9, 11)
    pred[:] = True
    add("empty_gt_full_prediction", "no object, prediction all ones", gt, pred)

    gt, pred = _blank(9, 11)
    gt[2:7, 3:8] = 1
    pred[:] = gt == 1
    add("pred_equals_gt", "no error pixel at all (fn_max = fp_max = 0)", gt, pred)

    gt, pred = _blank(9, 11)
    gt[2:7, 3:8] = 1
    pred[:] = gt == 1
    pred[3, 5] = False
    add("pred_gt_minus_one_pixel", "prediction = gt except one missed pixel", gt, pred)

    gt, pred = _blank(9, 11)
    gt[2:7, 3:8] = 1
    pred[:] = gt == 1
    pred[7, 9] = True
    add("pred_gt_plus_one_pixel", "prediction = gt plus one false-positive pixel", gt, pred)

    gt, pred = _blank(9, 11)
    gt[2:7, 3:8] = 1
    pred[:] = gt == 1
    pred[6, 7] = False
    pred[0, 1] = True
    add("one_fn_one_fp_pixel", "one FN and one FP pixel: distance tie 1 vs 1", gt, pred)

    gt, pred = _blank(12, 16)
    gt[2:5, 2:5] = 1
    pred[7:10, 10:13] = True
    add("tie_fn_fp_equal_max", "FN 3x3 and FP 3x3 blocks: max 2 vs 2 -> negative", gt, pred)

    gt, pred = _blank(12, 16)
    gt[7:10, 10:13] = 1
    pred[2:5, 2:5] = True
    add("tie_fn_fp_equal_max_fp_first", "as above, FP block first in row-major", gt, pred)

    gt, pred = _blank(14, 20)
    gt[1:6, 1:6] = 1
    gt[1, 1] = gt[1, 5] = gt[5, 1] = gt[5, 5] = 0
    pred[7:12, 12:17] = True
    add("fn_diagonal_vs_fp_square", "FN 5x5 minus corners (sqrt 8) vs FP 5x5 (3)", gt, pred)

    gt, pred = _blank(14, 20)
    gt[1:6, 1:6] = 1
    gt[1, 1] = gt[1, 5] = gt[5, 1] = gt[5, 5] = 0
    pred[7:11, 12:16] = True
    add("fn_diagonal_vs_fp_smaller", "FN 5x5 minus corners (sqrt 8) vs FP 4x4 (2)", gt, pred)

    gt, pred = _blank(12, 28)
    gt[1:4, 20:23] = 1
    gt[2:5, 2:5] = 1
    add("tie_two_components_row_major", "two equal FN blocks: higher one wins", gt, pred)

    gt, pred = _blank(12, 28)
    gt[3:6, 20:23] = 1
    gt[3:6, 2:5] = 1
    add("tie_two_components_same_row", "two equal FN blocks on the same rows: left wins", gt, pred)

    gt, pred = _blank(15, 15)
    gt[2:13, 2:13] = 1
    gt[6:9, 6:9] = -1
    add("ignore_hole_inside_object", "ignore pixels in the object centre", gt, pred)

    gt, pred = _blank(20, 24)
    gt[4:16, 5:19] = -1
    gt[6:14, 7:17] = 1
    pred[2:18, 3:21] = True
    add("ignore_ring_around_object", "ignore band around the object, prediction over it", gt, pred)

    gt, pred = _blank(16, 20)
    gt[:, :10] = -1
    pred[:, :12] = True
    add("ignore_under_false_positive", "large FP area mostly on ignore pixels", gt, pred)

    gt, pred = _blank(8, 10)
    gt[:] = -1
    pred[2:5, 2:5] = True
    add("ignore_everything", "every pixel ignored", gt, pred)

    gt, pred = _blank(12, 14)
    gt[:3, :] = -1
    gt[3:9, 2:12] = 1
    add("ignore_band_on_border", "ignore band between object and top border", gt, pred)

    gt, pred = _blank(12, 14)
    gt[2:10, 3:11] = 1
    gt[5, 6] = -1
    add("ignore_single_pixel_at_centre", "one ignore pixel at the object centre", gt, pred)

    gt, pred = _blank(9, 11)
    gt[2:7, 3:8] = 1
    add("clicked_max_is_skipped", "centre (the unique max) already clicked", gt, pred, [(4, 5, 1)])

    gt, pred = _blank(12, 16)
    gt[1:6, 1:6] = 1
    pred[7:10, 10:13] = True
    add(
        "clicked_max_then_fp_tie",
        "FN centre clicked: next FN max 2 ties the FP max 2 -> negative",
        gt,
        pred,
        [(3, 3, 1)],
    )

    gt, pred = _blank(10, 12)
    gt[2:6, 3:9] = 1
    add(
        "clicked_several_tied_maxima",
        "4x6 object, first three of the tied maxima clicked",
        gt,
        pred,
        [(3, 4, 1), (3, 5, 1), (3, 6, 1)],
    )

    gt, pred = _blank(9, 13)
    gt[4, 6] = 1
    add("clicked_only_error_pixel", "only error pixel already clicked", gt, pred, [(4, 6, 1)])

    gt, pred = _blank(9, 13)
    gt[4, 6] = 1
    gt[2, 9] = 1
    pred[7, 1] = True
    add(
        "clicked_all_error_pixels",
        "two FN pixels and one FP pixel, all clicked",
        gt,
        pred,
        [(4, 6, 1), (2, 9, 1), (7, 1, 0)],
    )

    gt, pred = _blank(6, 7)
    gt[0, 0] = 1
    add(
        "clicked_error_at_origin", "only error pixel (0, 0), already clicked", gt, pred, [(0, 0, 1)]
    )

    gt, pred = _blank(9, 11)
    gt[2:7, 3:8] = 1
    pred[:] = gt == 1
    add(
        "pred_equals_gt_origin_clicked",
        "no error pixel, (0, 0) already clicked (negative)",
        gt,
        pred,
        [(4, 5, 1), (0, 0, 0)],
    )

    gt, pred = _blank(10, 12)
    gt[2:7, 2:7] = 1
    add(
        "clicks_on_correct_pixels",
        "earlier clicks on pixels without error do not matter",
        gt,
        pred,
        [(0, 11, 0), (9, 0, 0), (9, 11, 1)],
    )

    gt, pred = _blank(18, 22)
    gt[3:15, 4:18] = 1
    pred[5:13, 6:16] = True
    pred[0:2, 0:3] = True
    prev = [(0, 0, 0), (1, 1, 0), (3, 4, 1), (14, 17, 1), (8, 10, 1), (2, 2, 1)]
    prev += [(3, 4, 1), (9, 11, 0), (17, 21, 0), (0, 1, 0)]
    add(
        "many_previous_clicks",
        "10 earlier clicks incl. a duplicate: click index 10",
        gt,
        pred,
        prev,
    )

    gt, pred = _blank(14, 18)
    rr, cc = np.mgrid[:14, :18]
    pred[:] = ((rr + cc) % 2 == 0) & (cc >= 9)
    gt[2:12, 1:8] = 1
    pred[2:12, 1:8] = True
    add("checkerboard_false_positives", "checkerboard FP pixels: all distances 1", gt, pred)

    gt, pred = _blank(12, 16)
    gt[0:6, 0:8] = 1
    pred[:] = gt == 1
    pred[6:12, 8:16] = True
    add("fp_in_bottom_right_corner", "6x8 FP block in the corner", gt, pred)

    gt, pred = _blank(12, 16)
    gt[2:10, 2:8] = 1
    pred[2:10, 8:14] = True
    add("fn_fp_adjacent", "FN and FP blocks side by side (each bounds the other)", gt, pred)

    gt, pred = _blank(24, 32)
    gt[:] = _disk(24, 32, 11, 15, 50)
    add("digital_disk", "digital disk r^2 <= 50: max distance sqrt(53)", gt, pred)

    gt, pred = _blank(20, 20)
    gt[:] = _disk(20, 20, 9, 9, 30) | _disk(20, 20, 10, 9, 33)
    add("two_overlapping_disks", "union of two offset disks (non-integer distances)", gt, pred)

    gt, pred = _blank(24, 32)
    gt[2:22, 2:30] = 1
    pred[6:18, 8:24] = True
    pred[10:14, 14:18] = False
    add("frame_error_and_hole", "FN frame around a prediction with a hole", gt, pred)

    gt, pred = _blank(24, 32)
    gt[:] = _disk(24, 32, 4, 14, 13) | _disk(24, 32, 13, 12, 41) | _disk(24, 32, 15, 27, 72)
    add(
        "ipp_sensitive_tie",
        "two pixels at squared distance 45 tie; IPP can return one of them 1 ulp higher",
        gt,
        pred,
    )
    return cases


def _random_shape(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Union of a few random rectangles and disks."""
    out = np.zeros((h, w), bool)
    for _ in range(int(rng.integers(1, 4))):
        r, c = int(rng.integers(0, h)), int(rng.integers(0, w))
        if rng.random() < 0.5:
            dh, dw = int(rng.integers(1, h // 2 + 2)), int(rng.integers(1, w // 2 + 2))
            out[max(r - dh, 0) : r + dh, max(c - dw, 0) : c + dw] = True
        else:
            out |= _disk(h, w, r, c, int(rng.integers(0, max(h, w) ** 2 // 8 + 2)))
    return out


def random_click_cases(off: Official, rng: np.random.Generator) -> list[ClickCase]:
    """Seeded random cases; some reuse the official clicks on the same prediction as history."""
    cases = []
    for i in range(N_RANDOM):
        h, w = int(rng.integers(1, MAX_H + 1)), int(rng.integers(1, MAX_W + 1))
        if i < 4:  # a few full-size ones
            h, w = MAX_H, MAX_W
        gt = _random_shape(rng, h, w).astype(np.int8)
        if rng.random() < 0.4:
            band = _random_shape(rng, h, w) & (rng.random((h, w)) < 0.7)
            gt[band] = -1
        pred = gt == 1
        pred = (pred | _random_shape(rng, h, w)) & ~(
            _random_shape(rng, h, w) & (rng.random() < 0.8)
        )
        if rng.random() < 0.2:
            pred = np.zeros((h, w), bool)
        mode = i % 3
        clicks = []
        if mode == 1:  # history = official clicks on the same prediction (maxima get skipped)
            clicker = off.clicker.Clicker(gt_mask=gt)
            for _ in range(int(rng.integers(1, 5))):
                clicker.make_next_click(pred)
            clicks = [
                (int(k.coords[0]), int(k.coords[1]), int(k.is_positive))
                for k in clicker.clicks_list
            ]
        elif mode == 2:  # history = random pixels
            for _ in range(int(rng.integers(1, 6))):
                clicks.append(
                    (int(rng.integers(0, h)), int(rng.integers(0, w)), int(rng.integers(0, 2)))
                )
        kind = ["no history", "history = official clicks on this prediction", "random history"][
            mode
        ]
        cases.append(ClickCase(f"random_{i:02d}", f"seeded random case ({kind})", gt, pred, clicks))
    return cases


def official_next_click(off: Official, gt, pred, clicks, use_ipp: bool = False):
    """Run the official Clicker: add ``clicks``, then ``make_next_click(pred)``."""
    off.cv2.ipp.setUseIPP(use_ipp)
    clicker = off.clicker.Clicker(gt_mask=gt)
    for r, c, positive in clicks:
        clicker.add_click(off.clicker.Click(is_positive=bool(positive), coords=(r, c)))
    code = off.clicker.Clicker._get_next_click.__code__
    _, loc = call_capturing_locals(code, clicker.make_next_click, pred)
    click = clicker.clicks_list[-1]
    out = (int(click.coords[0]), int(click.coords[1]), int(bool(click.is_positive)))
    return out, int(click.indx), np.float32(loc["fn_max_dist"]), np.float32(loc["fp_max_dist"])


def click_section(off: Official, cases: list[ClickCase]) -> dict[str, np.ndarray]:
    n = len(cases)
    arrays = {
        "nc_names": np.array([c.name for c in cases]),
        "nc_shape": np.zeros((n, 2), np.int32),
        "nc_gt": np.zeros((n, MAX_H, MAX_W), np.int8),
        "nc_pred": np.zeros((n, MAX_H, MAX_W), bool),
        "nc_prev_clicks": np.full((n, MAX_PREV, 3), -1, np.int32),
        "nc_n_prev": np.zeros(n, np.int32),
        "nc_next": np.zeros((n, 3), np.int32),
        "nc_next_indx": np.zeros(n, np.int32),
        "nc_fn_max": np.zeros(n, np.float32),
        "nc_fp_max": np.zeros(n, np.float32),
    }
    for i, case in enumerate(cases):
        h, w = case.gt.shape
        assert h <= MAX_H and w <= MAX_W and len(case.clicks) <= MAX_PREV, case.name
        arrays["nc_shape"][i] = h, w
        arrays["nc_gt"][i, :h, :w] = case.gt
        arrays["nc_pred"][i, :h, :w] = case.pred
        arrays["nc_n_prev"][i] = len(case.clicks)
        for j, click in enumerate(case.clicks):
            arrays["nc_prev_clicks"][i, j] = click
        ref = official_next_click(off, case.gt, case.pred, case.clicks, use_ipp=False)
        arrays["nc_next"][i], arrays["nc_next_indx"][i] = ref[0], ref[1]
        arrays["nc_fn_max"][i], arrays["nc_fp_max"][i] = ref[2], ref[3]
    off.cv2.ipp.setUseIPP(False)
    return arrays


# ------------------------------------------------------------------------------------------------
# (a') large cases where float32 rounding of the distance decides
# ------------------------------------------------------------------------------------------------
def large_specs() -> list[dict]:
    """Disk-union specs; label 1: object missed (gt 1, pred 0), 2: false positive (gt 0, pred 1)."""
    r = int(np.ceil(np.sqrt(TIE_N2)))  # 2060
    return [
        {
            "name": "f32_tie_same_map",
            "description": "two overlapping FN disks whose centres have squared distances "
            f"{TIE_N1} (first in row-major) and {TIE_N2}: equal in float32",
            "shape": (2 * r + 2, 2 * r + 1),
            "disks": [(r, r, TIE_N1 - 1, 1), (r + 1, r, TIE_N2 - 1, 1)],
        },
        {
            "name": "f32_tie_fn_vs_fp",
            "description": f"FN disk (max squared distance {TIE_N2}) left of an FP disk "
            f"(max {TIE_N1}): float32 maxima tie -> negative click",
            "shape": (2 * r + 1, 2 * (2 * r + 1)),
            "disks": [(r, r, TIE_N2 - 1, 1), (r, 3 * r + 1, TIE_N1 - 1, 2)],
        },
    ]


def build_large(spec: dict) -> tuple[np.ndarray, np.ndarray]:
    h, w = spec["shape"]
    gt, pred = _blank(h, w)
    for r, c, radius_sq, label in spec["disks"]:
        disk = _disk(h, w, r, c, radius_sq)
        if label == 1:
            gt[disk] = 1
        else:
            pred[disk] = True
    return gt, pred


def float64_choice(gt: np.ndarray, pred: np.ndarray) -> tuple[tuple[int, int, int], int, int]:
    """What the same rules give with exact (float64 / integer) distances; for the docs only."""
    from scipy import ndimage

    valid = gt != -1
    fn = (gt == 1) & ~pred & valid
    fp = (gt != 1) & pred & valid
    sq = []
    for mask in (fn, fp):
        edt = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
        sq.append(np.rint(edt * edt).astype(np.int64))
    fn_sq, fp_sq = sq
    positive = fn_sq.max() > fp_sq.max()
    chosen = fn_sq if positive else fp_sq
    flat = int(np.argmax(chosen == chosen.max()))
    r, c = divmod(flat, gt.shape[1])
    return (r, c, int(positive)), int(fn_sq.max()), int(fp_sq.max())


def large_section(off: Official) -> tuple[dict[str, np.ndarray], list[dict]]:
    specs = large_specs()
    n = len(specs)
    arrays = {
        "lg_names": np.array([s["name"] for s in specs]),
        "lg_shape": np.array([s["shape"] for s in specs], np.int32),
        "lg_disks": np.array([s["disks"] for s in specs], np.int64),
        "lg_next": np.zeros((n, 3), np.int32),
        "lg_fn_max": np.zeros(n, np.float32),
        "lg_fp_max": np.zeros(n, np.float32),
        "lg_next_float64": np.zeros((n, 3), np.int32),
        "lg_fn_max_sq": np.zeros(n, np.int64),
        "lg_fp_max_sq": np.zeros(n, np.int64),
    }
    for i, spec in enumerate(specs):
        gt, pred = build_large(spec)
        ref = official_next_click(off, gt, pred, [], use_ipp=False)
        ipp = official_next_click(off, gt, pred, [], use_ipp=True)
        assert ipp == ref, "IPP is not used above 4096 pixels per side"
        arrays["lg_next"][i] = ref[0]
        arrays["lg_fn_max"][i], arrays["lg_fp_max"][i] = ref[2], ref[3]
        choice, fn_sq, fp_sq = float64_choice(gt, pred)
        arrays["lg_next_float64"][i] = choice
        arrays["lg_fn_max_sq"][i], arrays["lg_fp_max_sq"][i] = fn_sq, fp_sq
        spec["official"], spec["float64"] = ref[0], choice
        del gt, pred
    off.cv2.ipp.setUseIPP(False)
    return arrays, specs


# ------------------------------------------------------------------------------------------------
# (a'') per-instance loop: official evaluate_sample with a toy predictor
# ------------------------------------------------------------------------------------------------
class ToyPredictor:
    """Deterministic stand-in for a network (ours): reveals the object around each click.

    ``get_prediction`` returns float32 probabilities: 0 everywhere, then for each click in order
    (positive or negative alike) the pixels with ``(y - row)**2 + (x - col)**2 <= radius**2``
    are set to ``float(gt == 1)`` there.
    """

    def __init__(self, gt: np.ndarray, radius: int):
        self.obj = (gt == 1).astype(np.float32)
        self.radius = radius

    def set_input_image(self, image):
        assert image.shape[:2] == self.obj.shape

    def get_prediction(self, clicker):
        h, w = self.obj.shape
        probs = np.zeros((h, w), np.float32)
        for click in clicker.get_clicks():
            r, c = click.coords
            disk = _disk(h, w, r, c, self.radius**2)
            probs[disk] = self.obj[disk]
        return probs


def loop_specs() -> list[dict]:
    specs = []

    def add(name, description, gt, radius, max_iou_thr, max_clicks=20, min_clicks=1):
        specs.append(
            {
                "name": name,
                "description": description,
                "gt": gt,
                "radius": radius,
                "max_iou_thr": max_iou_thr,
                "max_clicks": max_clicks,
                "min_clicks": min_clicks,
            }
        )

    gt = np.zeros((20, 24), np.int8)
    gt[5:15, 6:18] = 1
    add("rect_target_090", "10x12 object, radius 3, stop at 0.90", gt, 3, 0.90)
    add("rect_all_clicks", "same, --print-ious mode (target 1.01): all 20 clicks", gt, 3, 1.01)
    add("rect_max_clicks_10", "same, target 1.01 and 10 clicks", gt, 3, 1.01, max_clicks=10)
    add("rect_min_clicks_5", "same, target 0.3 but at least 5 clicks", gt, 3, 0.3, min_clicks=5)
    gt = np.zeros((16, 16), np.int8)
    gt[0:6, 0:6] = 1
    add(
        "corner_object_all_clicks", "object at (0, 0): perfect mask, then (0,0) clicks", gt, 2, 1.01
    )
    gt = np.zeros((22, 30), np.int8)
    gt[4:18, 4:26] = -1
    gt[6:16, 7:23] = 1
    gt[9:13, 12:18] = 0
    add("ignore_band_and_hole", "ignore band, object with a hole, radius 4", gt, 4, 1.01)
    gt = np.zeros((24, 32), np.int8)
    gt[:] = _disk(24, 32, 12, 16, 60) & ~_disk(24, 32, 12, 16, 12)
    add("annulus_target_085", "annulus object, radius 2, target 0.85", gt, 2, 0.85)
    gt = np.zeros((24, 32), np.int8)
    gt[1:23, 1:31] = 1
    add("slow_radius_1", "large object, radius 1: never reaches 0.90", gt, 1, 0.90)
    return specs


def loop_section(off: Official) -> tuple[dict[str, np.ndarray], list[dict]]:
    specs = loop_specs()
    n = len(specs)
    kmax = max(s["max_clicks"] for s in specs)
    arrays = {
        "lp_names": np.array([s["name"] for s in specs]),
        "lp_shape": np.zeros((n, 2), np.int32),
        "lp_gt": np.zeros((n, MAX_H, MAX_W), np.int8),
        "lp_radius": np.array([s["radius"] for s in specs], np.int32),
        "lp_max_iou_thr": np.array([s["max_iou_thr"] for s in specs], np.float64),
        "lp_max_clicks": np.array([s["max_clicks"] for s in specs], np.int32),
        "lp_min_clicks": np.array([s["min_clicks"] for s in specs], np.int32),
        "lp_n": np.zeros(n, np.int32),
        "lp_clicks": np.full((n, kmax, 3), -1, np.int32),
        "lp_ious": np.full((n, kmax), np.nan, np.float32),
        "lp_ious_f64": np.full((n, kmax), np.nan, np.float64),
    }
    off.cv2.ipp.setUseIPP(False)
    for i, spec in enumerate(specs):
        gt = spec["gt"]
        h, w = gt.shape
        arrays["lp_shape"][i] = h, w
        arrays["lp_gt"][i, :h, :w] = gt
        image = np.zeros((h, w, 3), np.uint8)
        predictor = ToyPredictor(gt, spec["radius"])
        raw = []  # float64 IoUs as the loop computes them, before the float32 array
        get_iou = off.utils.get_iou

        def recording_get_iou(gt_mask, pred_mask, ignore_label=-1, _raw=raw, _f=get_iou):
            value = _f(gt_mask, pred_mask, ignore_label)
            _raw.append(float(value))
            return value

        off.utils.get_iou = recording_get_iou
        try:
            clicks, ious, _ = off.evaluation.evaluate_sample(
                image,
                gt,
                predictor,
                max_iou_thr=spec["max_iou_thr"],
                pred_thr=0.49,
                min_clicks=spec["min_clicks"],
                max_clicks=spec["max_clicks"],
            )
        finally:
            off.utils.get_iou = get_iou
        assert ious.dtype == np.float32 and len(ious) == len(clicks) == len(raw)
        k = len(clicks)
        arrays["lp_n"][i] = k
        arrays["lp_ious"][i, :k] = ious
        arrays["lp_ious_f64"][i, :k] = raw
        for j, click in enumerate(clicks):
            assert click.indx == j
            arrays["lp_clicks"][i, j] = (
                int(click.coords[0]),
                int(click.coords[1]),
                int(click.is_positive),
            )
        spec["n"] = k
    return arrays, specs


# ------------------------------------------------------------------------------------------------
# (b) metric cases
# ------------------------------------------------------------------------------------------------
def _curve(*values) -> list[float]:
    """IoU values given as floats or (intersection, union) pairs, as float64."""
    return [v[0] / v[1] if isinstance(v, tuple) else float(v) for v in values]


def _ramp(start: float, stop: float, n: int) -> list[float]:
    return [float(x) for x in np.linspace(start, stop, n)]


def metric_datasets() -> list[dict]:
    """Lists of per-instance float64 IoU curves (``evaluate_sample`` stores them as float32)."""
    d = []
    full = [
        [0.96] * 20,  # every threshold at click 1
        _ramp(0.3, 0.79, 20),  # never reaches 0.80
        [*_ramp(0.3, 0.78, 19), 0.80],  # 0.80 (float32 0.800000012) first at click 20
        [*_ramp(0.3, 0.84, 19), 0.85],  # 0.85 (float32 0.850000024) first at click 20
        [*_ramp(0.5, 0.88, 10), *([(9, 10)] * 10)],  # exactly 9/10 = 0.9 from click 11 on
        [*_ramp(0.6, 0.94, 5), *([(19, 20)] * 15)],  # exactly 19/20 = 0.95 from click 6
        [0.5, 0.81, 0.86, 0.91, 0.96, *([0.97] * 15)],  # one threshold per click
        [0.5, 0.92, 0.7, 0.75, 0.9501, *([0.96] * 15)],  # up, down, up: first crossing counts
        [(17, 20), *([(17, 20)] * 19)],  # 17/20 = 0.85 exactly at click 1
        [*_ramp(0.2, 0.9, 19), 0.9000001],  # just above 0.9 at click 20
        [*_ramp(0.1, 0.79, 19), 0.7999999],  # float32 0.79999989: never reaches 0.80
        [*_ramp(0.3, 0.85, 19), 0.89999999],  # float32 0.89999998 = float32(0.9): reaches 90%
        [*_ramp(0.3, 0.84, 19), 0.8499999999],  # float32 0.85000002: reaches 85% at click 20
        [*_ramp(0.4, 0.95, 19), 0.95000003],  # float32 rounds to 0.95000005 > 0.9500000000000002
    ]
    d.append({"name": "full_20", "max_clicks": 20, "curves": [_curve(*c) for c in full]})

    ragged = [
        [0.93],  # stopped after click 1
        [0.5, 0.7, 0.86, 0.91],
        [0.4, 0.6, (9, 10)],  # stopped at exactly 0.9 (float64 0.9 >= 0.9) ...
        _ramp(0.2, 0.89, 20),  # ran out of clicks
        [*_ramp(0.2, 0.88, 19), 0.9],  # first reaches 0.9 (float64) at click 20
        [0.85, 0.95],
    ]
    d.append({"name": "ragged_20", "max_clicks": 20, "curves": [_curve(*c) for c in ragged]})

    ten = [
        _ramp(0.5, 0.95, 10),
        _ramp(0.5, 0.85, 10),
        [0.81, 0.83, 0.86, 0.92, 0.96],
        [*_ramp(0.3, 0.7, 9), 0.9],
        [0.99],
    ]
    d.append({"name": "max_clicks_10", "max_clicks": 10, "curves": [_curve(*c) for c in ten]})

    longer = [_ramp(0.5, 0.92, 8), [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.96, 0.97], [0.7] * 8]
    d.append({"name": "lists_longer_than_max_5", "max_clicks": 5, "curves": longer})

    d.append({"name": "single_instance", "max_clicks": 20, "curves": [_ramp(0.5, 0.97, 20)]})

    with_nan = [[float("nan")] * 20, _ramp(0.5, 0.97, 20)]
    d.append({"name": "with_nan_instance", "max_clicks": 20, "curves": with_nan})
    return d


METRIC_MODES = (  # (name, print_ious, target_iou as evaluate_model.py leaves it in args)
    ("print_ious", True, 1.01),
    ("target_0.90", False, 0.90),
    ("target_0.95", False, 0.95),
)


def run_save_results(off: Official, all_ious, max_clicks, print_ious, target_iou, tmp: Path):
    """Call the official ``save_results`` and collect what it computed."""
    args = types.SimpleNamespace(
        target_iou=target_iou,
        n_clicks=max_clicks,
        print_ious=print_ious,
        eval_mode="cvpr",
        mode="NoBRS",
        logs_path=tmp,
    )
    logs_path = tmp / "others" / "model"
    logs_path.mkdir(parents=True, exist_ok=True)
    off.recording_utils.calls.clear()
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _, loc = call_capturing_locals(
            off.save_results.__code__,
            off.save_results,
            args,
            "NoBRS",
            "DS",
            logs_path,
            "",
            (all_ious, ELAPSED_TIME),
            save_ious=False,
            print_header=True,
            single_model_eval=True,
        )
    return list(off.recording_utils.calls), loc, stdout.getvalue()


def metric_section(off: Official) -> tuple[dict[str, np.ndarray], list[dict]]:
    datasets = metric_datasets()
    n_ds, n_modes = len(datasets), len(METRIC_MODES)
    curves64 = [np.asarray(c, np.float64) for ds in datasets for c in ds["curves"]]
    arrays = {
        "mt_dataset_names": np.array([ds["name"] for ds in datasets]),
        "mt_dataset_max_clicks": np.array([ds["max_clicks"] for ds in datasets], np.int32),
        "mt_curve_dataset": np.array(
            [i for i, ds in enumerate(datasets) for _ in ds["curves"]], np.int32
        ),
        "mt_curve_len": np.array([len(c) for c in curves64], np.int32),
        "mt_curve_f64": np.concatenate(curves64),
        "mt_curve_f32": np.concatenate([c.astype(np.float32) for c in curves64]),
        "mt_mode_names": np.array([m[0] for m in METRIC_MODES]),
        "mt_mode_target_iou": np.array([m[2] for m in METRIC_MODES], np.float64),
        "mt_mode_thrs": np.full((n_modes, 4), np.nan, np.float64),
        "mt_noc": np.full((n_ds, n_modes, 4), np.nan, np.float64),
        "mt_noc_std": np.full((n_ds, n_modes, 4), np.nan, np.float64),
        "mt_nof": np.full((n_ds, n_modes, 4), -1, np.int64),
        "mt_extra_thr": np.full(n_modes, np.nan, np.float64),
        "mt_extra_noc": np.full((n_ds, n_modes), np.nan, np.float64),
        "mt_extra_nof": np.full((n_ds, n_modes), -1, np.int64),
        "mt_miou": np.full((n_ds, 20), np.nan, np.float32),
        "mt_miou_len": np.zeros(n_ds, np.int32),
        "mt_literal_thrs": np.array(LITERAL_THRS, np.float64),
        "mt_literal_noc": np.zeros((n_ds, 4), np.float64),
        "mt_literal_nof": np.zeros((n_ds, 4), np.int64),
    }
    table_rows = [["" for _ in METRIC_MODES] for _ in datasets]
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for i, ds in enumerate(datasets):
            # exactly what evaluate_sample returns per instance: np.array(ious, dtype=np.float32)
            all_ious = [np.array(c, dtype=np.float32) for c in ds["curves"]]
            mc = ds["max_clicks"]
            ds["results"] = {}
            for m, (mode, print_ious, target) in enumerate(METRIC_MODES):
                calls, loc, out = run_save_results(off, all_ious, mc, print_ious, target, tmp)
                first = calls[0]
                k = len(first["iou_thrs"])
                arrays["mt_mode_thrs"][m, :k] = first["iou_thrs"]
                noc, std, nof = first["result"]
                arrays["mt_noc"][i, m, :k] = noc
                arrays["mt_noc_std"][i, m, :k] = std
                arrays["mt_nof"][i, m, :k] = nof
                if len(calls) > 1:
                    arrays["mt_extra_thr"][m] = calls[1]["iou_thrs"][0]
                    arrays["mt_extra_noc"][i, m] = calls[1]["result"][0][0]
                    arrays["mt_extra_nof"][i, m] = calls[1]["result"][2][0]
                if print_ious:
                    mean_ious = loc["mean_ious"]
                    assert mean_ious.dtype == np.float32
                    arrays["mt_miou_len"][i] = loc["min_num_clicks"]
                    kk = min(int(loc["min_num_clicks"]), 20)
                    arrays["mt_miou"][i, :kk] = mean_ious[:kk]
                table_rows[i][m] = loc["table_row"]
                ds["results"][mode] = (calls, loc["table_row"], out)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                noc, _, nof = off.utils.compute_noc_metric(all_ious, list(LITERAL_THRS), mc)
            arrays["mt_literal_noc"][i] = noc
            arrays["mt_literal_nof"][i] = nof
    arrays["mt_table_row"] = np.array(table_rows)
    return arrays, datasets


# ------------------------------------------------------------------------------------------------
# (c) IoU cases
# ------------------------------------------------------------------------------------------------
def iou_cases() -> list[tuple[str, str, np.ndarray, np.ndarray]]:
    cases = []
    gt, pred = _blank(10, 12)
    gt[2:8, 2:8] = 1
    pred[3:9, 3:10] = True
    cases.append(("plain_overlap", "no ignore pixels", gt, pred))

    gt2, pred2 = gt.copy(), pred.copy()
    gt2[8:10, :] = -1
    cases.append(("ignore_under_prediction", "FP pixels on ignore rows do not count", gt2, pred2))

    gt3 = gt.copy()
    gt3[2:4, 2:8] = -1
    cases.append(("ignore_inside_object", "ignore pixels inside the object", gt3, pred.copy()))

    gt4, pred4 = _blank(6, 7)
    cases.append(("empty_gt_empty_pred", "union empty: 0 / 0", gt4, pred4))

    gt5, pred5 = _blank(6, 7)
    gt5[:] = -1
    pred5[1:4, 1:4] = True
    cases.append(("all_ignored", "every pixel ignored: 0 / 0", gt5, pred5))

    gt6, pred6 = _blank(6, 7)
    gt6[:, :3] = -1
    pred6[:, :3] = True
    cases.append(("pred_only_on_ignore", "prediction only on ignore pixels, no object", gt6, pred6))

    gt7, pred7 = _blank(6, 7)
    pred7[2:4, 2:4] = True
    cases.append(("empty_gt_some_pred", "no object, some prediction", gt7, pred7))

    gt8, pred8 = _blank(6, 7)
    gt8[1:5, 1:6] = 1
    pred8[:] = gt8 == 1
    cases.append(("perfect", "prediction = object", gt8, pred8))

    gt9, pred9 = _blank(10, 10)
    gt9[:] = 1
    gt9[0, :] = -1
    pred9[1:, :9] = True
    cases.append(("exactly_0_9", "intersection 81 / union 90 = 0.9 exactly", gt9, pred9))
    return cases


def iou_section(off: Official) -> tuple[dict[str, np.ndarray], list]:
    cases = iou_cases()
    n = len(cases)
    arrays = {
        "iou_names": np.array([c[0] for c in cases]),
        "iou_shape": np.array([c[2].shape for c in cases], np.int32),
        "iou_gt": np.zeros((n, MAX_H, MAX_W), np.int8),
        "iou_pred": np.zeros((n, MAX_H, MAX_W), bool),
        "iou_value": np.zeros(n, np.float64),
    }
    results = []
    for i, (_, _, gt, pred) in enumerate(cases):
        h, w = gt.shape
        arrays["iou_gt"][i, :h, :w] = gt
        arrays["iou_pred"][i, :h, :w] = pred
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = off.utils.get_iou(gt, pred)
        arrays["iou_value"][i] = value
        results.append((type(value).__name__, [str(w.message) for w in caught]))
    return arrays, results


# ------------------------------------------------------------------------------------------------
# Documentation
# ------------------------------------------------------------------------------------------------
DOC_HEAD = """\
# Official NoC-protocol fixtures (`protocol.npz`)

Generated by `tools/make_official_protocol_fixtures.py`; do not edit by hand. Regenerate with

```
PYTHONPATH=<dir with cv2> python tools/make_official_protocol_fixtures.py \\
    --official-repo <checkout with the official isegm package and scripts/evaluate_model.py>
```

Every expected value below was returned by the official SimpleClick code (`Clicker`,
`get_iou`, `compute_noc_metric`, `evaluate_sample`, and `save_results` of
`scripts/evaluate_model.py`, whose source is executed unchanged). Inputs and the toy predictor
of the loop section are ours. Load with `np.load(path)` (no pickle needed; string arrays are
fixed-width unicode).
"""

DOC_BEHAVIOUR = """\
## Official behaviour an implementation must match

Next click (`Clicker._get_next_click`, `padding=True`):

1. `gt = gt_mask == 1`, `valid = gt_mask != -1` (any other value, e.g. 0 or 2, is background).
   `fn = gt & ~pred & valid`, `fp = ~gt & pred & valid`. Ignore pixels are neither FN nor FP,
   so they bound the distance transform exactly like correct pixels.
2. Both masks are zero-padded by one pixel on every side before the distance transform and the
   result is cropped back, so the image border acts as background: a pixel in row 0 of an
   object touching the border has distance 1 (see `object_touching_left_border`).
3. `cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 0)`: mask size 0 is
   `DIST_MASK_PRECISE`; the output is float32. OpenCV's own implementation (`trueDistTrans`)
   returns exactly `float32(sqrt(n))` for the exact integer squared Euclidean distance `n` to
   the nearest zero pixel, i.e. the correctly rounded float32 square root (checked here against
   `scipy.ndimage.distance_transform_edt` cast to float32 on random masks up to 4000x4000:
   identical). Reproduce it as `np.sqrt(n.astype(np.float32))` or
   `edt_float64.astype(np.float32)` (equal for all n below 2**23).
4. Both maps are multiplied by `not_clicked_map` (bool; False at every pixel that was ever
   clicked, positive or negative, including clicks on pixels without error), so clicked pixels
   get 0.
5. `is_positive = fn_max > fp_max`, compared in float32 and strict: a tie, including 0 vs 0,
   gives a negative click.
6. The click is the first pixel in row-major order (`np.where(dt == max)[..][0]`) of the chosen
   float32 map. Ties are decided on the float32 values, not on exact distances.
7. No error left (or every error pixel already clicked): `fn_max == fp_max == 0`, so the click
   is **negative at (0, 0)**, whatever `gt`/`pred` are there and even if (0, 0) was already
   clicked (the zero map equals its max 0 everywhere). `make_next_click` still adds it: the
   counts, `not_clicked_map` and the click index advance as usual. Cases `pred_equals_gt`,
   `clicked_only_error_pixel`, `clicked_all_error_pixels`, `clicked_error_at_origin`,
   `ignore_everything`, `image_1x1_correct`; the loop case `corner_object_all_clicks` shows it
   inside `evaluate_sample`.
8. Coordinates are `(row, col)` as numpy integers; `is_positive` is a `numpy.bool_`.
   `add_click` sets `click.indx = click_indx_offset (0) + number of earlier clicks`, so the
   index of the next click equals the number of clicks already made (duplicates included).

float32 vs float64: distinct integers `n < 4197200` (distance below about 2048.7 px) always have
distinct float32 square roots, so for images up to about 4096 px per side a float64 (or integer)
distance transform selects the same click as long as the tie rules above are applied to values
that are equal exactly when the squared distances are equal. Above that, different squared
distances can round to the same float32 value and the official code treats them as a tie. The
two `lg_*` cases are such constructions (4122x4121 and 4121x8242 pixels): the official click is
at the float32 tie, the float64 choice differs. An implementation that uses float64 distances
fails them; one that uses `float32(sqrt(n))` passes.

IPP (machine and process dependent, not reproducible): pip builds of OpenCV send
`distanceTransform(..., DIST_MASK_PRECISE)` to Intel IPP when both sides of the padded mask are
< 4097 and (`cv2.getNumThreads() <= 1` or the padded mask has < 16384 pixels). IPP's result
differs from the exact one by one float32 ulp at some pixels with non-integer distances, and not
consistently: the same input gave different values in different processes
(opencv/opencv#24082; OpenCV 5 rounds values within 2**-11 of an integer, older 4.x builds such as
SimpleClick's 4.5.3 do not). Tied maxima can then be broken differently, so the official click on
small images is not reproducible bit for bit. Example: case `ipp_sensitive_tie` (squared distance
45 at (13, 12) and (15, 25)); in fresh processes with IPP on (OpenCV 5.0.0, IPP AVX2) the
official clicker returned (15, 25, +) because IPP gave 6.7082043 there and 6.708204 at (13, 12);
the exact value is 6.708204 at both, hence the reference (13, 12, +). On 2% of random blob-shaped
masks of 16-120 px the IPP click differed from the exact one. The fixtures are computed with
`cv2.ipp.setUseIPP(False)` (OpenCV's own exact code path, which official evaluations on images of
>= 16384 pixels with multi-threaded OpenCV also take).

Per-instance loop (`evaluate_sample`), see the `lp_*` arrays:

- `pred_mask = np.zeros_like(gt_mask)` before click 1, then `pred_probs > pred_thr` (0.49).
- After each click: `iou = utils.get_iou(gt_mask, pred_mask)` (float64) is appended; the loop
  breaks when `iou >= max_iou_thr and click_indx + 1 >= min_clicks` (float64 comparison).
- The returned curve is `np.array(ious_list, dtype=np.float32)`: **metrics see float32 IoUs**.
- `evaluate_dataset` appends one curve per object (`for object_id in sample.objects_ids`).
  (An older revision of SimpleClick's `evaluation.py` appended after the object loop, i.e. only
  the last object of each sample; the newest stored revision appends inside the loop.)

Metrics (`compute_noc_metric`, `save_results`):

- NoC for one curve and threshold t: `argmax(curve >= t) + 1` if any value is `>= t`, else
  `max_clicks`. NaN never reaches. Curves must be numpy arrays (a Python list raises
  `TypeError` at `list >= float`); `evaluate_sample` returns arrays. The value is not
  clamped: a curve longer than `max_clicks` can give NoC > `max_clicks` (dataset
  `lists_longer_than_max_5`).
- **The comparison is done in float32**: the curve is a float32 array and `t` a Python float
  (`.tolist()`), a "weak" scalar that numpy (NEP 50 in numpy 2; value-based casting in numpy
  1.x) casts to float32. So the rule is `float32(iou) >= float32(t)`. Consequences: an IoU of
  exactly 0.90 reaches 90% (float32(0.9) on both sides), and so does 0.89999999 (it rounds to
  the same float32), while 0.7999999 does not reach 80% (datasets `full_20`, `ragged_20`).
  Comparing float64 IoUs with float64 thresholds gives different answers for such values,
  e.g. 0.9 >= 0.9000000000000001 is False in float64.
- NoC@t = mean over all curves (`np.mean` of an int array, float64); `noc_list_std` is
  `np.std` (population); NoF (`>=N@t`) = `count(NoC == max_clicks)`, so a curve that first
  reaches t exactly at click `max_clicks` is counted as a failure too.
- Thresholds in `save_results`: `np.arange(0.8, min(0.95, target_iou) + 0.001, 0.05).tolist()`
  = `[0.8, 0.8500000000000001, 0.9000000000000001, 0.9500000000000002]` (4 values when
  target >= 0.95, incl. `--print-ious` where target = 1.01; 3 values for the default 0.90).
  In float32 these equal 0.8, 0.85, 0.9, 0.95, so the arange noise has no effect (the
  `mt_literal_*` results with literal thresholds are identical).
- The early stop of `evaluate_sample` compares the float64 IoU with the Python-float target
  (float64), unlike the metric.
- The printed table shows NoC@80/85/90 (`noc_list[0..2]`) and NoF@85/90
  (`over_max_list[1..2]`). When `int(target_iou * 100)` is not 80, 85 or 90 and `--print-ious`
  is off (e.g. CFR's default 0.95), a second `compute_noc_metric` call with the single
  threshold `target_iou` itself (0.95, not 0.9500000000000002) adds `NoC@95.0%` and
  `>=N@95.0%` to the row (`mt_extra_*`).
- mIoU@k (only with `--print-ious`): `min_num_clicks = min(len(x) for x in all_ious)`;
  `mean_ious = np.array([x[:min_num_clicks] for x in all_ious]).mean(axis=0)`: the mean over
  curves of the float32 IoU at click k, all curves truncated to the shortest; printed for
  `k <= min(20, min_num_clicks)` as a percentage with 2 decimals. The mean is accumulated in
  float32 (row by row, then divided by the number of curves); a float64 mean cast to float32
  differs from it by up to 1 ulp (datasets `full_20`, `lists_longer_than_max_5`), so compare
  with a tolerance of ~1e-6 or use the same expression. One NaN curve makes every mIoU NaN.
- `get_iou(gt, pred)`: `|pred & (gt == 1) & (gt != -1)| / |(pred | (gt == 1)) & (gt != -1)|`
  with numpy integer sums, so an empty union gives `nan` (numpy RuntimeWarning "invalid value
  encountered", no exception).
- `get_time_metrics`: SPC = elapsed / total number of clicks over all curves.
"""


def _fmt_click(c) -> str:
    return f"({c[0]}, {c[1]}, {'+' if c[2] else '-'})"


def write_doc(
    path: Path,
    click_arrays,
    cases,
    lg_specs,
    lp_arrays,
    lp_specs,
    mt_arrays,
    datasets,
    iou_arrays,
    iou_info,
    meta,
    source_note="",
) -> None:
    lines = [DOC_HEAD]
    lines.append("- Generation: " + ", ".join(f"{k} {v}" for k, v in meta.items()) + ".")
    if source_note:
        lines.append("- Official code: " + source_note.strip())
    lines.append(
        "- Small arrays are zero-padded to "
        f"{MAX_H}x{MAX_W}; crop `[:h, :w]` with the matching `*_shape` row.\n"
    )
    lines.append(DOC_BEHAVIOUR)

    lines.append("## (a) Next click: `nc_*`\n")
    lines.append(
        "For case i: `gt = nc_gt[i, :h, :w]` (int8 in {1, 0, -1}), `pred = nc_pred[i, :h, :w]` "
        "(bool), `(h, w) = nc_shape[i]`. `clicker = Clicker(gt_mask=gt)`; for each "
        "`(row, col, pos)` in `nc_prev_clicks[i, :nc_n_prev[i]]` "
        "`clicker.add_click(Click(is_positive=bool(pos), coords=(row, col)))`; then "
        "`clicker.make_next_click(pred)`. The new click is `nc_next[i] = (row, col, is_positive)` "
        "with `click.indx == nc_next_indx[i]`. `nc_fn_max` / `nc_fp_max` are the official "
        "float32 `fn_max_dist` / `fp_max_dist` (after the `not_clicked_map` product). Unused "
        "rows of `nc_prev_clicks` are -1. `nc_names` names the cases:\n"
    )
    lines.append(
        "| i | name | description | h x w | earlier clicks | next click | fn_max | fp_max |"
    )
    lines.append("|---|---|---|---|---|---|---|---|")
    for i, case in enumerate(cases):
        h, w = click_arrays["nc_shape"][i]
        prev = " ".join(_fmt_click(c) for c in case.clicks) or "-"
        if len(prev) > 60:
            prev = f"{len(case.clicks)} clicks"
        lines.append(
            f"| {i} | `{case.name}` | {case.description} | {h}x{w} | {prev} | "
            f"{_fmt_click(click_arrays['nc_next'][i])} | {click_arrays['nc_fn_max'][i]:.6g} | "
            f"{click_arrays['nc_fp_max'][i]:.6g} |"
        )
    lines.append("")

    lines.append("## (a') Large float32-tie cases: `lg_*`\n")
    lines.append(
        "Stored as specifications. Case i: `(h, w) = lg_shape[i]`; `gt = zeros((h, w), int8)`, "
        "`pred = zeros((h, w), bool)`; for each row `(r, c, radius_sq, label)` of `lg_disks[i]` "
        "the disk `(y - r)**2 + (x - c)**2 <= radius_sq` is set to `gt = 1` (label 1: missed "
        "object) or `pred = True` (label 2: false positive). No earlier clicks. `lg_next[i]` is "
        "the official click, `lg_fn_max` / `lg_fp_max` the official float32 maxima, "
        "`lg_fn_max_sq` / `lg_fp_max_sq` the exact squared maxima, and `lg_next_float64[i]` the "
        "click the same rules give on exact distances (what an implementation with a float64 "
        "EDT would return; it must not). Both cases are larger than 4096 px per side, so IPP is "
        "never used for them.\n"
    )
    for i, spec in enumerate(lg_specs):
        lines.append(
            f"- `{spec['name']}` ({spec['shape'][0]}x{spec['shape'][1]}): "
            f"{spec['description']}. Official {_fmt_click(spec['official'])} with float32 "
            f"maxima fn {float(click_arrays['lg_fn_max'][i])!r} / fp "
            f"{float(click_arrays['lg_fp_max'][i])!r}; "
            f"exact squared maxima fn {click_arrays['lg_fn_max_sq'][i]} / fp "
            f"{click_arrays['lg_fp_max_sq'][i]}; float64 rules give "
            f"{_fmt_click(spec['float64'])}."
        )
    lines.append("")

    lines.append("## (a'') Per-instance loop: `lp_*`\n")
    lines.append(
        "Official `evaluate_sample(image, gt, predictor, max_iou_thr=lp_max_iou_thr[i], "
        "pred_thr=0.49, min_clicks=lp_min_clicks[i], max_clicks=lp_max_clicks[i])` with "
        "`gt = lp_gt[i, :h, :w]` and our toy predictor: probabilities start at 0; for each "
        "click so far, in order (either sign), pixels with `(y - row)**2 + (x - col)**2 <= "
        "lp_radius[i]**2` are set to `float(gt == 1)`. `lp_n[i]` clicks were made; "
        "`lp_clicks[i, :n]` = (row, col, is_positive) with `indx` 0..n-1; `lp_ious[i, :n]` is the "
        "returned float32 curve, `lp_ious_f64` the float64 `get_iou` values the stop rule saw. "
        "Padding: -1 / NaN.\n"
    )
    for i, spec in enumerate(lp_specs):
        ious = lp_arrays["lp_ious"][i, : spec["n"]]
        lines.append(
            f"- `{spec['name']}`: {spec['description']}; {spec['n']} clicks, last IoU "
            f"{float(ious[-1]):.6g}."
        )
    lines.append("")

    lines.append("## (b) Metrics: `mt_*`\n")
    lines.append(
        "Curves: `mt_curve_f64` (float64 IoUs) / `mt_curve_f32` (the float32 arrays the official "
        "metric code receives, as `evaluate_sample` returns them) are concatenated; curve j has "
        "length `mt_curve_len[j]` and belongs to dataset `mt_curve_dataset[j]` (order kept). "
        "Dataset d has `max_clicks = mt_dataset_max_clicks[d]` (`--n-clicks`). For each mode m "
        "(`mt_mode_names`: `print_ious` = `--print-ious`, target 1.01; `target_0.90` = default; "
        "`target_0.95` = CFR's default) the official `save_results` was run with "
        f"`elapsed_time={ELAPSED_TIME}` and these were recorded: thresholds "
        "`mt_mode_thrs[m, :k]` (NaN padded), `mt_noc[d, m, :k]` (NoC means), `mt_noc_std`, "
        "`mt_nof` (NoF counts, -1 padded); the extra single-threshold call `mt_extra_thr[m]`, "
        "`mt_extra_noc[d, m]`, `mt_extra_nof[d, m]` (NaN / -1 when not made); the printed row "
        "`mt_table_row[d, m]`. mIoU (print_ious mode): `mt_miou[d, :min(20, mt_miou_len[d])]` "
        "(float32; `mt_miou_len` = length of the shortest curve). `mt_literal_noc` / "
        "`mt_literal_nof`: `compute_noc_metric(curves_f32, [0.80, 0.85, 0.90, 0.95], "
        "max_clicks)` with literal Python-float thresholds (same as the arange ones, since "
        "the comparison happens in float32).\n"
    )
    thr_rows = [
        f"- `{m[0]}`: thresholds "
        f"{[float(t) for t in mt_arrays['mt_mode_thrs'][j] if not np.isnan(t)]}"
        + (
            f", extra threshold {float(mt_arrays['mt_extra_thr'][j])!r}"
            if not np.isnan(mt_arrays["mt_extra_thr"][j])
            else ""
        )
        for j, m in enumerate(METRIC_MODES)
    ]
    lines.extend(thr_rows)
    lines.append("")
    for d, ds in enumerate(datasets):
        lines.append(
            f"### `{ds['name']}` (max_clicks {ds['max_clicks']}, {len(ds['curves'])} curves)\n"
        )
        for m, mode in enumerate(METRIC_MODES):
            k = int(np.sum(~np.isnan(mt_arrays["mt_mode_thrs"][m])))
            noc = ", ".join(f"{v:.4f}" for v in mt_arrays["mt_noc"][d, m, :k])
            nof = ", ".join(str(v) for v in mt_arrays["mt_nof"][d, m, :k])
            extra = ""
            if not np.isnan(mt_arrays["mt_extra_thr"][m]):
                extra = (
                    f"; extra NoC@{float(mt_arrays['mt_extra_thr'][m])} = "
                    f"{mt_arrays['mt_extra_noc'][d, m]:.4f}, NoF {mt_arrays['mt_extra_nof'][d, m]}"
                )
            lines.append(f"- {mode[0]}: NoC [{noc}], NoF [{nof}]{extra}")
        lit = ", ".join(f"{v:.4f}" for v in mt_arrays["mt_literal_noc"][d])
        lines.append(
            f"- literal thresholds: NoC [{lit}], NoF {mt_arrays['mt_literal_nof'][d].tolist()}"
        )
        n = min(int(mt_arrays["mt_miou_len"][d]), 20)
        miou = ", ".join(f"{float(v):.6g}" for v in mt_arrays["mt_miou"][d, :n])
        lines.append(f"- mIoU@1..{n}: [{miou}]")
        lines.append(f"- print_ious row: `{mt_arrays['mt_table_row'][d, 0]}`")
        lines.append("")

    lines.append("## (c) IoU: `iou_*`\n")
    lines.append(
        "`iou_value[i] = get_iou(iou_gt[i, :h, :w], iou_pred[i, :h, :w])` (float64, NaN for an "
        "empty union), `(h, w) = iou_shape[i]`.\n"
    )
    for i, (name, description, _, _) in enumerate(iou_cases()):
        kind, warns = iou_info[i]
        note = f" ({kind}; warning: {warns[0]})" if warns else f" ({kind})"
        lines.append(f"- `{name}`: {description}: {float(iou_arrays['iou_value'][i])!r}{note}")
    lines.append("")
    path.write_text("\n".join(lines))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--official-repo", type=Path, required=True, help="checkout holding the isegm package"
    )
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/official"))
    parser.add_argument(
        "--source-note", default="", help="free text for PROTOCOL.md: where the checkout came from"
    )
    args = parser.parse_args(argv)

    off = Official(args.official_repo.resolve())
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(RANDOM_SEED)
    cases = handmade_click_cases() + random_click_cases(off, rng)
    arrays = click_section(off, cases)
    lg_arrays, lg_specs = large_section(off)
    lp_arrays, lp_specs = loop_section(off)
    mt_arrays, datasets = metric_section(off)
    iou_arrays, iou_info = iou_section(off)
    arrays.update(lg_arrays)
    arrays.update(lp_arrays)
    arrays.update(mt_arrays)
    arrays.update(iou_arrays)
    meta = {
        "numpy": np.__version__,
        "opencv": off.cv2.__version__,
        "IPP": off.cv2.ipp.getIppVersion(),
        "python": platform.python_version(),
        "official code": str(off.repo),
    }
    arrays["meta_json"] = np.array(json.dumps(meta))
    out = args.out / "protocol.npz"
    np.savez_compressed(out, **arrays)
    write_doc(
        args.out / "PROTOCOL.md",
        arrays,
        cases,
        lg_specs,
        lp_arrays,
        lp_specs,
        mt_arrays,
        datasets,
        iou_arrays,
        iou_info,
        meta,
        args.source_note,
    )
    print(
        f"wrote {out} ({out.stat().st_size} bytes): {len(cases)} next-click cases, "
        f"{len(lg_specs)} large, {len(lp_specs)} loops, "
        f"{len(datasets)} metric datasets, {len(iou_info)} IoU cases"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
