"""Reference fixtures of the *official* PiClick predictor (flip matching, target reasoning, ZoomIn).

Runs ``cilinyan/PiClick``'s ``BasePredictor`` (``isegm/inference/predictors/base.py``, the
version with ``flipped_mask_match(..., max_score)``), its ``ZoomIn``/``AddHorizontalFlip``
transforms, ``MaskHungarianAssigner.assign_match`` and its costs, and the official clicker on
a tiny model, click after click, in two modes:

- ``maxscore``: target reasoning, ``get_prediction(clicker, max_score=True)``; the loop feeds the
  pick back as the evaluation loop does (``prev_prediction = probs[0]``,
  ``set_prev_for_zoom_in(0)``);
- ``oracle``: the official ``evaluate_sample`` of ``isegm/inference/evaluation.py`` itself
  (the candidate of highest IoU with the ground truth becomes the next prior).

No official code is copied into this project: the script imports ``isegm`` (and the stand-ins
it needs) from the reconstruction given by ``--official-repo`` (see
``tests/fixtures/official/PICLICK.md``). The tiny random model of ``piclick_tiny.pth`` gives
seven near-identical candidates, which would leave the Hungarian matching to float noise, so
its weights are first changed deterministically (:func:`make_candidates_distinct`) and saved
as ``piclick_tiny_distinct.pth`` in the official checkpoint format.

Usage::

    .venv/bin/python tools/make_official_piclick_predictor_fixtures.py \\
        --official-repo /tmp/official_piclick_pred --deps /tmp/offdeps \\
        --out tests/fixtures/official

Writes ``piclick_tiny_distinct.pth`` and ``piclick_tiny_predictor.npz``. Deterministic for a
given torch build (about 30 s a click on two CPU cores: the official click encoding is slow).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

CLICKS = 6  # clicks per mode
PRED_THR = 0.49  # official evaluation threshold
HEIGHT, WIDTH = 300, 400


def make_candidates_distinct(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Deterministic weight changes that give seven clearly different, compact candidates.

    - the neck's 2x2 transposed-conv kernels are averaged over their taps (a piecewise-constant
      upsampling instead of a 2x2-periodic texture);
    - the image patch embedding is scaled x6 and the ViT position embedding zeroed, so that the
      tokens follow the image content; the click/prev-mask embedding is scaled x2;
    - the decoder queries are kept apart: ``query_feat`` x4, attention output projections and
      the second FFN layer x0.3;
    - mask channel 0 becomes a constant (mask_feature weight 0, bias 1) and the mask embedding's
      channel 0 a bias of -5 (a negative logit offset); the rest of the last mask-embedding
      layer is scaled x5 (crisper masks);
    - the last IoU layer is scaled x0.25 (closer IoU scores, so that the plain and flipped passes
      rank some candidates differently and the matching has something to do).
    """
    sd = {k: v.clone() for k, v in state_dict.items()}
    for key in ("neck.down_4.0.weight", "neck.down_4.3.weight", "neck.down_8.0.weight"):
        sd[key] = sd[key].mean(dim=(2, 3), keepdim=True).expand_as(sd[key]).contiguous()
    sd["backbone.patch_embed.proj.weight"] *= 6.0
    sd["backbone.pos_embed"].zero_()
    sd["patch_embed_coords.proj.weight"] *= 2.0
    sd["head.query_feat.weight"] *= 4.0
    for key in sd:
        if key.startswith("head.transformer_decoder.layers.") and (
            ".attn.out_proj." in key or ".ffns.0.layers.1." in key
        ):
            sd[key] *= 0.3
    sd["head.mask_embed.4.weight"] *= 5.0
    sd["head.mask_embed.4.bias"] *= 5.0
    sd["head.pixel_decoder.mask_feature.weight"][0] = 0.0
    sd["head.pixel_decoder.mask_feature.bias"][0] = 1.0
    sd["head.mask_embed.4.weight"][0] = 0.0
    sd["head.mask_embed.4.bias"][0] = -5.0
    sd["head.iou_embed.4.weight"] *= 0.25
    return sd


def make_image() -> tuple[np.ndarray, np.ndarray]:
    """300x400 RGB uint8: a red disk (the object) and a green rectangle on a dark background."""
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    image = np.full((HEIGHT, WIDTH, 3), 40, np.uint8)
    disk = (yy - 150) ** 2 + (xx - 140) ** 2 < 60**2
    rect = (yy > 60) & (yy < 240) & (xx > 240) & (xx < 360)
    image[disk] = (220, 60, 60)
    image[rect] = (60, 200, 90)
    return image, disk.astype(np.int8)


class Recorder:
    """Wraps the official predictor's network call and assigner to record what they returned."""

    def __init__(self, predictor):
        self.instances = None
        self.perm = None
        net_call = predictor._get_prediction
        assign = predictor.assigner.assign_match

        def get_prediction(*args, **kwargs):
            self.instances = net_call(*args, **kwargs)
            return self.instances

        def assign_match(*args, **kwargs):
            self.perm = assign(*args, **kwargs)
            return self.perm

        predictor._get_prediction = get_prediction
        predictor.assigner.assign_match = assign_match

    def step(self, predictor) -> dict:
        """Matching, summed scores and the margins that keep the decisions out of float noise."""
        cls, masks, rank, onehot = self.instances
        perm = self.perm
        # the official max_score branch's sum, over the matched pairs
        score = (6 * rank[0][perm] + onehot[0][perm]) + (6 * rank[1] + onehot[1])
        top2 = torch.topk(score, 2).values
        # smallest gap between the sorted IoU scores of a pass (select_last_layer's order)
        rank_gap = min(float((r[:-1] - r[1:]).min()) for r in rank)
        cost_gap = _assignment_gap(predictor, cls, masks)
        return {
            "perm": perm.numpy().copy(),
            "scores": score.numpy().astype(np.float32),
            "pick": int(torch.argmax(score)),
            "pick_margin": float(top2[0] - top2[1]),
            "rank_gap": rank_gap,
            "cost_gap": cost_gap,
            "roi": tuple(int(v) for v in predictor.zoom_in._object_roi),
        }


def _assignment_gap(predictor, cls, masks) -> float:
    """Cost of the second-best assignment minus the best one (official costs, all 7! orders)."""
    assigner = predictor.assigner
    c = cls.softmax(dim=-1)[..., 0] if cls.dim() == 3 else cls
    unflipped = torch.stack([masks[0], torch.flip(masks[1], dims=[2])])
    binary = (torch.sigmoid(unflipped) > PRED_THR).float()
    cost = (
        assigner.cls_cost(c[0], c[1])
        + assigner.mask_cost(binary[0], binary[1].long())
        + assigner.dice_cost(binary[0], binary[1].long())
    ).numpy()
    k = cost.shape[0]
    totals = sorted(cost[np.arange(k), list(p)].sum() for p in itertools.permutations(range(k)))
    return float(totals[1] - totals[0])


def run_maxscore(predictor, recorder, image, gt, clicker_cls, select_max_iou_mask):
    """Target reasoning: the official evaluation loop with ``get_prediction(max_score=True)``."""
    clicker = clicker_cls(gt_mask=gt)
    pred_mask = np.zeros_like(gt)
    steps, probs = [], []
    with torch.no_grad():
        predictor.set_input_image(image)
        for _ in range(CLICKS):
            clicker.make_next_click(pred_mask)
            pred_probs_all = predictor.get_prediction(clicker, max_score=True)
            _, idx, _, prob = select_max_iou_mask(gt, pred_probs_all, PRED_THR)  # one map: idx 0
            predictor.prev_prediction = torch.tensor(
                prob[None, None], dtype=predictor.prev_prediction.dtype
            )
            predictor.set_prev_for_zoom_in(idx)
            pred_mask = prob > PRED_THR
            steps.append(recorder.step(predictor))
            probs.append(prob)
    return clicker.clicks_list, steps, probs


def run_oracle(predictor, recorder, image, gt, evaluation):
    """The official ``evaluate_sample`` (max-IoU candidate fed back), recorded by its callback."""
    steps, candidates = [], []

    def callback(image, gt_mask, pred_probs_all, sample_id, click_indx, clicks_list):
        step = recorder.step(predictor)
        step["selected"] = evaluation.select_max_iou_mask(gt_mask, pred_probs_all, PRED_THR)[1]
        ious = sorted(evaluation.utils.get_iou(gt_mask, p > PRED_THR) for p in pred_probs_all)
        step["iou_margin"] = float(ious[-1] - ious[-2])
        steps.append(step)
        candidates.append(pred_probs_all.copy())

    clicks, _, _ = evaluation.evaluate_sample(
        image,
        gt,
        predictor,
        max_iou_thr=1.01,
        pred_thr=PRED_THR,
        max_clicks=CLICKS,
        callback=callback,
    )
    return clicks, steps, candidates


def run_matching_cycle(predictor_cls) -> dict[str, np.ndarray]:
    """``flipped_mask_match`` alone on made-up candidates whose flipped pass is a 3-cycle.

    Flipped candidate j is the mirror image of plain candidate ``CYCLE[j]`` (plus noise), so the
    Hungarian assignment is not its own inverse and the official pairing of flipped candidate i
    with plain ``perm[i]`` (not the match of i) shows; the model fixtures only give swaps.
    """
    cycle = [1, 2, 0, 3, 4, 5, 6]
    g = torch.Generator().manual_seed(7)
    k, h, w = 7, 24, 32
    yy, xx = torch.meshgrid(torch.arange(float(h)), torch.arange(float(w)), indexing="ij")
    plain = torch.stack(
        [
            6.0 * (((yy - 3 - 3 * i) ** 2 / 9 + (xx - 3 - 4 * i) ** 2 / 25) < 1).float()
            - 3.0
            + 0.3 * torch.randn(h, w, generator=g)
            for i in range(k)
        ]
    )
    mirrored = torch.stack([torch.flip(plain[j], dims=[1]) for j in cycle])
    logits = torch.stack([plain, mirrored + 0.1 * torch.randn(k, h, w, generator=g)])
    values = {}
    for name in ("class", "rank", "onehot"):
        first = torch.rand(k, generator=g)
        values[name] = torch.stack([first, first[cycle] + 0.01 * torch.rand(k, generator=g)])
    predictor = predictor_cls(None, "cpu", with_flip=True)
    recorder = Recorder(predictor)
    args = (values["class"], logits, values["rank"], values["onehot"])
    _, merged = predictor.flipped_mask_match(*args, max_score=False)
    _, picked = predictor.flipped_mask_match(*args, max_score=True)
    pick = [i for i in range(k) if torch.equal(merged[0, i], picked[0, 0])]
    assert len(pick) == 1
    return {
        "cycle_logits": logits.numpy(),
        "cycle_class": values["class"].numpy(),
        "cycle_rank": values["rank"].numpy(),
        "cycle_onehot": values["onehot"].numpy(),
        "cycle_perm": recorder.perm.numpy().copy(),
        "cycle_merged_logits": merged[0].numpy(),
        "cycle_pick": np.array(pick[0]),
    }


def pack(prefix: str, clicks, steps) -> dict[str, np.ndarray]:
    rows = [(int(c.coords[0]), int(c.coords[1]), int(bool(c.is_positive))) for c in clicks]
    return {
        f"{prefix}_clicks": np.array(rows, dtype=np.int32),
        f"{prefix}_rois": np.array([s["roi"] for s in steps], dtype=np.int32),
        f"{prefix}_perms": np.stack([s["perm"] for s in steps]).astype(np.int64),
        f"{prefix}_scores": np.stack([s["scores"] for s in steps]),
        f"{prefix}_pick_margin": np.array([s["pick_margin"] for s in steps], np.float32),
        f"{prefix}_rank_gap": np.array([s["rank_gap"] for s in steps], np.float32),
        f"{prefix}_cost_gap": np.array([s["cost_gap"] for s in steps], np.float32),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--official-repo", required=True, type=Path)
    ap.add_argument("--deps", type=Path, help="folder with easydict and cv2 (opencv-headless)")
    ap.add_argument("--out", type=Path, default=Path("tests/fixtures/official"))
    args = ap.parse_args()
    out = args.out.resolve()
    sys.path.insert(0, str(args.official_repo))
    if args.deps is not None:
        sys.path.insert(1, str(args.deps))
    from isegm.inference import evaluation, utils
    from isegm.inference.clicker import Clicker
    from isegm.inference.predictors.base import BasePredictor
    from isegm.inference.transforms import ZoomIn
    from isegm.model.modeling.pos_embed import interpolate_pos_embed_inference

    torch.manual_seed(0)
    checkpoint = torch.load(out / "piclick_tiny.pth", map_location="cpu", weights_only=False)
    checkpoint = {
        "state_dict": make_candidates_distinct(checkpoint["state_dict"]),
        "config": checkpoint["config"],
    }
    torch.save(checkpoint, out / "piclick_tiny_distinct.pth")
    model = utils.load_single_is_model(checkpoint, "cpu", False)
    interpolate_pos_embed_inference(model.backbone, (448, 448), "cpu")  # as evaluate_model.py

    image, gt = make_image()
    result = {"image": image, "gt": gt}
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)  # BasePredictor.__init__ creates ./debug/tmpdata/<time>/
        try:
            for mode in ("maxscore", "oracle"):
                # get_predictor's NoBRS branch, with the 'cvpr' zoom-in of evaluate_model.py
                zoom_in = ZoomIn(skip_clicks=-1, target_size=(448, 448))
                predictor = BasePredictor(
                    model,
                    "cpu",
                    zoom_in=zoom_in,
                    with_flip=True,
                    max_iou=False,
                    optimize_after_n_clicks=1,
                )
                recorder = Recorder(predictor)
                if mode == "maxscore":
                    clicks, steps, probs = run_maxscore(
                        predictor, recorder, image, gt, Clicker, evaluation.select_max_iou_mask
                    )
                    result["maxscore_selected"] = np.array([s["pick"] for s in steps])
                    result["maxscore_probs_sub2"] = np.stack(probs)[:, ::2, ::2]
                else:
                    clicks, steps, candidates = run_oracle(
                        predictor, recorder, image, gt, evaluation
                    )
                    selected = [s["selected"] for s in steps]
                    result["oracle_selected"] = np.array(selected)
                    result["oracle_iou_margin"] = np.array([s["iou_margin"] for s in steps])
                    result["oracle_candidates_sub4"] = np.stack(candidates)[:, :, ::4, ::4]
                    result["oracle_probs_sub2"] = np.stack(
                        [c[i] for c, i in zip(candidates, selected, strict=True)]
                    )[:, ::2, ::2]
                result.update(pack(mode, clicks, steps))
                for index, step in enumerate(steps):
                    print(
                        f"{mode} click {index + 1}: roi {step['roi']} perm {step['perm'].tolist()}"
                        f" pick {step['pick']} (margin {step['pick_margin']:.4f}) rank gap"
                        f" {step['rank_gap']:.2e} cost gap {step['cost_gap']:.4f}"
                    )
            result.update(run_matching_cycle(BasePredictor))
            print("cycle perm", result["cycle_perm"].tolist(), "pick", int(result["cycle_pick"]))
        finally:
            os.chdir(cwd)
    result = {k: (v.astype(np.float32) if v.dtype == np.float64 else v) for k, v in result.items()}
    np.savez_compressed(out / "piclick_tiny_predictor.npz", **result)
    for key, value in result.items():
        print(f"{key:28s} {value.shape!s:22s} {value.dtype}")


if __name__ == "__main__":
    main()
