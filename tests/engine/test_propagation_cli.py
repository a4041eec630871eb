"""``clickseg propagate`` on tiny files (random-walker baseline, no weights)."""

import nibabel as nib
import numpy as np
import pytest
import tifffile

from napari_clickseg.cli import main

AFFINE = np.array([[-1.0, 0, 0, 0], [0, -1.0, 0, 39.0], [0, 0, 2.0, 0], [0, 0, 0, 1]])


def _ellipsoid(shape, centre, radii):
    grids = np.ogrid[tuple(slice(0, s) for s in shape)]
    return sum(((g - c) / r) ** 2 for g, c, r in zip(grids, centre, radii, strict=True)) < 1


def _noisy(obj, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(np.where(obj, 200, 40) + rng.normal(0, 8, obj.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def tiff_case(tmp_path):
    obj = _ellipsoid((16, 40, 44), (8, 20, 22), (6, 13, 14))
    seed = np.zeros(obj.shape, np.uint8)
    seed[8] = obj[8] * 3  # label 3 on the annotated slice
    paths = {name: tmp_path / f"{name}.tif" for name in ("image", "seed", "gt")}
    tifffile.imwrite(paths["image"], _noisy(obj))
    tifffile.imwrite(paths["seed"], seed)
    tifffile.imwrite(paths["gt"], obj.astype(np.uint8))
    return obj, paths


def test_tiff_stack_with_a_seed_file_writes_the_propagated_mask(tiff_case, tmp_path, capsys):
    obj, paths = tiff_case
    out = tmp_path / "out.tif"
    code = main(
        [
            "propagate",
            "--model",
            "baseline",
            str(paths["image"]),
            "--seed-mask",
            str(paths["seed"]),
            "--seed-label",
            "3",
            "--gt",
            str(paths["gt"]),
            "--mode",
            "mask+points",
            "--out",
            str(out),
            "--out-label",
            "7",
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    result = tifffile.imread(out)
    assert result.shape == obj.shape and set(np.unique(result)) == {0, 7}
    np.testing.assert_array_equal(result[8] == 7, obj[8])  # the seed slice as given
    dice = 2 * ((result == 7) & obj).sum() / ((result == 7).sum() + obj.sum())
    assert dice > 0.85
    assert f"3D Dice vs ground truth: {dice:.4f}" in printed.out
    assert "down from 8" in printed.out and "up from 8" in printed.out
    assert "propagate [" in printed.err  # the progress bar
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.tif")]  # no temp left


def test_existing_output_is_refused_without_overwrite(tiff_case, tmp_path, capsys):
    _, paths = tiff_case
    out = tmp_path / "out.tif"
    out.write_bytes(b"the user's file")
    arguments = ["propagate", str(paths["image"]), "--model", "baseline", "--seed-mask"]
    arguments.append(str(paths["seed"]))
    assert main([*arguments, "--out", str(out)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert out.read_bytes() == b"the user's file"
    assert main([*arguments, "--out", str(out), "--overwrite"]) == 0
    assert tifffile.imread(out).shape == (16, 40, 44)


def test_nifti_along_axis_2_with_a_simulated_seed_keeps_geometry(tmp_path, capsys):
    obj = _ellipsoid((40, 44, 16), (20, 22, 8), (13, 14, 6))  # nibabel order, slices on k
    nib.save(nib.Nifti1Image(_noisy(obj).astype(np.int16), AFFINE), tmp_path / "t2.nii.gz")
    nib.save(nib.Nifti1Image(obj.astype(np.uint8), AFFINE), tmp_path / "gt.nii.gz")
    out = tmp_path / "mask.nii.gz"
    code = main(
        [
            "propagate",
            "--model",
            "baseline",
            str(tmp_path / "t2.nii.gz"),
            "--seed-from-gt",
            "--gt",
            str(tmp_path / "gt.nii.gz"),
            "--mode",
            "points",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    written = nib.load(out)
    np.testing.assert_allclose(written.affine, AFFINE)
    mask = np.asarray(written.dataobj) == 1
    assert mask.shape == obj.shape
    assert "seed: slice 8" in printed.out  # the largest ground-truth slice along axis 2
    assert mask[:, :, 8].any()
    assert 2 * (mask & obj).sum() / (mask.sum() + obj.sum()) > 0.85


def test_brats_case_folder_uses_its_segmentation(tmp_path, capsys):
    seg = np.zeros((40, 44, 16), np.uint8)
    tumour = _ellipsoid(seg.shape, (20, 22, 8), (12, 12, 5))
    seg[tumour] = 2
    case = tmp_path / "Case_1"
    case.mkdir()
    for m in ("t1", "t1ce", "t2", "flair"):
        volume = _noisy(tumour, seed=len(m)).astype(np.int16) + 10
        nib.save(nib.Nifti1Image(volume, AFFINE), case / f"Case_1_{m}.nii.gz")
    nib.save(nib.Nifti1Image(seg, AFFINE), case / "Case_1_seg.nii.gz")
    out = tmp_path / "wt.nii.gz"
    code = main(
        [
            "propagate",
            "--model",
            "baseline",
            str(case),
            "--modality",
            "t1ce,t2,flair",
            "--seed-from-gt",
            "--mode",
            "points",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "BraTS Case_1/whole (t1ce,t2,flair)" in printed.out
    assert "3D Dice vs ground truth" in printed.out
    mask = np.asarray(nib.load(out).dataobj) == 1
    assert mask.shape == seg.shape and 2 * (mask & tumour).sum() / (mask.sum() + tumour.sum()) > 0.8


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "exactly one of --seed-mask FILE or --seed-from-gt"),
        (["--seed-from-gt"], "--seed-from-gt needs a ground truth"),
        (["--seed-mask", "{empty}"], "seed mask is empty"),
        (["--seed-mask", "{small}"], "does not match the volume"),
        (["--seed-mask", "{seed}", "--iou-threshold", "2"], "iou_threshold must lie in"),
        (["--seed-mask", "{seed}", "--seed-slices", "3"], "the mask on slice 3 is empty"),
    ],
)
def test_bad_input_is_a_clear_error(tiff_case, tmp_path, capsys, extra, message):
    _, paths = tiff_case
    tifffile.imwrite(tmp_path / "empty.tif", np.zeros((16, 40, 44), np.uint8))
    tifffile.imwrite(tmp_path / "small.tif", np.ones((16, 40, 40), np.uint8))
    files = {"empty": tmp_path / "empty.tif", "small": tmp_path / "small.tif", **paths}
    extra = [e.format(**files) for e in extra]
    out = tmp_path / "out.tif"
    arguments = ["propagate", str(paths["image"]), "--model", "baseline", *extra]
    assert main([*arguments, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_zarr_volume_is_propagated_lazily_into_a_zarr_store(tiff_case, tmp_path, capsys):
    import zarr

    obj, paths = tiff_case
    image = zarr.create_array(
        store=str(tmp_path / "image.zarr"), shape=obj.shape, chunks=(1, 20, 22), dtype="u1"
    )
    image[:] = tifffile.imread(paths["image"])
    seed = zarr.create_array(store=str(tmp_path / "seed.zarr"), shape=obj.shape, dtype="u1")
    seed[8] = obj[8]
    out = tmp_path / "mask.zarr"
    arguments = ["propagate", str(tmp_path / "image.zarr"), "--model", "baseline"]
    arguments += ["--seed-mask", str(tmp_path / "seed.zarr"), "--mode", "mask+points"]
    assert main([*arguments, "--out", str(out), "--out-label", "5"]) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "read slice by slice" in printed and "(zarr)" in printed
    result = np.asarray(zarr.open_array(str(out), mode="r"))
    assert set(np.unique(result)) == {0, 5}
    np.testing.assert_array_equal(result[8] == 5, obj[8])
    dice = 2 * ((result == 5) & obj).sum() / ((result == 5).sum() + obj.sum())
    assert dice > 0.85
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mask.zarr")]
    # a zarr volume writes a zarr store, and an existing one only with --overwrite
    assert main([*arguments, "--out", str(tmp_path / "mask.tif")]) == 2
    assert "new .zarr store" in capsys.readouterr().err
    assert main([*arguments, "--out", str(out)]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
