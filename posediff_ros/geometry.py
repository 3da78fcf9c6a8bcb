"""Rotations, the network's pose vectors, back-projection and point sampling.

Conventions (docs/conventions.md §3): metres; camera optical frame (x right, y down, z forward);
a pose (R, t) maps object to camera, `X_cam = R @ X_obj + t`. Rotation matrices act on
column vectors, so "the first two columns" of R are the images of the object's x and y
axes. Rotation and pose-vector functions are PyTorch and take arbitrary leading batch dimensions;
image functions are NumPy, since images arrive as NumPy arrays and are cut into small
per-object point sets before anything reaches the network.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

# --------------------------------------------------------------------------- rotations


def rotation_6d_columns_to_matrix(x: torch.Tensor) -> torch.Tensor:
    """Gram-Schmidt map f_GS of the 6D representation (paper supplement eq. 2-3), whose two
    3-vectors are the matrix's first two COLUMNS (docs/conventions.md §3).

    x: (..., 6) = [a1 | a2], two (not necessarily orthonormal) 3-vectors.
    Returns (..., 3, 3) rotation matrices with columns b1 = N(a1),
    b2 = N(a2 - (b1 . a2) b1), b3 = b1 x b2. (pytorch3d's `rotation_6d_to_matrix` makes
    them rows instead: the same numbers give the transposed rotation there.)
    """
    a1, a2 = x[..., :3], x[..., 3:6]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack((b1, b2, b3), dim=-1)


def matrix_to_rotation_6d_columns(R: torch.Tensor) -> torch.Tensor:
    """g_GS (supplement eq. 1): (..., 3, 3) -> (..., 6), the first two columns [r1 | r2]."""
    return torch.cat((R[..., :, 0], R[..., :, 1]), dim=-1)


def geodesic_angle(R1: torch.Tensor, R2: torch.Tensor) -> torch.Tensor:
    """Angle in radians of R1 R2^T (paper eq. 3), (..., 3, 3) x2 -> (...).

    arccos((tr(M) - 1) / 2) for M = R1 R2^T, computed as atan2(|vee(M - M^T)| / 2,
    (tr(M) - 1) / 2): the same angle, accurate near 0 and pi where arccos is not, and
    with a finite gradient at zero error.
    """
    M = R1 @ R2.transpose(-1, -2)
    skew = torch.stack((M[..., 2, 1] - M[..., 1, 2], M[..., 0, 2] - M[..., 2, 0], M[..., 1, 0] - M[..., 0, 1]), -1)
    cos = (M.diagonal(dim1=-2, dim2=-1).sum(-1) - 1.0) / 2.0
    return torch.atan2(skew.norm(dim=-1) / 2.0, cos)


def project_to_so3(M: torch.Tensor) -> torch.Tensor:
    """Nearest rotation (Frobenius norm) to each (..., 3, 3) matrix, via SVD."""
    U, _, Vh = torch.linalg.svd(M)
    det = torch.det(U @ Vh)
    D = torch.diag_embed(torch.stack((torch.ones_like(det), torch.ones_like(det), det), dim=-1))
    return U @ D @ Vh


def mean_rotation(R: torch.Tensor, dim: int = -3) -> torch.Tensor:
    """Chordal L2 mean of rotations along `dim` (the batch dimension of (..., K, 3, 3)).

    Averages the matrices and projects back onto SO(3); equivalent in spirit to GenPose's
    principal eigenvector of sum q q^T, and free of the quaternion sign ambiguity.
    Never average 6D vectors directly: their Gram-Schmidt image is biased.
    """
    return project_to_so3(R.mean(dim=dim))


def quaternion_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """Unit quaternions (..., 4) in (w, x, y, z) order -> rotation matrices (..., 3, 3)."""
    w, x, y, z = q.unbind(-1)
    rows = (
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    )  # fmt: skip
    return torch.stack(rows, dim=-1).reshape(q.shape[:-1] + (3, 3))


def axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """Rotation vectors (..., 3) (axis times angle in radians) -> matrices (..., 3, 3)."""
    angle = axis_angle.norm(dim=-1, keepdim=True)
    half = 0.5 * angle
    # sin(x/2)/x -> 1/2 as x -> 0; written with sinc to stay finite at zero.
    xyz = axis_angle * 0.5 * torch.sinc(half / torch.pi)
    return quaternion_to_matrix(torch.cat((torch.cos(half), xyz), dim=-1))


# --------------------------------------------------------------------------- pose vectors

POSE_DIM = 9
"""Length of the network's pose vectors [r1 | r2 | t - c]: the 6D rotation, then the
translation relative to the centroid c of the observed points (see `centre_points`)."""


def pose_to_vector(R: torch.Tensor, t_rel: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation and (..., 3) translation relative to the centroid -> (..., 9)."""
    return torch.cat((matrix_to_rotation_6d_columns(R), t_rel), dim=-1)


def vector_to_pose(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(..., 9) -> rotation (..., 3, 3) through Gram-Schmidt, translation (..., 3)."""
    return rotation_6d_columns_to_matrix(x[..., :6]), x[..., 6:]


# --------------------------------------------------------------------------- images


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels, and the image size they belong to."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Intrinsics:
        return cls(float(d["fx"]), float(d["fy"]), float(d["cx"]), float(d["cy"]), int(d["width"]), int(d["height"]))


REAL275_INTRINSICS = Intrinsics(591.0125, 590.16775, 322.525, 244.11084, 640, 480)
CAMERA25_INTRINSICS = Intrinsics(577.5, 577.5, 319.5, 239.5, 640, 480)


def depth_mm_to_m(depth_mm: np.ndarray) -> np.ndarray:
    """uint16 millimetres (0 invalid) -> float32 metres (0 stays 0, i.e. invalid)."""
    return depth_mm.astype(np.float32) * np.float32(1e-3)


def valid_depth(depth_m: np.ndarray) -> np.ndarray:
    """Boolean mask of usable depth: finite and > 0 (REP 118)."""
    return np.isfinite(depth_m) & (depth_m > 0)


def backproject(depth_m: np.ndarray, mask: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    """Camera-frame points (N, 3), float32 metres, of the pixels in `mask` with valid depth.

    depth_m: (H, W) metres; mask: (H, W) bool. Pixel (u, v) with depth z maps to
    ((u - cx) z / fx, (v - cy) z / fy, z), u the column and v the row, pixel centres at
    integer coordinates (the ROS/OpenCV convention).
    """
    if depth_m.shape != mask.shape:
        raise ValueError(f"depth {depth_m.shape} and mask {mask.shape} differ in size")
    v, u = np.nonzero(mask & valid_depth(depth_m))
    return _pixels_to_points(depth_m, v, u, intrinsics)


def backproject_labels(depth_m: np.ndarray, labels: np.ndarray, intrinsics: Intrinsics) -> dict[int, np.ndarray]:
    """Camera-frame points (N_l, 3) of every non-zero label l of an (H, W) label image.

    One pass over the image whatever the number of objects (the per-label `backproject`
    would scan it once per object). Labels without a valid depth pixel map to (0, 3).
    """
    if depth_m.shape != labels.shape:
        raise ValueError(f"depth {depth_m.shape} and mask {labels.shape} differ in size")
    v, u = np.nonzero((labels != 0) & valid_depth(depth_m))
    points = _pixels_to_points(depth_m, v, u, intrinsics)
    point_labels = labels[v, u]
    order = np.argsort(point_labels, kind="stable")
    present, starts = np.unique(point_labels[order], return_index=True)
    # np.split of no points still gives one (empty) group, hence not strict
    groups = dict(zip(present.tolist(), np.split(points[order], starts[1:]), strict=False))
    return {int(label): groups.get(int(label), points[:0]) for label in np.unique(labels) if label != 0}


def _pixels_to_points(depth_m: np.ndarray, v: np.ndarray, u: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    z = depth_m[v, u].astype(np.float32)
    x = (u.astype(np.float32) - np.float32(intrinsics.cx)) * z / np.float32(intrinsics.fx)
    y = (v.astype(np.float32) - np.float32(intrinsics.cy)) * z / np.float32(intrinsics.fy)
    return np.stack((x, y, z), axis=-1)


class TooFewPoints(ValueError):
    """An object has fewer valid points than the minimum and is skipped."""


def too_few_points(count: int, min_points: int) -> str:
    """Why an object with `count` valid points is skipped."""
    return f"{count} valid depth points, fewer than the minimum of {min_points}"


NUM_POINTS = 1024
MIN_POINTS = 50


def sample_points(
    points: np.ndarray,
    rng: np.random.Generator,
    num_points: int = NUM_POINTS,
    min_points: int = MIN_POINTS,
) -> np.ndarray:
    """Exactly `num_points` of the (N, 3) `points`.

    Rule: N >= num_points -> a random subset without replacement. min_points <= N <
    num_points -> every point floor(num_points / N) times plus a random subset of the
    remainder without replacement (GenPose's tiling: every observed point is used, none
    is over-weighted by more than one copy). N < min_points -> TooFewPoints.
    """
    n = len(points)
    if n < max(min_points, 1):
        raise TooFewPoints(too_few_points(n, min_points))
    if n >= num_points:
        index = rng.choice(n, num_points, replace=False)
    else:
        index = np.concatenate((np.tile(np.arange(n), num_points // n), rng.choice(n, num_points % n, replace=False)))
    return points[index]


@dataclass
class LabelledPoints:
    """Every labelled object of a frame, back-projected and sampled to a fixed size in one pass."""

    labels: np.ndarray  # (L,) every non-zero label of the mask, ascending
    counts: np.ndarray  # (L,) each label's pixels with valid depth
    sampled: np.ndarray  # (L,) bool: counts >= min_points, so the object has a cloud
    clouds: np.ndarray  # (sampled.sum(), num_points, 3) camera-frame points, float32 metres


def sample_labelled_points(
    depth_m: np.ndarray,
    labels: np.ndarray,
    intrinsics: Intrinsics,
    rng: np.random.Generator,
    num_points: int = NUM_POINTS,
    min_points: int = MIN_POINTS,
) -> LabelledPoints:
    """`sample_points` for every object of an (H, W) label image at once, without a loop per object.

    The valid pixels of all objects are put in one random order and then grouped by label
    (a stable sort keeps each group's order random); object i takes positions
    start_i + (j mod n_i), j < num_points, of its group. That is a random subset without
    replacement when n_i >= num_points and GenPose's tiling otherwise, as in `sample_points`.
    Only the chosen pixels are back-projected.
    """
    if depth_m.shape != labels.shape:
        raise ValueError(f"depth {depth_m.shape} and mask {labels.shape} differ in size")
    flat = labels.ravel()
    pixels = np.flatnonzero(flat)
    present, group = _group_labels(flat[pixels])
    valid = valid_depth(depth_m.ravel()[pixels])
    pixels, group = pixels[valid], group[valid]
    shuffle = rng.permutation(len(pixels))
    # a stable sort of small integers is a radix sort in NumPy: linear in the pixel count
    order = shuffle[np.argsort(group[shuffle].astype(np.uint16 if len(present) < 1 << 16 else np.int64), kind="stable")]
    counts = np.bincount(group, minlength=len(present))
    sampled = counts >= max(min_points, 1)
    starts = (np.cumsum(counts) - counts)[sampled]
    chosen = order[starts[:, None] + np.arange(num_points) % counts[sampled][:, None]]
    v, u = np.divmod(pixels[chosen], labels.shape[1])
    clouds = _pixels_to_points(depth_m, v, u, intrinsics)
    return LabelledPoints(present, counts, sampled, clouds.reshape(len(starts), num_points, 3))


def _group_labels(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values, ascending, and each value's index among them: np.unique with
    return_inverse, by counting instead of sorting when the labels are small non-negative
    integers (panoptic ids are), which is 3-4x faster on a frame's object pixels."""
    if values.size and values.dtype.kind in "iu" and 0 <= values.min() and values.max() < 1 << 20:
        present = np.flatnonzero(np.bincount(values))
        lookup = np.zeros(present[-1] + 1, dtype=np.int64)
        lookup[present] = np.arange(len(present))
        return present.astype(values.dtype), lookup[values]
    present, group = np.unique(values, return_inverse=True)
    return present, group.reshape(-1)


def centre_points(points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Split (..., N, 3) points into (centred points, centroid (..., 3)).

    The network sees centred points and predicts the translation relative to the
    centroid (t - c), so its inputs and outputs do not depend on where the object is.
    """
    centroid = points.mean(dim=-2)
    return points - centroid.unsqueeze(-2), centroid
