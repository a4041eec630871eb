"""napari readers: which paths are claimed, layer types, scale, geometry metadata, errors."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import tifffile
from skimage import io as skio

from napari_clickseg._reader import (
    NIFTI_METADATA_KEY,
    get_reader,
    read_brats_case,
    read_nifti_file,
    read_png_folder,
    read_tiff_file,
)
from napari_clickseg.io import UnreadableFileError, looks_like_labels
from napari_clickseg.io.labels import MAX_UNNAMED_LABELS

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def _oblique_affine(zooms=(0.8, 1.1, 2.5)) -> np.ndarray:
    """A rotated, translated, anisotropic voxel-to-world transform (representable as a qform)."""
    angle = np.deg2rad(12.0)
    rotation = np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    )
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag(zooms)
    affine[:3, 3] = (-90.5, 12.25, 40.0)
    return affine


def _save_nifti(path, data, affine, qform_code=1, sform_code=2):
    image = nib.Nifti1Image(data, affine)
    image.header.set_qform(affine, code=qform_code)
    image.header.set_sform(affine, code=sform_code)
    image.header.set_xyzt_units("mm", "sec")
    nib.save(image, path)
    return image


@pytest.fixture
def mri(tmp_path):
    """A float MRI-like volume (many values) with an oblique geometry, stored (i, j, k)."""
    data = np.random.default_rng(0).normal(100, 20, (7, 6, 5)).astype(np.float32)
    affine = _oblique_affine()
    path = tmp_path / "sub01_t1.nii.gz"
    _save_nifti(path, data, affine)
    return path, data, affine


def test_nifti_image_layer_has_spacing_scale_and_geometry(mri):
    path, data, affine = mri
    assert get_reader(str(path)) is read_nifti_file
    [(layer_data, meta, layer_type)] = get_reader(str(path))(str(path))
    assert layer_type == "image"
    assert meta["name"] == "sub01_t1"
    # napari axes are the file axes reversed: layer[k, j, i] == file[i, j, k]
    assert layer_data.shape == (5, 6, 7)
    np.testing.assert_array_equal(layer_data, data.transpose(2, 1, 0))
    np.testing.assert_allclose(meta["scale"], (2.5, 1.1, 0.8), rtol=1e-6)
    geometry = meta["metadata"][NIFTI_METADATA_KEY]
    np.testing.assert_allclose(geometry["affine"], affine, atol=1e-5)
    assert geometry["shape"] == (7, 6, 5) and geometry["axes"] == "reversed"
    header = nib.Nifti1Header(binaryblock=geometry["header"])
    assert int(header["qform_code"]) == 1 and int(header["sform_code"]) == 2
    assert geometry["source"] == str(path)


def test_4d_nifti_puts_time_first(tmp_path):
    data = np.random.default_rng(1).random((4, 3, 2, 5)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, np.diag([1.5, 2.0, 3.0, 1.0])), tmp_path / "bold.nii")
    [(layer_data, meta, _)] = read_nifti_file(tmp_path / "bold.nii")
    assert layer_data.shape == (5, 2, 3, 4)
    assert meta["scale"] == (1.0, 3.0, 2.0, 1.5)


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("case_seg.nii.gz", np.array([[[0, 1], [2, 4]]], dtype=np.float32), "labels"),
        ("Mask.nii", np.array([[[0.0, 1.0], [1.0, 0.0]]]), "labels"),
        ("aseg.nii.gz", np.array([[[0, 17], [53, 2]]], dtype=np.int16), "labels"),
        ("seg_probability.nii.gz", np.array([[[0.1, 0.9], [0.5, 0.0]]]), "image"),
        ("anatomy.nii.gz", np.array([[[0, 1], [1, 0]]], dtype=np.uint8), "labels"),
        ("anatomy.nii.gz", np.arange(8, dtype=np.float32).reshape(2, 2, 2), "image"),
    ],
)
def test_label_rule_for_nifti(tmp_path, name, data, expected):
    nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / name)
    [(layer_data, _, layer_type)] = read_nifti_file(tmp_path / name)
    assert layer_type == expected
    if expected == "labels":
        assert np.issubdtype(layer_data.dtype, np.integer)
        np.testing.assert_array_equal(layer_data, np.transpose(data))


def test_label_rule_counts_distinct_values_of_unnamed_integer_data():
    few = np.arange(MAX_UNNAMED_LABELS, dtype=np.int16).repeat(3)
    many = np.arange(MAX_UNNAMED_LABELS + 1, dtype=np.int16).repeat(3)
    assert looks_like_labels(few, "volume.nii")
    assert not looks_like_labels(many, "volume.nii")
    # a large image is dismissed from a sample, and a value outside the sample still counts
    big = np.zeros(300_000, np.uint16)
    big[1] = 7
    assert looks_like_labels(big, "x.tif")
    big[::2] = np.arange(150_000)
    assert not looks_like_labels(big, "x.tif")


def _few_level_images(levels=16, shape=(6, 96, 96)):
    """A uint16 EM-like and a uint16 MRI-like volume with ``levels`` grey levels, and a uint16
    label volume with as many values (15 blobs on background)."""
    rng = np.random.default_rng(5)
    z, y, x = np.ogrid[: shape[0], : shape[1], : shape[2]]
    # EM: membranes (dark bands) over mid-grey cytoplasm, heavy noise; levels spread over uint16
    em = 150 - 60 * (np.abs(np.sin(y / 7.0) * np.cos(x / 9.0 + z)) < 0.2) + rng.normal(0, 25, shape)
    em_levels = np.clip(np.rint((em - em.min()) / np.ptp(em) * (levels - 1)), 0, levels - 1)
    em16 = (em_levels * (65535 // (levels - 1))).astype(np.uint16)
    # MRI: a bright ellipse (head) with a smooth gradient, zero outside, levels 0..levels-1
    head = ((y - 48) / 40.0) ** 2 + ((x - 48) / 34.0) ** 2 < 1
    mri = np.where(head, 0.1 + 0.9 * (x - 14) / 68 + rng.normal(0, 0.06, shape), 0.0)
    mri16 = np.clip(np.rint(mri * (levels - 1)), 0, levels - 1).astype(np.uint16)
    labels = np.zeros(shape, np.uint16)
    for value in range(1, levels):
        cy, cx = rng.integers(10, 86, 2)
        labels[(y - cy) ** 2 + (x - cx) ** 2 < 49 + 0 * z] = value
    return {"em": em16, "mri": mri16, "labels": labels}


@pytest.mark.parametrize("kind", ["em", "mri"])
@pytest.mark.parametrize("suffix", [".nii.gz", ".tif"])
def test_uint16_image_with_few_grey_levels_opens_as_image(tmp_path, kind, suffix):
    data = _few_level_images()[kind]
    assert np.unique(data).size == 16
    assert _layer_type_read_back(tmp_path / f"{kind}_scan{suffix}", data) == "image"


@pytest.mark.parametrize("suffix", [".nii.gz", ".tif"])
def test_uint16_label_volume_with_as_many_values_opens_as_labels(tmp_path, suffix):
    data = _few_level_images()["labels"]
    assert np.unique(data).size == 16
    # no label word in the name: the values decide
    assert _layer_type_read_back(tmp_path / f"volume{suffix}", data) == "labels"


def _layer_type_read_back(path, data) -> str:
    """Write ``data`` as TIFF or NIfTI (by the name) and read it with the plugin's reader."""
    if path.suffix == ".tif":
        tifffile.imwrite(path, data)
        [(_, _, layer_type)] = read_tiff_file(path)
    else:
        nib.save(nib.Nifti1Image(data, np.eye(4)), path)
        [(_, _, layer_type)] = read_nifti_file(path)
    return layer_type


def test_few_level_image_named_as_labels_still_opens_as_labels(tmp_path):
    # the name is the user's word: a "mask" file is labels whatever its texture
    data = _few_level_images()["em"]
    tifffile.imwrite(tmp_path / "em_mask.tif", data)
    [(_, _, layer_type)] = read_tiff_file(tmp_path / "em_mask.tif")
    assert layer_type == "labels"


def test_nifti_label_intent_declares_labels(tmp_path):
    data = np.arange(60, dtype=np.int32).reshape(3, 4, 5)  # 60 values, no label name
    image = nib.Nifti1Image(data, np.eye(4))
    image.header.set_intent("label")
    nib.save(image, tmp_path / "parcels.nii.gz")
    [(_, _, layer_type)] = read_nifti_file(tmp_path / "parcels.nii.gz")
    assert layer_type == "labels"


def _fake_brats_case(root, case="Brats_fake_001", kinds=("t1", "t1ce", "t2", "flair", "seg")):
    folder = root / case
    folder.mkdir()
    rng = np.random.default_rng(2)
    affine = np.diag([-1.0, -1.0, 2.0, 1.0])
    seg = np.zeros((6, 5, 4), np.uint8)
    seg[2:4, 1:3, 1:3] = 2
    seg[2, 2, 2] = 4
    for kind in kinds:
        data = seg if kind == "seg" else rng.normal(500, 80, seg.shape).astype(np.int16)
        nib.save(nib.Nifti1Image(data, affine), folder / f"{case}_{kind}.nii.gz")
    return folder, seg


def test_brats_case_folder_gives_four_images_and_labels(tmp_path):
    folder, seg = _fake_brats_case(tmp_path)
    reader = get_reader(str(folder))
    assert reader is read_brats_case
    layers = reader(str(folder))
    names = [meta["name"] for _, meta, _ in layers]
    assert names == [f"Brats_fake_001_{k}" for k in ("t1", "t1ce", "t2", "flair", "seg")]
    assert [t for _, _, t in layers] == ["image"] * 4 + ["labels"]
    assert [meta.get("visible") for _, meta, _ in layers[:4]] == [False, False, False, True]
    for data, meta, _ in layers:
        assert data.shape == (4, 5, 6)
        assert meta["scale"] == (2.0, 1.0, 1.0)
        assert NIFTI_METADATA_KEY in meta["metadata"]
    np.testing.assert_array_equal(layers[-1][0], seg.transpose(2, 1, 0))


def test_brats_case_without_seg_opens_its_modalities(tmp_path):
    folder, _ = _fake_brats_case(tmp_path, kinds=("t1", "flair"))
    layers = get_reader(folder)(folder)
    assert [t for _, _, t in layers] == ["image", "image"]


def test_tiff_stack_opens_as_image_with_gray_colormap(tmp_path):
    stack = np.random.default_rng(3).integers(0, 256, (4, 16, 16), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "sstem.tif", stack, photometric="minisblack")
    reader = get_reader(str(tmp_path / "sstem.tif"))
    assert reader is read_tiff_file
    [(data, meta, layer_type)] = reader(str(tmp_path / "sstem.tif"))
    assert layer_type == "image" and meta["colormap"] == "gray" and "scale" not in meta
    np.testing.assert_array_equal(data, stack)


def test_imagej_stack_takes_its_pixel_size_as_scale(tmp_path):
    stack = np.random.default_rng(5).integers(0, 256, (3, 6, 7), dtype=np.uint8)
    path = tmp_path / "em.tif"
    tifffile.imwrite(
        path,
        stack,
        imagej=True,
        resolution=(1 / 4.0, 1 / 5.0),  # pixels per nm in x, y
        metadata={"spacing": 50.0, "unit": "nm", "axes": "ZYX"},
    )
    [(data, meta, layer_type)] = read_tiff_file(path)
    assert layer_type == "image" and meta["scale"] == (50.0, 5.0, 4.0)
    np.testing.assert_array_equal(data, stack)


def test_png_folder_is_stacked_in_natural_order(tmp_path):
    folder = tmp_path / "slices"
    folder.mkdir()
    rng = np.random.default_rng(4)
    for index in (10, 2, 1, 33):  # plain sorting would give 1, 10, 2, 33
        plane = rng.integers(0, 256, (5, 7), dtype=np.uint8)  # many values: an image
        plane[1, 1] = 7 * index
        skio.imsave(folder / f"sec_{index}.png", plane, check_contrast=False)
    (folder / "notes.txt").write_text("not a slice")
    (folder / ".hidden.png").write_bytes(b"junk")
    reader = get_reader(str(folder))
    assert reader is read_png_folder
    [(stack, meta, layer_type)] = reader(str(folder))
    assert layer_type == "image" and meta["name"] == "slices"
    assert stack.shape == (4, 5, 7)
    np.testing.assert_array_equal(stack[:, 1, 1], [7, 14, 70, 231])


def test_png_folder_with_label_name_opens_as_labels(tmp_path):
    folder = tmp_path / "labels"
    folder.mkdir()
    for index in range(3):
        mask = np.zeros((4, 4), np.uint8)
        mask[index, index] = 255
        skio.imsave(folder / f"{index}.png", mask, check_contrast=False)
    [(stack, _, layer_type)] = read_png_folder(folder)
    assert layer_type == "labels" and stack.dtype == np.uint8
    assert set(np.unique(stack)) == {0, 255}


def test_colour_png_folder_is_an_image_whatever_its_name(tmp_path):
    folder = tmp_path / "masks"
    folder.mkdir()
    for index in range(2):
        skio.imsave(folder / f"{index}.png", np.zeros((4, 4, 3), np.uint8), check_contrast=False)
    [(stack, _, layer_type)] = read_png_folder(folder)
    assert layer_type == "image" and stack.shape == (2, 4, 4, 3)


def test_png_folder_with_mismatched_shapes_names_the_odd_file(tmp_path):
    skio.imsave(tmp_path / "1.png", np.zeros((4, 4), np.uint8), check_contrast=False)
    skio.imsave(tmp_path / "2.png", np.zeros((4, 5), np.uint8), check_contrast=False)
    with pytest.raises(ValueError, match=r"cannot stack 2\.png: shape \(4, 5\).*1\.png"):
        read_png_folder(tmp_path)


def test_unknown_paths_give_none(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "photo.jpg").write_bytes(b"\xff\xd8")
    empty = tmp_path / "empty"
    empty.mkdir()
    jpgs = tmp_path / "jpgs"
    jpgs.mkdir()
    (jpgs / "a.jpg").write_bytes(b"\xff\xd8")
    brats_parent = tmp_path / "cases"
    brats_parent.mkdir()
    _fake_brats_case(brats_parent)
    for path in (
        tmp_path / "missing.nii.gz",
        tmp_path / "missing_folder",
        tmp_path / "notes.txt",
        tmp_path / "photo.jpg",
        empty,
        jpgs,
        brats_parent,  # a folder of cases, not a case
    ):
        assert get_reader(str(path)) is None, path
    assert get_reader([str(tmp_path / "a.nii"), str(tmp_path / "b.nii")]) is None
    assert get_reader(12345) is None  # not a path at all


def test_claimed_but_damaged_files_fail_with_the_file_name(tmp_path):
    bad = tmp_path / "broken.nii.gz"
    bad.write_bytes(b"definitely not gzip")
    reader = get_reader(str(bad))
    assert reader is read_nifti_file  # claimed by name; the damage shows when reading
    with pytest.raises(UnreadableFileError, match=r"broken\.nii\.gz"):
        reader(str(bad))
    bad_tiff = tmp_path / "broken.tif"
    bad_tiff.write_bytes(b"II*\x00garbage")
    with pytest.raises(UnreadableFileError, match=r"broken\.tif"):
        get_reader(str(bad_tiff))(str(bad_tiff))


def test_real_isbi_folders_when_present():
    root = SHARED_DATA / "isbi2012_em"
    if not (root / "image").is_dir() or not (root / "label").is_dir():
        pytest.skip("real ISBI 2012 data not present")
    [(image, _, image_type)] = get_reader(root / "image")(root / "image")
    [(label, _, label_type)] = get_reader(root / "label")(root / "label")
    assert (image_type, label_type) == ("image", "labels")
    assert image.shape == label.shape and image.ndim == 3


def test_real_brats_case_when_present():
    root = SHARED_DATA / "brats2018_brainy"
    cases = sorted(p for p in root.glob("Brats18_*") if p.is_dir()) if root.is_dir() else []
    if not cases:
        pytest.skip("real BraTS data not present")
    layers = get_reader(cases[0])(cases[0])
    assert [t for _, _, t in layers] == ["image"] * 4 + ["labels"]
    assert set(np.unique(layers[-1][0])) <= {0, 1, 2, 4}
    assert layers[0][0].shape == (155, 240, 240)
