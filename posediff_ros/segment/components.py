"""Connected parts of a class image that do not cross a depth discontinuity."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..geometry import valid_depth

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
