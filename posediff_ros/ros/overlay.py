"""The `~/overlay` debug image: the depth image in grey with each object's 3D box drawn on it."""

from __future__ import annotations

import itertools

import numpy as np

from ..geometry import Intrinsics, valid_depth
from .messages import COLOURS, PublishedObject

# The 12 edges of a box whose 8 corners are indexed by bits (x, y, z) of 0..7.
_EDGES = [(a, b) for a, b in itertools.combinations(range(8), 2) if bin(a ^ b).count("1") == 1]
_CORNERS = np.array([[(i >> 2) & 1, (i >> 1) & 1, i & 1] for i in range(8)], float) - 0.5


def _draw_line(image: np.ndarray, p0: np.ndarray, p1: np.ndarray, colour: np.ndarray) -> None:
    n = int(np.ceil(np.abs(p1 - p0).max())) + 1
    if n > 4 * sum(image.shape[:2]):  # a corner projected absurdly far away: nothing useful to draw
        return
    u, v = np.rint(np.linspace(p0, p1, n)).astype(int).T
    inside = (u >= 0) & (u < image.shape[1]) & (v >= 0) & (v < image.shape[0])
    image[v[inside], u[inside]] = colour


def depth_overlay(depth_m: np.ndarray, objects: list[PublishedObject], intrinsics: Intrinsics) -> np.ndarray:
    """(H, W, 3) uint8 RGB: near depth bright, invalid black, boxes in their category's colour."""
    valid = valid_depth(depth_m)
    image = np.zeros(depth_m.shape + (3,), np.uint8)
    if valid.any():
        near, far = np.percentile(depth_m[valid], [2, 98])
        grey = 230 - 180 * np.clip((depth_m - near) / max(far - near, 1e-6), 0, 1)
        image[valid] = grey[valid, None].astype(np.uint8)
    for o in objects:
        corners = (_CORNERS * o.pose.size) @ o.pose.R.T + o.pose.t
        if (corners[:, 2] < 0.05).any():  # behind or at the camera: no sensible projection
            continue
        uv = corners[:, :2] / corners[:, 2:] * [intrinsics.fx, intrinsics.fy] + [intrinsics.cx, intrinsics.cy]
        colour = (255 * np.array(COLOURS.get(o.pose.category, (0.6, 0.6, 0.6)))).astype(np.uint8)
        for a, b in _EDGES:
            _draw_line(image, uv[a], uv[b], colour)
    return image
