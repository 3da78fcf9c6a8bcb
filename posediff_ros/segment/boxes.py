"""Detection boxes -> panoptic labels: the object's own depth pixels inside each box.

A box also holds the table it stands on and whatever is behind it; their points would
bend the object's cloud, so a box is never used as a rectangle mask. Per box:

1. the support plane (a table, a shelf, a wall behind) is fitted by RANSAC in a ring
   around the box, where the detector's box leaves mostly background, among the planes
   that most of the box's points lie above (not a plane through the object, nor an
   occluder's face in front of it); the pixels in the box on that plane or behind it are
   removed;
2. the rest is split into depth-continuous parts (components.depth_components), which
   separates the object from background behind it and from what stands in front, and the
   fragments of one part (its far side seen over a rim, a handle) are joined to it
   (components.merge_fragments);
3. the part whose bounding rectangle best fills the box (intersection over union) is the
   object: a detector draws its box around the object, while an occluder in front or
   background in a corner spans only part of it. Other parts join it, largest first,
   where each makes the union fill the box better by FILL_GAIN: the two halves of an
   object split by its own occlusion (a laptop's screen and base).

Boxes whose object has fewer than `min_points` valid depth pixels are skipped and reported.
Where boxes overlap, each pixel goes to the nearer object (the smaller median depth): the
nearer one occludes the other there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..geometry import Intrinsics, backproject, valid_depth
from .components import depth_components, merge_fragments

RING = 0.25
"""The support plane is fitted between the box and the box grown by this fraction of its
half-size (plus RING_PIXELS) on every side: beyond the ±8 % size error of a detector."""
RING_PIXELS = 4
PLANE_TOLERANCE = 0.006
"""Metres: points this close to the support plane are on it: a depth sensor's noise at
table-top range, and the object's lowest millimetres, which the table would otherwise
join. Larger would eat a laptop's thin base (1 cm cost 3 % of its pixels on the held-out set)."""
MIN_PLANE_FRACTION = 0.3  # of the ring's points on one plane, for it to count as the support
MIN_PLANE_POINTS = 30
FILL_GAIN = 0.1  # how much better a part must make the object's rectangle fill the box to join it
RANSAC_ITERATIONS = 64
RANSAC_POINTS = 2000  # ring points the hypotheses are scored on (a random subset)


@dataclass(frozen=True)
class Box:
    """A detection box in depth-image pixels, as vision_msgs/BoundingBox2D holds it.

    Pixel centres are at integer coordinates (u the column, v the row, docs/conventions.md §3).
    """

    u: float  # centre column
    v: float  # centre row
    width: float  # size_x: extent along the box's own x axis
    height: float  # size_y
    theta: float = 0.0  # radians from the image's x axis to the box's

    def problem(self, image_width: int, image_height: int) -> str | None:
        """Why the box cannot be used in an image of this size; None when it can."""
        values = (self.u, self.v, self.width, self.height, self.theta)
        if not all(math.isfinite(x) for x in values):
            return "has a NaN or infinite value"
        if self.width <= 0 or self.height <= 0:
            return f"is empty ({self.width:g} x {self.height:g} pixels)"
        v0, v1, u0, u1 = self.bounds(image_width, image_height)
        if v0 >= v1 or u0 >= u1:
            return f"lies outside the {image_width}x{image_height} image"
        return None

    def half_extents(self, grow: float = 0.0) -> tuple[float, float]:
        """Half the width and height, grown by `grow` of themselves plus RING_PIXELS when grow > 0."""
        extra = RING_PIXELS if grow > 0 else 0.0
        return 0.5 * self.width * (1 + grow) + extra, 0.5 * self.height * (1 + grow) + extra

    def bounds(self, image_width: int, image_height: int, grow: float = 0.0) -> tuple[int, int, int, int]:
        """(v0, v1, u0, u1): the rows v0..v1-1 and columns u0..u1-1 holding the (grown) box, in the image."""
        hw, hh = self.half_extents(grow)
        c, s = abs(math.cos(self.theta)), abs(math.sin(self.theta))
        du, dv = hw * c + hh * s, hw * s + hh * c
        u0, u1 = max(math.ceil(self.u - du), 0), min(math.floor(self.u + du) + 1, image_width)
        v0, v1 = max(math.ceil(self.v - dv), 0), min(math.floor(self.v + dv) + 1, image_height)
        return v0, v1, u0, u1

    def local(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates in the box's own frame: along its x and y axes from its centre."""
        c, s = math.cos(self.theta), math.sin(self.theta)
        return (u - self.u) * c + (v - self.v) * s, -(u - self.u) * s + (v - self.v) * c

    def centre_weight(self, u: np.ndarray, v: np.ndarray, grow: float = 0.0) -> np.ndarray:
        """1 at the centre falling to 0 at the (grown) box's edge, negative outside."""
        x, y = self.local(u, v)
        hw, hh = self.half_extents(grow)
        return 1.0 - np.maximum(np.abs(x) / hw, np.abs(y) / hh)


@dataclass
class BoxObjects:
    """The objects found in a frame's boxes."""

    labels: np.ndarray  # (H, W) int32: each box's label on its object's pixels, 0 elsewhere
    skipped: dict[int, str] = field(default_factory=dict)  # index of a box -> why it gave no object


def box_objects(
    depth_m: np.ndarray, intrinsics: Intrinsics, boxes: Sequence[Box], labels: Sequence[int], min_points: int
) -> BoxObjects:
    """Label each box's object pixels with its label (e.g. panoptic category_id * 1000 + k).

    depth_m: (H, W) metres, non-finite or <= 0 invalid; boxes in its pixels; labels: one
    non-zero label per box. Deterministic: the RANSAC draws are seeded per frame.
    """
    height, width = depth_m.shape
    result = BoxObjects(np.zeros(depth_m.shape, dtype=np.int32))
    rng = np.random.default_rng(0)
    found = []  # (median depth, label, (v0, u0), window mask)
    for index, (box, label) in enumerate(zip(boxes, labels, strict=True)):
        problem = box.problem(width, height)
        if problem is not None:
            result.skipped[index] = f"box {problem}"
            continue
        corner, mask = object_pixels(depth_m, intrinsics, box, rng)
        window = depth_m[corner[0] : corner[0] + mask.shape[0], corner[1] : corner[1] + mask.shape[1]]
        if mask.sum() < max(min_points, 1):
            result.skipped[index] = (
                f"{int(mask.sum())} object pixels with valid depth in the box, fewer than the minimum of {min_points}"
            )
            continue
        found.append((float(np.median(window[mask])), label, corner, mask))
    for _, label, (v0, u0), mask in sorted(found, key=lambda f: -f[0]):  # far first: nearer objects overwrite
        result.labels[v0 : v0 + mask.shape[0], u0 : u0 + mask.shape[1]][mask] = label
    return result


def object_pixels(
    depth_m: np.ndarray, intrinsics: Intrinsics, box: Box, rng: np.random.Generator
) -> tuple[tuple[int, int], np.ndarray]:
    """The object's pixels in a usable `box`: ((v0, u0), (h, w) bool mask of the window at row v0, column u0)."""
    height, width = depth_m.shape
    v0, v1, u0, u1 = box.bounds(width, height, grow=RING)
    v, u = np.mgrid[v0:v1, u0:u1]
    window = depth_m[v0:v1, u0:u1]
    window_intrinsics = Intrinsics(
        intrinsics.fx, intrinsics.fy, intrinsics.cx - u0, intrinsics.cy - v0, u1 - u0, v1 - v0
    )
    inside = box.centre_weight(u, v) >= 0
    ring = (box.centre_weight(u, v, grow=RING) >= 0) & ~inside
    keep = inside & valid_depth(window)
    points = backproject(window, keep, window_intrinsics).astype(np.float64)
    plane = support_plane(backproject(window, ring, window_intrinsics), points, rng)
    if plane is not None:
        normal, offset = plane
        keep[keep] = points @ normal + offset > PLANE_TOLERANCE  # above the plane, on the camera's side
    parts, count = depth_components(window, keep)
    parts = merge_fragments(window, parts, count, keep, window_intrinsics)
    if count == 0:
        return (v0, u0), keep
    return (v0, u0), _filling(parts, count, inside)


def _filling(parts: np.ndarray, count: int, inside: np.ndarray) -> np.ndarray:
    """The object's pixels: the part that best fills the box, joined by the other parts, largest
    first, that each make the union fill it better by FILL_GAIN (a laptop's screen and base, split
    where the screen hides the hinge)."""
    fit = _fit(parts, count, inside)
    chosen = parts == 1 + int(np.argmax(fit[1:]))
    best = fit.max()
    sizes = np.bincount(parts.ravel(), minlength=count + 1)
    for part in np.argsort(-sizes):
        if part == 0 or sizes[part] < MIN_PLANE_POINTS or chosen[parts == part].any():
            continue
        union = chosen | (parts == part)
        gain = _fit(union.astype(np.int32), 1, inside)[1]
        if gain >= best + FILL_GAIN:
            chosen, best = union, gain
    return chosen


def _fit(parts: np.ndarray, count: int, inside: np.ndarray) -> np.ndarray:
    """(count + 1,) how well each part fills the box: the intersection over union of the part's
    bounding rectangle with the box's pixels (a detector draws its box around the object; an
    occluder in front or background in a corner spans part of it). 0 for part 0 and empty ids."""
    v, u = np.nonzero(parts)
    label = parts[v, u]
    top, left = np.full(count + 1, parts.shape[0]), np.full(count + 1, parts.shape[1])
    bottom, right = np.full(count + 1, -1), np.full(count + 1, -1)
    np.minimum.at(top, label, v)
    np.minimum.at(left, label, u)
    np.maximum.at(bottom, label, v)
    np.maximum.at(right, label, u)
    present = bottom >= 0
    top, left, bottom, right = (np.where(present, x, 0) for x in (top, left, bottom, right))
    integral = np.pad(inside.cumsum(0).cumsum(1), ((1, 0), (1, 0)))  # box pixels in any rectangle, O(1)
    within = (
        integral[bottom + 1, right + 1] - integral[top, right + 1] - integral[bottom + 1, left] + integral[top, left]
    )
    area = (bottom - top + 1) * (right - left + 1)
    fit = within / np.maximum(area + int(inside.sum()) - within, 1)
    return np.where(present, fit, 0.0)


def support_plane(ring: np.ndarray, box: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float] | None:
    """The plane most `ring` points (N, 3) lie on, among those that most `box` points (M, 3) lie
    above, as (unit normal n, offset d) with n·X + d = 0 and d > 0 (the camera, at the origin,
    on the side n points to).

    RANSAC over RANSAC_ITERATIONS random triples of ring points at once, scored by the ring
    points within PLANE_TOLERANCE; a hypothesis counts only where the median box point lies
    more than PLANE_TOLERANCE above it. The winner is refitted by least squares to its inliers.
    None when no such plane holds MIN_PLANE_FRACTION of the ring points (or MIN_PLANE_POINTS).
    """
    if len(ring) < MIN_PLANE_POINTS or len(box) == 0:
        return None
    ring, box = (_subset(p.astype(np.float64), RANSAC_POINTS, rng) for p in (ring, box))
    triples = ring[rng.integers(0, len(ring), (RANSAC_ITERATIONS, 3))]
    normals = np.cross(triples[:, 1] - triples[:, 0], triples[:, 2] - triples[:, 0])
    lengths = np.linalg.norm(normals, axis=1)
    proper = lengths > 1e-12  # three distinct, non-collinear points
    normals = normals[proper] / lengths[proper, None]
    offsets = -np.einsum("ij,ij->i", normals, triples[proper, 0])
    normals, offsets = normals * np.sign(offsets)[:, None], np.abs(offsets)  # the camera's side positive
    inliers = np.abs(ring @ normals.T + offsets) <= PLANE_TOLERANCE  # (N, hypotheses)
    below_box = np.median(box @ normals.T + offsets, axis=0) > PLANE_TOLERANCE
    counts = np.where(below_box, inliers.sum(0), 0)
    if len(counts) == 0 or counts.max() < max(MIN_PLANE_FRACTION * len(ring), MIN_PLANE_POINTS):
        return None
    chosen = ring[inliers[:, int(np.argmax(counts))]]
    centre = chosen.mean(0)
    normal = np.linalg.svd(chosen - centre, full_matrices=False)[2][-1]
    offset = -float(normal @ centre)
    return (normal, offset) if offset > 0 else (-normal, -offset)


def _subset(points: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """At most `count` of the points, drawn without replacement."""
    return points if len(points) <= count else points[rng.choice(len(points), count, replace=False)]
