"""Object symmetry: the rotations that leave a shape unchanged, and everything done with them.

A category's symmetry (docs/conventions.md §1) is the group of rotations about its canonical
axes that leave its shape unchanged, in the words Omni6DPose annotates them with: per axis
`none`, `any` (continuous), or an n-fold turn (`half` = 2, `quarter` = 4, or any n >= 2).
Poses that differ by a symmetry look the same ("equivalent poses"), so

- rotation errors (metrics, the regression loss, the confidence signal, the track check)
  are the smallest over the equivalent poses (`rotation_error`, docs/conventions.md §7);
- the engine returns one of them, chosen to follow the object's track (`align_to_reference`,
  docs/conventions.md §3), and averages samples only after turning them to one
  (`same_representatives`).

`Symmetry` describes one category (the table and its file form); `SymmetryBatch` holds the
symmetries of a batch of objects as tensors, which every function here takes.

Words: an object "has a symmetry" when some rotation other than the identity leaves it
unchanged. The ground truth's per-instance `symmetric` flag means one thing only: this
instance, as seen, is continuously symmetric about +y (a mug whose handle is hidden;
docs/conventions.md §6); `instance_symmetry` adds it to the category's symmetry.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import torch

from .geometry import geodesic_angle

if TYPE_CHECKING:
    from .categories import CategoryTable

AXES = ("x", "y", "z")
ORDER_WORDS = {"none": 1, "half": 2, "quarter": 4}  # Omni6DPose's words for n-fold turns
ANY = 0  # the order of a continuous symmetry about an axis
ORDER_NAMES = {order: word for word, order in ORDER_WORDS.items()} | {ANY: "any"}

# --------------------------------------------------------------------------- one category


def _parse_order(axis: str, value) -> int:
    if isinstance(value, bool):
        raise ValueError(f"symmetry about {axis}: {value!r} is not none, any, half, quarter or a number n >= 2")
    if value == "any":
        return ANY
    if value in ORDER_WORDS:
        return ORDER_WORDS[value]
    if isinstance(value, int) and value >= 1:
        return value
    raise ValueError(f"symmetry about {axis}: {value!r} is not none, any, half, quarter or a number n >= 2")


def _turn(axis: int, angle: float) -> np.ndarray:
    """The rotation by `angle` radians about canonical axis `axis` (0 x, 1 y, 2 z)."""
    c, s = np.cos(angle), np.sin(angle)
    i, j = [k for k in range(3) if k != axis]
    R = np.eye(3)
    R[i, i], R[i, j], R[j, i], R[j, j] = c, -s, s, c
    return R


@dataclass(frozen=True)
class Symmetry:
    """Rotations R with shape(R X) = shape(X), as orders per canonical axis.

    An order is 1 (no symmetry about that axis), n >= 2 (n-fold: turns by 360°/n) or
    `ANY` (continuous). `everything` is a sphere's symmetry: every rotation.
    """

    x: int = 1
    y: int = 1
    z: int = 1
    everything: bool = False

    @classmethod
    def parse(cls, spec: str | Mapping | None) -> Symmetry:
        """From a table entry: `none`, `any`, an axis with an optional order (`y` = y: any,
        `z2`, `y4`), or a mapping like Omni6DPose's `{any: false, x: half, y: none, z: none}`."""
        if spec is None or spec == "none":
            return cls()
        if spec == "any":
            return cls(everything=True)
        if isinstance(spec, str):
            axis, order = spec[:1], spec[1:]
            if axis not in AXES or (order and not order.isdigit()):
                raise ValueError(
                    f"symmetry {spec!r} is not none, any, an axis (x, y, z: continuous about it) "
                    "or an axis and an order (e.g. z2: a half turn about z)"
                )
            return cls(**{axis: _parse_order(axis, int(order) if order else "any")})
        if isinstance(spec, Mapping):
            unknown = set(spec) - {"any", *AXES}
            if unknown:
                raise ValueError(f"symmetry {dict(spec)!r}: unknown keys {sorted(unknown)}; use any, x, y, z")
            orders = {a: _parse_order(a, spec.get(a, "none")) for a in AXES}
            return cls(**orders, everything=bool(spec.get("any", False)))
        raise ValueError(f"symmetry {spec!r} is not a string or a mapping")

    def __post_init__(self):
        continuous = [a for a in AXES if getattr(self, a) == ANY]
        if len(continuous) > 1:  # two continuous axes generate every rotation
            object.__setattr__(self, "everything", True)

    @property
    def continuous_axis(self) -> int | None:
        """0, 1 or 2 for the axis of a continuous symmetry; None when there is none."""
        return next((i for i, a in enumerate(AXES) if getattr(self, a) == ANY), None)

    @property
    def none(self) -> bool:
        return not self.everything and all(getattr(self, a) == 1 for a in AXES)

    def rotations(self) -> np.ndarray:
        """(G, 3, 3): the finite group generated by the discrete turns, identity first.

        A continuous axis is not in it: rotation errors compare that axis only (its
        direction is all that is meaningful), under these discrete turns."""
        generators = [_turn(i, 2 * np.pi / getattr(self, a)) for i, a in enumerate(AXES) if getattr(self, a) > 1]
        group = [np.eye(3)]
        frontier = list(group)
        while frontier:  # closure under composition; tiny groups (at most 24 elements for a cube)
            new = []
            for g, h in itertools.product(frontier, generators):
                candidate = g @ h
                if not any(np.allclose(candidate, k, atol=1e-9) for k in group + new):
                    new.append(candidate)
            group += new
            frontier = new
        return np.stack(group)

    def __str__(self) -> str:
        if self.everything:
            return "any"
        parts = [f"{a}: {self._order_name(a)}" for a in AXES if getattr(self, a) != 1]
        return ", ".join(parts) if parts else "none"

    def as_spec(self) -> str | dict:
        """The plain form `parse` reads back (stored in checkpoints and table files)."""
        if self.everything:
            return "any"
        if self.none:
            return "none"
        turned = [a for a in AXES if getattr(self, a) != 1]
        if len(turned) == 1:  # the short form: `y` (continuous), `z2` (a half turn)
            order = getattr(self, turned[0])
            return turned[0] + ("" if order == ANY else str(order))
        return {a: self._order_name(a) for a in AXES}

    def _order_name(self, axis: str) -> str | int:
        """An axis's order in Omni6DPose's words where it has one (half, any, ...), else the number."""
        return ORDER_NAMES.get(getattr(self, axis), getattr(self, axis))


NO_SYMMETRY = Symmetry()
ABOUT_Y = Symmetry(y=ANY)
"""Continuous about +y and nothing more: NOCS's bottle, bowl and can."""


def instance_symmetry(symmetry: Symmetry, symmetric: bool) -> Symmetry:
    """An instance's symmetry: its category's, with continuous symmetry about +y added when its
    per-instance `symmetric` flag is set (a mug whose handle is hidden, docs/conventions.md §1).
    A flag adds symmetry and never removes any; for NOCS it turns every flagged instance into
    continuous-about-+y."""
    return replace(symmetry, y=ANY) if symmetric else symmetry


# --------------------------------------------------------------------------- a batch of objects

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
    def from_flags(cls, symmetric) -> SymmetryBatch:
        """Per-instance `symmetric` flags alone (bool (...), a tensor stays on its device):
        continuous about +y where set, none elsewhere. For callers that know no categories."""
        symmetric = torch.as_tensor(symmetric, dtype=torch.bool)
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

    def per_sample(self) -> SymmetryBatch:
        """(B,) -> (B, 1): each object's symmetry, broadcast over its K samples (B, K)."""
        return SymmetryBatch(self.group.unsqueeze(1), self.axis.unsqueeze(1))

    def has_turns(self) -> torch.Tensor:
        """bool (...): whether each object's group holds a turn besides the identity."""
        identity = torch.eye(3, dtype=self.group.dtype, device=self.group.device)
        return (self.group != identity).flatten(-3).any(-1)


@lru_cache(maxsize=None)
def _symmetry_row(symmetry: Symmetry) -> tuple[torch.Tensor, int]:
    """(G, 3, 3) float64 group and axis code of one symmetry (cached: a group is built by closure)."""
    if symmetry.everything:
        return torch.eye(3, dtype=torch.float64)[None], EVERY_AXIS
    group = symmetry.rotations()
    group[np.abs(group) < 1e-12] = 0.0  # half and quarter turns as exact signed permutations
    axis = symmetry.continuous_axis
    return torch.from_numpy(group), NO_AXIS if axis is None else axis


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


# --------------------------------------------------------------------------- rotation errors


def rotation_error(R_pred: torch.Tensor, R_true: torch.Tensor, symmetry: SymmetryBatch) -> torch.Tensor:
    """Rotation error in radians under each object's symmetry (...,), (..., 3, 3) x2 -> (...).

    The smallest, over the turns g of the object's finite group, of the geodesic angle between
    R_pred and R_true g; with a continuous axis, of the angle between that axis (column) of
    R_pred and of R_true g instead, since only its direction is determined; 0 for an object
    that every rotation maps onto itself (docs/conventions.md §7; paper supplement S.1: the
    y-axis-only loss). Callers that know only the `symmetric` flags pass
    `SymmetryBatch.from_flags(flags)`.
    """
    group, axis = symmetry
    if group.shape[-3] == 1:  # the identity alone (every NOCS object): nothing to minimise over
        return _error_about_axis(R_pred, R_true, axis)
    candidates = _compose(R_true, group)
    return _error_about_axis(R_pred.unsqueeze(-3), candidates, axis.unsqueeze(-1)).amin(-1)


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


def _vector_angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Angle between unit vectors (..., 3), through atan2 (accurate near 0 and pi)."""
    return torch.atan2(torch.linalg.cross(a, b, dim=-1).norm(dim=-1), (a * b).sum(-1))


def _column(R: torch.Tensor, column: torch.Tensor) -> torch.Tensor:
    """Column `column` (...) of each R (..., 3, 3) -> (..., 3)."""
    index = column.expand(R.shape[:-2])[..., None, None].expand(*R.shape[:-1], 1)
    return R.gather(-1, index).squeeze(-1)


# --------------------------------------------------------------------------- choosing among equivalent poses


def nearest_turn(R: torch.Tensor, reference: torch.Tensor, symmetry: SymmetryBatch) -> torch.Tensor:
    """R g for the turn g of each object's finite group that brings R nearest `reference` (in
    `rotation_error`'s measure), (..., 3, 3): one representative of poses that look the same.

    Rotations about a continuous axis are left as they are (`align_to_reference` picks those).
    """
    group, axis = symmetry
    if group.shape[-3] == 1:
        return R
    candidates = _compose(R, group)
    best = _error_about_axis(reference.unsqueeze(-3), candidates, axis.unsqueeze(-1)).argmin(-1)
    index = best[..., None, None, None].expand(*candidates.shape[:-3], 1, 3, 3)
    return candidates.gather(-3, index).squeeze(-3)


def same_representatives(R_samples: torch.Tensor, symmetry: SymmetryBatch) -> torch.Tensor:
    """Each object's K samples (B, K, 3, 3) turned by its discrete symmetries to the equivalent
    pose nearest its first sample: samples spread over equivalent poses (a box's front or back)
    would otherwise average to no pose at all."""
    if R_samples.shape[1] == 1 or symmetry.group.shape[-3] == 1:
        return R_samples
    return nearest_turn(R_samples, R_samples[:, :1], symmetry.per_sample())


def align_to_reference(R: np.ndarray, reference: np.ndarray, symmetry: SymmetryBatch) -> np.ndarray:
    """Among the poses equivalent to each R under its object's symmetry, the one nearest
    `reference`: R, reference (B, 3, 3), symmetry (B,) -> (B, 3, 3) of dtype result_type(R, reference).

    Poses that differ by a symmetry look the same, so this picks one representative per frame
    that follows the previous frame's (or, for a new object, the camera's axes): the published
    frame does not jump from frame to frame (docs/conventions.md §3). First the discrete turn
    nearest `reference` (`nearest_turn`, in float64, rounded back to R's dtype), then, about a
    continuous axis, the turn whose next axis (x for +y) is closest to `reference`'s
    (`_spin_about`); an object every rotation maps onto itself takes `reference`, and one
    without a symmetry keeps R.
    """
    symmetry = symmetry.to("cpu")
    turned = np.array(R)
    has_turns = symmetry.has_turns().numpy()
    if has_turns.any():
        R64, reference64 = (torch.as_tensor(M[has_turns], dtype=torch.float64) for M in (R, reference))
        turned[has_turns] = nearest_turn(R64, reference64, symmetry.select(has_turns)).numpy()
    aligned = turned.astype(np.result_type(R, reference))
    axis = symmetry.axis.numpy()
    for k in range(3):  # one continuous axis at a time, so that each sees plain column views
        spins = axis == k
        if spins.any():
            aligned[spins] = _spin_about(turned[spins], reference[spins], k)
    aligned[axis == EVERY_AXIS] = reference[axis == EVERY_AXIS]
    return aligned


def _spin_about(R: np.ndarray, reference: np.ndarray, axis: int) -> np.ndarray:
    """Each R (N, 3, 3) turned about its own column `axis` so that its column before it,
    cyclically (x for +y, z for +x, y for +z), is closest to reference's (N, 3, 3); R itself
    where that column of reference is parallel to the axis. In result_type(R, reference).

    The dot products are np.vecdot of column views, converted to the common dtype as a 1-D `@`
    converts them: the very sums that `@` of one object's columns gives (BLAS dot)."""
    dtype = np.result_type(R, reference)
    before, after = (axis + 2) % 3, (axis + 1) % 3
    a, wanted = R[:, :, axis], reference[:, :, before]
    v = wanted - np.vecdot(wanted.astype(dtype, copy=False), a.astype(dtype, copy=False))[:, None] * a
    length = np.sqrt(np.vecdot(v, v))
    parallel = length < 1e-6
    v = v / np.where(parallel, 1.0, length)[:, None]
    spun = np.empty((len(R), 3, 3), dtype=dtype)
    spun[:, :, axis], spun[:, :, before] = a, v
    spun[:, :, after] = np.cross(v, a)  # right-handed: e_(a+1) = e_(a+2) x e_a
    spun[parallel] = R[parallel]
    return spun
