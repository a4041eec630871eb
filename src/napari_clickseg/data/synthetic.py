"""Seeded synthetic volumes that look like the project's target data.

Three generators imitate the three kinds of volume the plugin is built for:

* :func:`make_em_stack`: an ssTEM stack (cells, membranes, mitochondria),
* :func:`make_brain_mri`: a skull-stripped multi-modal brain MRI with a BraTS-style tumour,
* :func:`make_knee_mri`: a sagittal knee MRI with femoral and tibial cartilage,

plus :func:`make_2d_sample`, one EM slice with one target cell for demos. They use numpy, scipy
and scikit-image only, are deterministic for a given seed and take well under a second at their
default sizes.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi
from skimage.measure import regionprops

__all__ = ["make_2d_sample", "make_brain_mri", "make_em_stack", "make_knee_mri"]

# --------------------------------------------------------------------------------------------------
# helpers


def _spline_matrix(n: int, scale: float) -> NDArray[np.float32]:
    """Cubic B-spline weights (n, nodes) from coarse nodes ``scale`` apart to ``n`` pixels."""
    nodes = (np.arange(int(np.ceil(n / scale)) + 4) - 2) * scale
    u = np.abs(np.arange(n)[:, None] - nodes[None, :]) / scale
    near = (2.0 / 3.0 - u**2 + u**3 / 2.0) * (u < 1.0)
    far = (np.clip(2.0 - u, 0.0, None) ** 3 / 6.0) * (u >= 1.0)
    return (near + far).astype(np.float32)


def _smooth_field(rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> NDArray:
    """Smooth random field with unit standard deviation.

    Short scales blur white noise with a Gaussian; longer ones are cubic B-splines through white
    noise on a coarse grid, evaluated axis by axis with matrix products (fast at any scale).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    shape : tuple of int
        Output shape.
    scale : float
        Correlation length in pixels (the field varies over about this distance).

    Returns
    -------
    numpy.ndarray
        float32 array of ``shape``, zero mean, unit standard deviation.
    """
    if scale < 2.0:
        field = ndi.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), scale / 2.0)
    else:
        mats = [_spline_matrix(n, scale) for n in shape]
        field = rng.standard_normal(tuple(m.shape[1] for m in mats), dtype=np.float32)
        for axis, mat in enumerate(mats):
            field = np.moveaxis(np.tensordot(field, mat, axes=([axis], [1])), -1, axis)
    field = field - field.mean()
    return (field / (field.std() + 1e-8)).astype(np.float32)


def _magnitude_noise(rng: np.random.Generator, image: NDArray, sigma: float) -> NDArray:
    """Magnitude image with noise of level ``sigma`` (a cheap stand-in for Rician noise)."""
    noisy = image + sigma * rng.standard_normal(image.shape, dtype=np.float32)
    return np.abs(noisy, out=noisy).astype(np.float32, copy=False)


def _to_uint8(image: NDArray) -> NDArray[np.uint8]:
    """Round and clip to uint8."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------------
# ssTEM


def _em_cells(
    rng: np.random.Generator, n_slices: int, shape: tuple[int, int]
) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """Voronoi-like cells drifting through the stack.

    Returns the cell labels (0 on membranes) and each pixel's distance to the nearest membrane.
    """
    h, w = shape
    mean_area = 42.0**2
    margin = 24.0
    n_cells = max(4, round((h + 2 * margin) * (w + 2 * margin) / mean_area))
    start = np.stack(
        [rng.uniform(-margin, h + margin, n_cells), rng.uniform(-margin, w + margin, n_cells)], 1
    )
    weights = rng.gamma(2.0, 90.0, n_cells)  # power-diagram weights: varied cell sizes
    flow = rng.normal(0.0, 0.7, 2)  # common drift of the tissue
    velocity = flow + rng.normal(0.0, 0.5, (n_cells, 2))
    wobble_amp = rng.uniform(0.0, 3.0, (n_cells, 2))
    wobble_phase = rng.uniform(0.0, 2 * np.pi, (n_cells, 2))
    warp_y = 4.0 * _smooth_field(rng, (n_slices, h, w), 14.0)  # wavy membranes
    warp_x = 4.0 * _smooth_field(rng, (n_slices, h, w), 14.0)
    thickness = 1.6 + 0.5 * _smooth_field(rng, (n_slices, h, w), 16.0)

    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cells = np.zeros((n_slices, h, w), np.int32)
    dist = np.zeros((n_slices, h, w), np.float32)
    for z in range(n_slices):
        seeds = start + velocity * z + wobble_amp * np.sin(0.35 * z + wobble_phase)
        py = yy + warp_y[z]
        px = xx + warp_x[z]
        best = np.full((h, w), np.inf, np.float32)
        lab = np.zeros((h, w), np.int32)
        for i, (sy, sx) in enumerate(seeds):
            d2 = (py - sy) ** 2 + (px - sx) ** 2 - weights[i]
            closer = d2 < best
            best[closer] = d2[closer]
            lab[closer] = i + 1
        edge = np.zeros((h, w), bool)
        edge[1:, :] |= lab[1:, :] != lab[:-1, :]
        edge[:, 1:] |= lab[:, 1:] != lab[:, :-1]
        dist[z] = ndi.distance_transform_edt(~edge)
        lab[dist[z] < thickness[z]] = 0
        cells[z] = _largest_piece_per_label(lab)
    return cells, dist


def _largest_piece_per_label(lab: NDArray[np.int32]) -> NDArray[np.int32]:
    """Keep only the largest 4-connected piece of each label (the warp leaves crumbs)."""
    pieces, n = ndi.label(lab > 0)  # pieces never straddle two labels: membranes separate them
    if n == 0:
        return lab
    sizes = np.bincount(pieces.ravel(), minlength=n + 1)
    owner = np.zeros(n + 1, lab.dtype)
    owner[pieces] = lab
    order = np.argsort(sizes[1:], kind="stable") + 1  # small to large: the largest writes last
    largest = np.zeros(int(lab.max()) + 1, np.int64)
    for piece in order:
        largest[owner[piece]] = piece
    return np.where(largest[owner[pieces]] == pieces, lab, 0).astype(lab.dtype)


def _em_mitochondria(
    rng: np.random.Generator, cells: NDArray[np.int32], dist: NDArray[np.float32]
) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """Elongated mitochondria that follow their cell through the stack.

    Returns the mitochondria labels and a cristae texture (in [-1, 1], zero outside them).
    """
    n_slices, h, w = cells.shape
    ids = np.unique(cells)
    ids = ids[ids > 0]
    centroids = np.full((n_slices, int(ids.max(initial=0)) + 1, 2), np.nan)
    for z in range(n_slices):
        present = np.unique(cells[z])
        present = present[present > 0]
        if present.size:
            centroids[z, present] = ndi.center_of_mass(np.ones((h, w)), cells[z], present)
    mito = np.zeros(cells.shape, np.int32)
    cristae = np.zeros(cells.shape, np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    chosen = rng.permutation(ids)[: max(1, int(0.45 * ids.size))]
    next_id = 1
    for cell_id in chosen:
        zc = rng.uniform(0, n_slices - 1)
        hz = rng.uniform(2.5, 7.0)
        length = rng.uniform(9.0, 18.0)
        width = rng.uniform(4.0, 6.5)
        angle0 = rng.uniform(0, np.pi)
        offset = rng.normal(0.0, 4.0, 2)
        placed = False
        for z in range(max(0, int(np.ceil(zc - hz))), min(n_slices, int(zc + hz) + 1)):
            centre = centroids[z, cell_id]
            if np.isnan(centre).any():
                continue
            shrink = np.sqrt(max(0.0, 1.0 - ((z - zc) / hz) ** 2))
            if shrink < 0.3:
                continue
            angle = angle0 + 0.05 * (z - zc)
            dy, dx = yy - (centre[0] + offset[0]), xx - (centre[1] + offset[1])
            u = dx * np.cos(angle) + dy * np.sin(angle)
            v = -dx * np.sin(angle) + dy * np.cos(angle)
            inside = (u / (length * shrink)) ** 2 + (v / (width * shrink)) ** 2 <= 1.0
            inside &= (cells[z] == cell_id) & (dist[z] > 3.5)
            if inside.sum() < 12:
                continue
            mito[z][inside] = next_id
            cristae[z][inside] = np.sin(2 * np.pi * u[inside] / 4.5)
            placed = True
        next_id += int(placed)
    return mito, cristae


def make_em_stack(
    n_slices: int = 16, shape: tuple[int, int] = (256, 256), seed: int = 0
) -> tuple[NDArray[np.uint8], NDArray[np.int32], NDArray[np.int32]]:
    """Synthetic serial-section TEM stack.

    Irregular, Voronoi-like cells separated by dark membranes, with textured cytoplasm and small
    vesicles; dark elongated mitochondria with cristae sit inside some cells. Cells and
    mitochondria drift smoothly from slice to slice, so slice-to-slice propagation is meaningful.

    Parameters
    ----------
    n_slices : int, optional
        Number of sections (Z).
    shape : tuple of int, optional
        Section size (Y, X) in pixels.
    seed : int, optional
        Random seed; equal seeds give equal stacks.

    Returns
    -------
    image : numpy.ndarray
        uint8 array (Z, Y, X).
    cells : numpy.ndarray
        int32 cell labels (Z, Y, X); a cell keeps its label through the stack; 0 is membrane.
    mitochondria : numpy.ndarray
        int32 mitochondrion labels (Z, Y, X), each one inside a single cell; 0 elsewhere.
    """
    rng = np.random.default_rng(seed)
    h, w = shape
    cells, dist = _em_cells(rng, n_slices, (h, w))
    mito, cristae = _em_mitochondria(rng, cells, dist)

    tone = rng.uniform(150.0, 195.0, int(cells.max()) + 1).astype(np.float32)
    tone[0] = 60.0
    image = tone[cells]
    image += 9.0 * _smooth_field(rng, cells.shape, 2.0)  # cytoplasm grain
    image += 10.0 * _smooth_field(rng, cells.shape, 30.0)  # uneven staining
    # membranes: dark, darkest in the middle, fading out over a few pixels
    image -= 70.0 * np.exp(-0.5 * (dist / 1.6) ** 2) * (cells > 0)
    # vesicles: small dark rings in the cytoplasm, different in each section
    spots = (rng.random(cells.shape) < 6e-3) & (dist > 4.0) & (mito == 0)
    ring = ndi.gaussian_filter(spots.astype(np.float32), (0, 1.6, 1.6))
    core = ndi.gaussian_filter(spots.astype(np.float32), (0, 0.7, 0.7))
    image -= 1600.0 * np.clip(ring - 0.35 * core, 0.0, None)
    # mitochondria: dark matrix with striped cristae and a darker outline
    in_mito = mito > 0
    image[in_mito] = 95.0 + 18.0 * cristae[in_mito] + 6.0 * rng.standard_normal(in_mito.sum())
    outline = in_mito & ~ndi.binary_erosion(in_mito, np.ones((1, 3, 3), bool))
    image[outline] -= 30.0
    image = ndi.gaussian_filter(image, (0, 0.9, 0.9))
    image += 9.0 * rng.standard_normal(image.shape, dtype=np.float32)
    return _to_uint8(image), cells, mito


def make_2d_sample(
    seed: int = 0,
) -> tuple[NDArray[np.uint8], NDArray[np.bool_], tuple[int, int]]:
    """One EM section as an RGB image, with one cell as the object to segment.

    Parameters
    ----------
    seed : int, optional
        Random seed passed to :func:`make_em_stack`.

    Returns
    -------
    image : numpy.ndarray
        uint8 RGB image (H, W, 3).
    mask : numpy.ndarray
        bool mask (H, W) of the target cell: a mid-sized cell away from the border, near the
        centre of the image.
    positive_click : tuple of int
        (row, col) of a cytoplasm pixel deep inside the target, where a person would click
        first.
    """
    stack, cells, mito = make_em_stack(seed=seed)
    z = stack.shape[0] // 2
    image, labels = stack[z], cells[z]
    h, w = labels.shape
    centre = np.array([h / 2, w / 2])
    best_id, best_score = 0, np.inf
    for region in regionprops(labels):
        r0, c0, r1, c1 = region.bbox
        on_border = r0 == 0 or c0 == 0 or r1 == h or c1 == w
        score = float(np.linalg.norm(np.asarray(region.centroid) - centre))
        if on_border or not 900 <= region.area <= 6000:
            score += 1e6 + abs(region.area - 2000)
        if score < best_score:
            best_id, best_score = region.label, score
    mask = labels == best_id
    depth = ndi.distance_transform_edt(mask & (mito[z] == 0))  # click cytoplasm, not organelles
    row, col = np.unravel_index(int(np.argmax(depth)), mask.shape)
    rgb = np.repeat(image[..., None], 3, axis=-1)
    return rgb, mask, (int(row), int(col))


# --------------------------------------------------------------------------------------------------
# brain MRI

#: Relative signal of each tissue in (T1, T1ce, T2, FLAIR).
_BRAIN_CONTRAST = {
    "background": (0.0, 0.0, 0.0, 0.0),
    "csf": (0.22, 0.25, 1.0, 0.12),
    "grey": (0.55, 0.55, 0.62, 0.58),
    "white": (0.80, 0.76, 0.40, 0.45),
    "oedema": (0.50, 0.50, 0.86, 0.95),
    "enhancing": (0.55, 1.05, 0.70, 0.78),
    "necrosis": (0.28, 0.30, 0.95, 0.55),
}


def _brain_tissues(rng: np.random.Generator, shape: tuple[int, int, int]) -> NDArray[np.uint8]:
    """Tissue index map: 0 background, 1 CSF, 2 grey matter, 3 white matter."""
    zn, yn, xn = np.meshgrid(
        *[np.linspace(-1.0, 1.0, s, dtype=np.float32) for s in shape], indexing="ij", sparse=True
    )
    radii = np.array([0.80, 0.86, 0.72]) * rng.uniform(0.95, 1.05, 3)
    shift = rng.normal(0.0, 0.02, 3)
    r = np.sqrt(
        ((zn - shift[0]) / radii[0]) ** 2
        + ((yn - shift[1]) / radii[1]) ** 2
        + ((xn - shift[2]) / radii[2]) ** 2
    )
    scale = min(shape) / 10.0
    r = r * (1.0 + 0.03 * _smooth_field(rng, shape, 2.0 * scale))
    folds = _smooth_field(rng, shape, max(2.0, scale / 2.5))
    tissue = np.zeros(shape, np.uint8)
    tissue[r < 1.0] = 1  # CSF in the sulci and around the brain
    tissue[r < 0.96 - 0.02 * folds] = 2  # cortex
    tissue[r < 0.80 + 0.09 * folds] = 3  # white matter, with gyral fingers
    tissue[(r < 1.0) & (np.abs(xn - shift[2]) < 0.025) & (zn > -0.3)] = 1  # midline fissure
    for side in (-1.0, 1.0):  # lateral ventricles
        v = ((zn - 0.05) / 0.22) ** 2 + ((yn + 0.05) / 0.35) ** 2 + ((xn - side * 0.13) / 0.08) ** 2
        tissue[v < 1.0] = 1
    deep = (np.abs(xn) < 0.05) & (np.abs(yn) < 0.6) & (np.abs(zn + 0.1) < 0.3)
    tissue[deep & (tissue == 3)] = 2  # deep grey matter
    return tissue


def _brain_tumour(
    rng: np.random.Generator, shape: tuple[int, int, int], brain: NDArray[np.bool_]
) -> NDArray[np.uint8]:
    """BraTS-style tumour labels: 2 oedema around 4 enhancing rim around 1 necrotic core."""
    size = min(shape)
    side = rng.choice([-1.0, 1.0])
    centre = np.array(shape) / 2.0 + np.array(shape) * np.array(
        [rng.uniform(0.0, 0.15), rng.uniform(-0.15, 0.15), side * rng.uniform(0.18, 0.24)]
    )
    zz, yy, xx = np.meshgrid(
        *[np.arange(s, dtype=np.float32) for s in shape], indexing="ij", sparse=True
    )
    stretch = rng.uniform(0.85, 1.2, 3)
    r = np.sqrt(
        ((zz - centre[0]) / stretch[0]) ** 2
        + ((yy - centre[1]) / stretch[1]) ** 2
        + ((xx - centre[2]) / stretch[2]) ** 2
    )
    r_solid = r * (1.0 + 0.15 * _smooth_field(rng, shape, size / 8.0))
    r_oedema = r * (1.0 + 0.25 * _smooth_field(rng, shape, size / 6.0))
    r_core = size * rng.uniform(0.07, 0.09)
    r_enh = r_core + size * rng.uniform(0.035, 0.05)
    r_oed = r_enh + size * rng.uniform(0.10, 0.14)
    seg = np.zeros(shape, np.uint8)
    seg[(r_oedema < r_oed) | (r_solid < r_enh + 2.0)] = 2
    seg[r_solid < r_enh] = 4
    seg[r_solid < r_core] = 1
    seg[~brain] = 0
    parts, _ = ndi.label(seg > 0)
    seg[~np.isin(parts, np.unique(parts[seg == 4]))] = 0  # drop oedema islands
    return seg


def make_brain_mri(
    shape: tuple[int, int, int] = (64, 128, 128), seed: int = 0
) -> tuple[NDArray[np.float32], NDArray[np.uint8]]:
    """Synthetic multi-modal brain MRI with a glioma, labelled like BraTS.

    A skull-stripped, brain-shaped ellipsoid (as in BraTS) with folded cortex, white matter,
    ventricles and a tumour in one hemisphere: a necrotic core inside an enhancing rim inside
    peritumoural oedema. Each modality has its own tissue contrast (CSF bright on T2 and dark on
    FLAIR, the rim bright on T1ce, oedema bright on FLAIR), a smooth bias field and noise.

    Parameters
    ----------
    shape : tuple of int, optional
        Volume size (Z, Y, X) with axial slices along Z.
    seed : int, optional
        Random seed; equal seeds give equal volumes.

    Returns
    -------
    image : numpy.ndarray
        float32 array (4, Z, Y, X): channels T1, T1ce, T2, FLAIR, intensities about 0..1.
    seg : numpy.ndarray
        uint8 labels (Z, Y, X): 0 background / healthy, 1 necrotic core, 2 oedema, 4 enhancing.
    """
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in shape)
    tissue = _brain_tissues(rng, shape)
    seg = _brain_tumour(rng, shape, tissue > 0)
    classes = np.where(seg == 1, 6, np.where(seg == 4, 5, np.where(seg == 2, 4, tissue)))
    table = np.array(list(_BRAIN_CONTRAST.values()), np.float32)  # (7 classes, 4 modalities)
    head = ndi.binary_dilation(tissue > 0, iterations=1)
    texture = 1.0 + 0.04 * _smooth_field(rng, shape, 1.5)
    bias = 1.0 + 0.08 * _smooth_field(rng, shape, min(shape) / 2.0)  # receive coil
    image = np.empty((4, *shape), np.float32)
    for m in range(4):
        vol = ndi.gaussian_filter(table[classes, m] * texture, 0.7) * bias
        vol = _magnitude_noise(rng, vol, 0.025)
        vol[~head] *= 0.4  # the scanner's background after skull stripping: faint noise only
        image[m] = vol
    return image, seg


# --------------------------------------------------------------------------------------------------
# knee MRI


def _knee_bones(
    rng: np.random.Generator, shape: tuple[int, int, int]
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.float32], dict[str, float]]:
    """Femur and tibia masks, the tibial plateau height map, and the geometry used."""
    nz, ny, nx = shape
    zz, yy, xx = np.meshgrid(
        *[np.arange(s, dtype=np.float32) for s in shape], indexing="ij", sparse=True
    )
    g = {
        "cz": nz / 2.0 + rng.uniform(-1.0, 1.0),
        "cx": nx / 2.0 + rng.uniform(-4.0, 4.0),
        "cy": ny * rng.uniform(0.36, 0.40),  # centre of the femoral condyles
        "ry": ny * rng.uniform(0.13, 0.15),
        "rx": nx * rng.uniform(0.19, 0.21),
        "rz": nz * rng.uniform(0.34, 0.38),
        "gap": 8.0,  # bone-to-bone distance at the centre of the joint
    }
    zr = (zz - g["cz"]) / g["rz"]
    # femur: rounded condyles on a shaft that rises to the top of the image
    condyle = ((yy - g["cy"]) / g["ry"]) ** 2 + ((xx - g["cx"]) / g["rx"]) ** 2 + zr**2 <= 1.0
    flare = np.exp(-np.clip(g["cy"] - yy, 0.0, None) / (0.1 * ny))
    shaft = ((xx - g["cx"]) / (g["rx"] * (0.6 + 0.35 * flare))) ** 2 + (
        zr / (0.65 + 0.3 * flare)
    ) ** 2 <= 1.0
    shaft &= yy <= g["cy"]
    femur = condyle | shaft
    # tibia: a broad, gently curved plateau below the joint, narrowing into the shaft
    top = g["cy"] + g["ry"] + g["gap"] + 0.5 * g["ry"] * ((xx - g["cx"]) / (1.6 * g["rx"])) ** 2
    top = np.broadcast_to(top + 0.0 * zz, shape).astype(np.float32)
    depth = np.clip(yy - top, 0.0, None)
    taper = np.exp(-depth / (0.12 * ny))
    half_x = g["rx"] * (0.6 + 0.55 * taper)
    half_z = g["rz"] * (0.7 + 0.35 * taper)
    tibia = (yy >= top) & (((xx - g["cx"]) / half_x) ** 2 + ((zz - g["cz"]) / half_z) ** 2 <= 1.0)
    return femur, tibia, top, g


def make_knee_mri(
    shape: tuple[int, int, int] = (48, 160, 160), seed: int = 0
) -> tuple[NDArray[np.float32], NDArray[np.uint8]]:
    """Synthetic sagittal knee MRI (DESS-like contrast) with cartilage labels as in OAI-ZIB.

    Sagittal slices along Z (medial to lateral); in each slice the femur comes down from the top
    and ends in a rounded condyle, the tibial plateau lies below it, and thin bright cartilage
    bands cover both joint surfaces with a film of fluid between them. Bone marrow is textured,
    surrounded by muscle and a subcutaneous fat layer. The bones, and so the cartilage, occupy
    only the central slices.

    Parameters
    ----------
    shape : tuple of int, optional
        Volume size (Z, Y, X): sagittal slices, superior-inferior rows, anterior-posterior columns.
    seed : int, optional
        Random seed; equal seeds give equal volumes.

    Returns
    -------
    image : numpy.ndarray
        float32 array (Z, Y, X), intensities about 0..1.
    labels : numpy.ndarray
        uint8 labels (Z, Y, X): 1 femoral cartilage, 2 tibial cartilage, 0 elsewhere.
    """
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in shape)
    nz, ny, nx = shape
    femur, tibia, top, g = _knee_bones(rng, shape)
    sampling = (3.0, 1.0, 1.0)  # sagittal slices are thicker than the in-plane pixels
    d_fem = ndi.distance_transform_edt(~femur, sampling=sampling)
    d_tib = ndi.distance_transform_edt(~tibia, sampling=sampling)
    thick = 2.6 + 0.5 * _smooth_field(rng, shape, 12.0)
    yy = np.arange(ny, dtype=np.float32)[None, :, None]
    xx = np.arange(nx, dtype=np.float32)[None, None, :]
    articular = (yy > g["cy"] - 0.1 * g["ry"]) & (np.abs(xx - g["cx"]) < 0.95 * g["rx"])
    fem_cart = (d_fem > 0) & (d_fem <= thick) & articular
    tib_cart = (d_tib > 0) & (d_tib <= thick) & (yy < top) & ~fem_cart & ~femur
    labels = np.zeros(shape, np.uint8)
    labels[fem_cart] = 1
    labels[tib_cart] = 2

    zz = np.arange(nz, dtype=np.float32)[:, None, None]
    leg_r = np.sqrt(((xx - g["cx"]) / (0.44 * nx)) ** 2 + ((zz - g["cz"]) / (0.48 * nz)) ** 2)
    leg_r = leg_r * (1.0 + 0.02 * _smooth_field(rng, shape, 20.0))
    image = np.full(shape, 0.02, np.float32)
    image[leg_r < 1.0] = 0.55  # subcutaneous fat
    image[leg_r < 0.88] = 0.28  # muscle and tendons
    gap = (d_fem <= g["gap"] + 3.0) & (d_tib <= g["gap"] + 3.0) & (leg_r < 0.88)
    image[gap] = 0.9  # synovial fluid in the joint space
    bone = femur | tibia
    marrow = 0.42 + 0.06 * _smooth_field(rng, shape, 2.0)
    image[bone] = marrow[bone]
    cortex = bone & ~ndi.binary_erosion(bone, np.ones((1, 3, 3), bool), iterations=2)
    image[cortex] = 0.06
    cart = labels > 0
    image[cart] = 0.72 + 0.05 * _smooth_field(rng, shape, 4.0)[cart]
    image = ndi.gaussian_filter(image, (0.4, 0.7, 0.7))
    image *= 1.0 + 0.1 * _smooth_field(rng, shape, min(ny, nx) / 2.0)  # coil sensitivity
    return _magnitude_noise(rng, image, 0.03), labels
