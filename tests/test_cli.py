import numpy as np
import pytest
from skimage.io import imread, imsave

from napari_clickseg.cli import main, parse_click
from napari_clickseg.models.checkpoints import save_model


def test_parse_click():
    assert parse_click("12,34.5,+") == (12.0, 34.5, True)
    assert parse_click("1, 2, -") == (1.0, 2.0, False)
    with pytest.raises(Exception, match="row,col"):
        parse_click("1,2")


def test_demo_writes_png_and_reports_iou(tmp_path, capsys):
    out = tmp_path / "demo.png"
    assert main(["demo", "--model", "baseline", "--out", str(out)]) == 0
    picture = imread(out)
    assert picture.shape == (256, 512, 3)
    text = capsys.readouterr().out
    iou = float(text.split("IoU ")[1].split()[0].rstrip(","))
    assert iou > 0.8


def test_segment_with_a_saved_model_writes_a_mask(tmp_path, tiny_model):
    image = (np.random.default_rng(0).random((120, 160)) * 255).astype(np.uint8)
    imsave(tmp_path / "image.png", image, check_contrast=False)
    weights = save_model(tiny_model, tmp_path / "tiny.safetensors")
    out, overlay = tmp_path / "mask.png", tmp_path / "overlay.png"
    args = ["segment", str(tmp_path / "image.png"), "--click", "60,80,+", "--click", "10,10,-"]
    args += ["--model", str(weights), "--out", str(out), "--overlay", str(overlay)]
    args += ["--device", "cpu"]
    assert main(args) == 0
    mask = imread(out)
    assert mask.shape == (120, 160) and set(np.unique(mask)) <= {0, 255}
    assert imread(overlay).shape == (120, 160, 3)


def test_unknown_model_name_is_a_clean_error(tmp_path, capsys):
    code = main(["demo", "--model", "no_such_model", "--out", str(tmp_path / "x.png")])
    assert code == 2
    assert "no_such_model" in capsys.readouterr().err


def test_models_lists_variants_and_weights(capsys):
    assert main(["models"]) == 0
    text = capsys.readouterr().out
    assert "vit_huge" in text and "cocolvis_icl_vit_huge" in text
    assert "  default " in text and "clickseg_default_xtiny224.safetensors" in text


def test_segment_picks_channels_of_a_multichannel_tiff(tmp_path):
    import tifffile

    volume = np.zeros((64, 80, 4), np.uint16)
    volume[16:48, 20:60, 2] = 1000  # the object is visible in channel 2 only
    tifffile.imwrite(tmp_path / "mri.tif", volume)
    out, overlay = tmp_path / "mask.png", tmp_path / "overlay.png"
    args = ["segment", str(tmp_path / "mri.tif"), "--click", "32,40,+", "--channels", "2", "2", "2"]
    assert main([*args, "--out", str(out), "--overlay", str(overlay)]) == 0
    mask = imread(out) > 0
    assert mask[32, 40] and not mask[5, 5]
    assert imread(overlay).shape == (64, 80, 3)


def _rectangles(folder, count=2):
    """An image/mask folder of bright rectangles, one object per image."""
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for index in range(count):
        image = np.full((48, 64), 40, np.uint8)
        mask = np.zeros((48, 64), np.uint8)
        mask[10 + index : 30, 12 : 40 + index] = 255
        image[mask > 0] = 200
        imsave(folder / "images" / f"im{index}.png", image, check_contrast=False)
        imsave(folder / "masks" / f"im{index}.png", mask, check_contrast=False)
    return folder


def test_evaluate_prints_table_and_writes_csv_and_plot(tmp_path, capsys):
    folder = _rectangles(tmp_path / "data")
    out = tmp_path / "out"
    args = ["evaluate", "--data", f"folder:{folder}", "--max-clicks", "3", "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "NoC@85" in text and "mIoU@3" in text and "(2 objects)" in text
    csv_files = list(out.glob("*.csv"))
    assert len(csv_files) == 1 and len(csv_files[0].read_text().splitlines()) == 3
    assert list(out.glob("miou__default.png"))  # the shipped model is the default


def test_evaluate_batched_gives_the_same_curves(tmp_path, capsys):
    import csv

    folder = _rectangles(tmp_path / "data", count=3)
    rows = {}
    for batch in (1, 3):
        out = tmp_path / f"out{batch}"
        args = ["evaluate", "--data", f"folder:{folder}", "--max-clicks", "3", "--out", str(out)]
        assert main([*args, "--batch-size", str(batch), "--device", "cpu"]) == 0
        with next(out.glob("*.csv")).open() as handle:
            table = list(csv.DictReader(handle))
        rows[batch] = [{k: v for k, v in row.items() if k.startswith("iou@")} for row in table]
    assert len(rows[1]) == 3 and rows[1][0]
    for one, together in zip(rows[1], rows[3], strict=True):
        for key, value in one.items():
            assert float(together[key]) == pytest.approx(float(value), abs=1e-3), key
    args = ["evaluate", "--model", "baseline", "--data", f"folder:{folder}", "--batch-size", "2"]
    assert main([*args, "--out", str(tmp_path / "walker")]) == 2
    assert "evaluates one object at a time" in capsys.readouterr().err


def test_evaluate_unknown_layout_is_a_clean_error(tmp_path, capsys):
    (tmp_path / "nothing").mkdir()
    code = main(["evaluate", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "layout" in capsys.readouterr().err


def test_precision_option_reaches_the_predictor(monkeypatch):
    from napari_clickseg import cli
    from napari_clickseg.engine import device as device_module

    parser = cli.build_parser()
    assert (
        parser.parse_args(["evaluate", "--data", "x"]).precision == "float32"
    )  # the papers' protocol
    assert (
        parser.parse_args(["segment", "a.png", "--click", "1,1,+", "--out", "m.png"]).precision
        == "auto"
    )
    monkeypatch.setattr(device_module, "cpu_has_native_bfloat16", lambda: True)
    predictor = cli.make_predictor("default", "cpu", 0, False, True, "auto")
    assert predictor.precision == "bfloat16"
    with pytest.raises(SystemExit):
        parser.parse_args(["evaluate", "--data", "x", "--precision", "half"])


def test_min_crop_option_sets_the_zoom_floor(tmp_path, capsys):
    from napari_clickseg import cli

    assert cli.make_predictor("default", "cpu", 0, False, True).zoom_in.min_crop_size == 100
    official = cli.make_predictor("default", "cpu", 0, False, True, min_crop_size=200)
    assert official.zoom_in.min_crop_size == 200
    folder = _rectangles(tmp_path / "data")
    args = ["evaluate", "--data", f"folder:{folder}", "--out", str(tmp_path / "o")]
    assert main([*args, "--min-crop", "0"]) == 2
    assert "--min-crop must be a positive number of pixels, got 0" in capsys.readouterr().err


def test_first_view_option_caps_the_first_click_view(tmp_path, capsys):
    from napari_clickseg import cli

    assert cli.make_predictor("default", "cpu", 0, False, True).zoom_in.first_view_max_side is None
    capped = cli.make_predictor("default", "cpu", 0, False, True, first_view_max_side=448)
    assert capped.zoom_in.first_view_max_side == 448
    folder = _rectangles(tmp_path / "data")
    args = ["evaluate", "--data", f"folder:{folder}", "--out", str(tmp_path / "o")]
    assert main([*args, "--first-view", "8"]) == 2
    assert "first_view_max_side must be at least 16 pixels" in capsys.readouterr().err
