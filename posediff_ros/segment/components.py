"""Connected parts of a class image that do not cross a depth discontinuity."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..geometry import Intrinsics, backproject, valid_depth

MIN_STEP = 0.008
"""Metres: neighbouring pixels of one surface may always differ this much (a depth sensor's
noise and disparity steps at table-top range are a few millimetres)."""
STEP_FRACTION = 0.015
"""Of the depth: the larger allowance far away, where noise and disparity steps grow with z²."""


def surface_step(z: np.ndarray) -> np.ndarray:
    """Largest depth difference (metres) between 4-neighbours at depth z (metres) on one surface."""
    return np.maximum(MIN_STEP, STEP_FRACTION * z)


def depth_components(depth_m: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, int]:
    """The parts of an image whose pixels share a non-zero class and a continuous surface.

    depth_m: (H, W) metres, non-finite or <= 0 invalid; classes: (H, W) integers, 0 = none.
    Two 4-neighbours are joined when both have valid depth and the same class and their depths
    differ by at most `surface_step` of the nearer; so two touching objects of one class split
    where one stands in front of the other. Pixels without valid depth belong to no part.
    Returns ((H, W) int32 part ids 1..n in raster order of their first pixel, 0 elsewhere; n).
    """
    node = (classes != 0) & valid_depth(depth_m)
    index = np.full(classes.shape, -1, dtype=np.int64)
    index[node] = np.arange(int(node.sum()))
    z = np.where(node, depth_m, 0.0)
    rows, cols = [], []
    for a, b in (
        ((slice(None), slice(None, -1)), (slice(None), slice(1, None))),  # right neighbours
        ((slice(None, -1), slice(None)), (slice(1, None), slice(None))),  # lower neighbours
    ):
        za, zb = z[a], z[b]
        joined = node[a] & node[b] & (classes[a] == classes[b]) & (np.abs(za - zb) <= surface_step(np.minimum(za, zb)))
        rows.append(index[a][joined])
        cols.append(index[b][joined])
    n_nodes = int(node.sum())
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n_nodes, n_nodes))
    count, part = connected_components(graph, directed=False)
    parts = np.zeros(classes.shape, dtype=np.int32)
    parts[node] = part + 1  # csgraph numbers parts in the order of their first node: raster order
    return parts, int(count)


FRAGMENT_FRACTION = 0.5
"""A part smaller than this fraction of a neighbouring part of its class, within that part's
extent or in front of it, is a fragment of it: a bowl's front wall below the rim that hides
the inside, a mug's handle in front of its body. Two whole objects are of similar size, or
side by side, or one behind the other."""
NEIGHBOUR_PIXELS = 2  # parts this close in the image are neighbours (depth sensors drop pixels at depth edges)
LATERAL_MARGIN = 0.02  # metres around a part's x and y extent (camera frame) that a fragment's centroid may lie in
DEPTH_REACH = 0.5  # of a part's lateral size: how far beyond its depth range a fragment's centroid may lie


def merge_fragments(
    depth_m: np.ndarray,
    parts: np.ndarray,
    count: int,
    classes: np.ndarray,
    intrinsics: Intrinsics,
    *,
    fraction: float = FRAGMENT_FRACTION,
    behind: bool = False,
) -> np.ndarray:
    """`parts` (depth_components' (H, W) ids 1..count) with each fragment joined to the part it is
    a fragment of: the largest neighbouring part of the same class that is 1 / `fraction` times
    its size or more and whose extent holds the fragment's centroid (camera frame: x, y and
    the far end of z within LATERAL_MARGIN of its extent, the near end of z within DEPTH_REACH of
    its lateral size: a part of one object may stand in front of another part of it, by about
    its size, while what lies behind a part is taken to be another object, unless `behind`: then
    behind it by as much). Joins follow chains to the largest part; a
    fragment between two objects joins one of them, so the objects stay apart. Ids stay as they
    were (the joined ones are no longer used)."""
    if count < 2:
        return parts
    flat = parts[parts > 0]  # parts hold valid depth only, so these are backproject's points, in order
    points = backproject(depth_m, parts > 0, intrinsics).astype(np.float64)
    sizes = np.bincount(flat, minlength=count + 1)
    centroid = np.stack([np.bincount(flat, weights=points[:, i], minlength=count + 1) for i in range(3)], 1)
    centroid /= np.maximum(sizes, 1)[:, None]
    low, high = np.full((count + 1, 3), np.inf), np.full((count + 1, 3), -np.inf)
    np.minimum.at(low, flat, points)
    np.maximum.at(high, flat, points)
    reach = DEPTH_REACH * (high - low)[:, :2].max(1)
    below = np.stack((np.full(count + 1, LATERAL_MARGIN),) * 2 + (reach,), 1)  # nearer: up to `reach` in front
    above = below if behind else np.full((count + 1, 3), LATERAL_MARGIN)  # further
    pairs = _neighbouring_parts(parts, classes)  # sorted by the first column
    starts = np.searchsorted(pairs[:, 0], np.arange(count + 2))
    target = np.arange(count + 1)
    for p in range(1, count + 1):
        neighbours = pairs[starts[p] : starts[p + 1], 1]
        lo, hi = low[neighbours] - below[neighbours], high[neighbours] + above[neighbours]
        inside = np.all((centroid[p] >= lo) & (centroid[p] <= hi), axis=1)
        fits = neighbours[(sizes[p] < fraction * sizes[neighbours]) & inside]
        if len(fits):
            target[p] = fits[np.argmax(sizes[fits])]
    for _ in range(count):  # follow the chains: each step points to a strictly larger part
        following = target[target]
        if np.array_equal(following, target):
            break
        target = following
    return target[parts].astype(np.int32)


def _neighbouring_parts(parts: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """(P, 2) pairs of different parts of one class within NEIGHBOUR_PIXELS of each other, both orders."""
    height, width = parts.shape
    found = []
    r = NEIGHBOUR_PIXELS
    for dv in range(0, r + 1):
        for du in range(-r, r + 1):
            if dv == 0 and du <= 0:
                continue
            a = parts[: height - dv, max(0, -du) : width - max(0, du)]
            b = parts[dv:, max(0, du) : width - max(0, -du) or None]
            ca = classes[: height - dv, max(0, -du) : width - max(0, du)]
            cb = classes[dv:, max(0, du) : width - max(0, -du) or None]
            near = (a > 0) & (b > 0) & (a != b) & (ca == cb)
            found.append(np.stack((a[near], b[near]), axis=1))
    pairs = np.unique(np.concatenate(found), axis=0)
    return np.unique(np.concatenate((pairs, pairs[:, ::-1])), axis=0)
