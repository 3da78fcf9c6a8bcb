"""Rotations, rotation errors under symmetry, the network's pose vectors, back-projection and point sampling.

Conventions (docs/conventions.md §3): metres; camera optical frame (x right, y down, z forward);
a pose (R, t) maps object to camera, `X_cam = R @ X_obj + t`. Rotation matrices act on
column vectors, so "the first two columns" of R are the images of the object's x and y
axes. Rotation and pose-vector functions are PyTorch and take arbitrary leading batch dimensions;
image functions are NumPy, since images arrive as NumPy arrays and are cut into small
per-object point sets before anything reaches the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

from .categories import ANY, CategoryTable, Symmetry

# --------------------------------------------------------------------------- rotations


def rotation_6d_to_matrix(x: torch.Tensor) -> torch.Tensor:
    """Gram-Schmidt map f_GS of the 6D representation (paper supplement eq. 2-3).

    x: (..., 6) = [a1 | a2], two (not necessarily orthonormal) 3-vectors.
    Returns (..., 3, 3) rotation matrices with columns b1 = N(a1),
    b2 = N(a2 - (b1 . a2) b1), b3 = b1 x b2.
    """
    a1, a2 = x[..., :3], x[..., 3:6]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.linalg.cross(b1, b2, dim=-1)
    return torch.stack((b1, b2, b3), dim=-1)


def matrix_to_rotation_6d(R: torch.Tensor) -> torch.Tensor:
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


def y_axis_angle(R1: torch.Tensor, R2: torch.Tensor) -> torch.Tensor:
    """Angle in radians between the +y axes (second columns) of R1 and R2, (..., 3, 3) -> (...).

    The rotation error of an object that is continuously symmetric about +y.
    """
    return _vector_angle(R1[..., :, 1], R2[..., :, 1])


def _vector_angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Angle between unit vectors (..., 3), through atan2 (accurate near 0 and pi)."""
    return torch.atan2(torch.linalg.cross(a, b, dim=-1).norm(dim=-1), (a * b).sum(-1))


# --------------------------------------------------------------------------- symmetry

NO_AXIS = -1
"""`SymmetryBatch.axis` of an object without a continuous symmetry."""
EVERY_AXIS = 3
"""`SymmetryBatch.axis` of an object that every rotation maps onto itself (a sphere)."""


class SymmetryBatch(NamedTuple):
    """The symmetries of a batch of objects, as rotation errors use them (docs/conventions.md §7).

    group (..., G, 3, 3): each object's finite group of discrete turns, identity first, padded
    by repeating the identity (a repeated candidate leaves a minimum unchanged), so G == 1
    means every object's group is the identity alone. axis (...) int64: the continuous axis,
    0/1/2 for x/y/z, NO_AXIS or EVERY_AXIS. A NamedTuple of tensors, so that
    DistributedDataParallel moves it to the device with a forward's other inputs.
    """

    group: torch.Tensor
    axis: torch.Tensor

    @classmethod
    def of(cls, symmetries: Sequence[Symmetry]) -> SymmetryBatch:
        """The batch of these symmetries, (len(symmetries),), on the CPU."""
        rows = [_symmetry_row(s) for s in symmetries]
        size = max((len(group) for group, _ in rows), default=1)
        identity = torch.eye(3, dtype=torch.float64)
        padded = [torch.cat((group, identity.expand(size - len(group), 3, 3))) for group, _ in rows]
        group = torch.stack(padded) if padded else identity.expand(0, 1, 3, 3)
        return cls(group, torch.tensor([axis for _, axis in rows], dtype=torch.int64))

    @classmethod
    def from_flags(cls, symmetric: torch.Tensor) -> SymmetryBatch:
        """Per-instance flags alone (bool (...)): continuous about +y where set, none elsewhere."""
        group = torch.eye(3, dtype=torch.float64, device=symmetric.device).expand(*symmetric.shape, 1, 3, 3)
        axis = torch.where(symmetric, 1, NO_AXIS).to(torch.int64)
        return cls(group, axis)

    def to(self, device: str | torch.device, non_blocking: bool = False) -> SymmetryBatch:
        return SymmetryBatch(
            self.group.to(device, non_blocking=non_blocking), self.axis.to(device, non_blocking=non_blocking)
        )

    def select(self, index) -> SymmetryBatch:
        """The objects at `index` (anything that indexes the leading dimension)."""
        return SymmetryBatch(self.group[index], self.axis[index])


@lru_cache(maxsize=None)
def _symmetry_row(symmetry: Symmetry) -> tuple[torch.Tensor, int]:
    """(G, 3, 3) float64 group and axis code of one symmetry (cached: a group is built by closure)."""
    if symmetry.everything:
        return torch.eye(3, dtype=torch.float64)[None], EVERY_AXIS
    group = symmetry.rotations()
    group[np.abs(group) < 1e-12] = 0.0  # half and quarter turns as exact signed permutations
    axis = symmetry.continuous_axis
    return torch.from_numpy(group), NO_AXIS if axis is None else axis


def instance_symmetry(symmetry: Symmetry, symmetric: bool) -> Symmetry:
    """An instance's symmetry: its category's, with continuous symmetry about +y added when its
    per-instance `symmetric` flag is set (a mug whose handle is hidden, docs/conventions.md §1).
    A flag adds symmetry and never removes any; for NOCS it turns every flagged instance into
    continuous-about-+y, as before."""
    return replace(symmetry, y=ANY) if symmetric else symmetry


class CategorySymmetries:
    """Category ids and per-instance flags -> SymmetryBatch, a whole training batch at once.

    Built once from a table; every batch gets the table's largest group size G, so a compiled
    training step sees one shape. Call it on the CPU tensors of a batch, then `.to(device)`.
    """

    def __init__(self, table: CategoryTable):
        self.ids = torch.tensor(sorted(c.id for c in table), dtype=torch.int64)
        # row 2k: category k as it is; row 2k + 1: the same category flagged symmetric
        self.rows = SymmetryBatch.of(
            [instance_symmetry(table.by_id(i).symmetry, flag) for i in self.ids.tolist() for flag in (False, True)]
        )

    def __call__(self, category, symmetric=None) -> SymmetryBatch:
        """category (B,) ids, symmetric (B,) bool flags (None: none set) -> the batch's SymmetryBatch."""
        category = torch.as_tensor(category, dtype=torch.int64, device="cpu")
        index = torch.searchsorted(self.ids, category).clamp(max=len(self.ids) - 1)
        unknown = self.ids[index] != category
        if unknown.any():
            raise KeyError(
                f"unknown category ids {sorted(set(category[unknown].tolist()))}; known: {self.ids.tolist()}"
            )
        flags = torch.zeros_like(category) if symmetric is None else torch.as_tensor(symmetric, device="cpu").long()
        return self.rows.select(2 * index + flags)


def rotation_error(R_pred: torch.Tensor, R_true: torch.Tensor, symmetry: SymmetryBatch | torch.Tensor) -> torch.Tensor:
    """Rotation error in radians under each object's symmetry, (..., 3, 3) x2 -> (...).

    The smallest, over the turns g of the object's finite group, of the geodesic angle between
    R_pred and R_true g; with a continuous axis, of the angle between that axis (column) of
    R_pred and of R_true g instead, since only its direction is determined; 0 for an object
    that every rotation maps onto itself (docs/conventions.md §7; paper supplement S.1: the
    y-axis-only loss). `symmetry` is a SymmetryBatch (...,) or, for callers that know only
    per-instance flags, a bool tensor (...): continuous about +y where set.
    """
    if not isinstance(symmetry, SymmetryBatch):
        symmetry = SymmetryBatch.from_flags(torch.as_tensor(symmetry, dtype=torch.bool, device=R_true.device))
    group, axis = symmetry
    if group.shape[-3] == 1:  # the identity alone (every NOCS object): nothing to minimise over
        return _error_about_axis(R_pred, R_true, axis)
    candidates = _compose(R_true, group)
    return _error_about_axis(R_pred.unsqueeze(-3), candidates, axis.unsqueeze(-1)).amin(-1)


def nearest_equivalent(R: torch.Tensor, reference: torch.Tensor, symmetry: SymmetryBatch) -> torch.Tensor:
    """R g for the turn g of each object's finite group that brings R nearest `reference` (in
    `rotation_error`'s measure), (..., 3, 3): one representative of poses that look the same.

    Rotations about a continuous axis are left as they are (`estimator.align_symmetric` picks those).
    """
    group, axis = symmetry
    if group.shape[-3] == 1:
        return R
    candidates = _compose(R, group)
    best = _error_about_axis(reference.unsqueeze(-3), candidates, axis.unsqueeze(-1)).argmin(-1)
    index = best[..., None, None, None].expand(*candidates.shape[:-3], 1, 3, 3)
    return candidates.gather(-3, index).squeeze(-3)


def _compose(R: torch.Tensor, group: torch.Tensor) -> torch.Tensor:
    """R g for every g: (..., 3, 3) x (..., G, 3, 3) -> (..., G, 3, 3).

    Written as a product and a sum: under autocast a matmul would round R g to bfloat16."""
    return (R.unsqueeze(-3).unsqueeze(-1) * group.to(R.dtype).unsqueeze(-3)).sum(-2)


def _error_about_axis(R1: torch.Tensor, R2: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
    """Geodesic angle, angle between the axis columns, or 0, as `axis` says; broadcast over (...)."""
    column = axis.clamp(0, 2)
    about_axis = _vector_angle(_column(R1, column), _column(R2, column))
    error = torch.where(axis >= 0, about_axis, geodesic_angle(R1, R2))
    return torch.where(axis == EVERY_AXIS, torch.zeros_like(error), error)


def _column(R: torch.Tensor, column: torch.Tensor) -> torch.Tensor:
    """Column `column` (...) of each R (..., 3, 3) -> (..., 3)."""
    index = column.expand(R.shape[:-2])[..., None, None].expand(*R.shape[:-1], 1)
    return R.gather(-1, index).squeeze(-1)


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


def random_rotation(*shape: int, generator: torch.Generator | None = None, dtype=torch.float32) -> torch.Tensor:
    """Rotations uniform on SO(3) (normalised Gaussian quaternions), shape (*shape, 3, 3)."""
    q = F.normalize(torch.randn(*shape, 4, generator=generator, dtype=dtype), dim=-1)
    return quaternion_to_matrix(q)


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
    return torch.cat((matrix_to_rotation_6d(R), t_rel), dim=-1)


def vector_to_pose(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(..., 9) -> rotation (..., 3, 3) through Gram-Schmidt, translation (..., 3)."""
    return rotation_6d_to_matrix(x[..., :6]), x[..., 6:]


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
