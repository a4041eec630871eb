"""Bad inputs on the command line: one clear message each (docs/bad_inputs.md, issue 16)."""

import numpy as np
import pytest
import tifffile
from skimage.io import imread

from napari_clickseg.cli import main
from napari_clickseg.cli_common import split_negative_values


def _disc_image(dtype=np.uint8, low=30, high=220, size=96):
    rows, cols = np.ogrid[:size, :size]
    disc = (rows - 48) ** 2 + (cols - 48) ** 2 < 20**2
    return np.where(disc, high, low).astype(dtype)


def _exit_code(arguments):
    """``main``'s return code, or argparse's exit code for a syntax error."""
    try:
        return main(arguments)
    except SystemExit as exit:
        return exit.code


@pytest.fixture
def files(tmp_path):
    paths = {
        "good": tmp_path / "good.tif",
        "corrupt": tmp_path / "corrupt.tif",
        "tiny_float": tmp_path / "tiny_float.tif",
        "nan": tmp_path / "nan.tif",
        "missing": tmp_path / "missing.tif",
    }
    tifffile.imwrite(paths["good"], _disc_image())
    paths["corrupt"].write_bytes(b"II*\x00garbage")
    tifffile.imwrite(paths["tiny_float"], _disc_image(np.float64, 0.0, 0.001))
    with_nan = _disc_image(np.float32, 0.1, 0.9)
    with_nan[:10] = np.nan
    with_nan[-5:, :5] = np.inf
    tifffile.imwrite(paths["nan"], with_nan)
    return paths


@pytest.mark.parametrize(
    ("image", "click", "message"),
    [
        ("corrupt", ["--click", "48,48,+"], "damaged or empty TIFF"),
        ("missing", ["--click", "48,48,+"], "image file not found"),
        ("good", ["--click", "-5,10,+"], "lies outside the image of 96 rows x 96 cols"),
        ("good", ["--click=-5,10,+"], "lies outside the image of 96 rows x 96 cols"),
        ("good", ["--click", "48,500,+"], "lies outside the image of 96 rows x 96 cols"),
        ("good", ["--click", "48;48;+"], "expected 'row,col,+' or 'row,col,-'"),
    ],
)
def test_segment_refuses_bad_input_with_one_clear_message(
    files, tmp_path, capsys, image, click, message
):
    out = tmp_path / "mask.png"
    code = _exit_code(
        ["segment", str(files[image]), *click, "--model", "baseline", "--out", str(out)]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "expected one argument" not in err
    assert not out.exists()


def test_negative_click_values_are_joined_to_their_option():
    assert split_negative_values(["segment", "a.tif", "--click", "-5,10,+", "--out", "m"]) == [
        "segment",
        "a.tif",
        "--click=-5,10,+",
        "--out",
        "m",
    ]
    assert split_negative_values(["--click", "--out"]) == ["--click", "--out"]


def test_a_tiny_float_range_is_windowed_not_segmented_as_black(files, tmp_path, capsys):
    # float64 in [0, 0.001] used to reach the model as an almost black image (an empty mask);
    # now it is windowed like the dock does: the model sees the same as for 0 / 255 uint8.
    tifffile.imwrite(tmp_path / "full.tif", _disc_image(np.uint8, 0, 255))
    masks = []
    for name in (files["tiny_float"], tmp_path / "full.tif"):
        out = tmp_path / f"mask_{len(masks)}.png"
        code = main(["segment", str(name), "--click", "48,48,+", "--out", str(out)])
        assert code == 0, capsys.readouterr().err
        masks.append(imread(out) > 0)
    assert masks[0][48, 48]
    np.testing.assert_array_equal(masks[0], masks[1])


def test_nan_and_inf_are_masked_with_a_warning_in_segment(files, tmp_path, capsys):
    out = tmp_path / "mask.png"
    with pytest.warns(UserWarning, match="NaN or infinite values; they are masked"):
        code = main(
            [
                "segment",
                str(files["nan"]),
                "--click",
                "48,48,+",
                "--model",
                "baseline",
                "--out",
                str(out),
            ]
        )
    assert code == 0, capsys.readouterr().err
    assert (imread(out) > 0)[48, 48]


def test_nan_in_a_propagated_volume_is_masked_with_the_same_warning(tmp_path, capsys):
    rows, cols = np.ogrid[:40, :40]
    disc = (rows - 20) ** 2 + (cols - 20) ** 2 < 10**2
    volume = np.stack([np.where(disc, 0.9, 0.1) for _ in range(6)]).astype(np.float32)
    volume[:, :3] = np.nan
    seed = np.zeros(volume.shape, np.uint8)
    seed[3] = disc
    tifffile.imwrite(tmp_path / "v.tif", volume)
    tifffile.imwrite(tmp_path / "s.tif", seed)
    out = tmp_path / "out.tif"
    arguments = ["propagate", str(tmp_path / "v.tif"), "--model", "baseline"]
    with pytest.warns(UserWarning, match="NaN or infinite values; they are masked"):
        code = main([*arguments, "--seed-mask", str(tmp_path / "s.tif"), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert tifffile.imread(out)[2:5, 20, 20].all()
