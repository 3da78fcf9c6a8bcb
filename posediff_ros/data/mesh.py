"""Triangle meshes and the primitives the procedural shapes are built from.

The primitives are closed surfaces (rings joined in order, ends capped by poles), except the
open `tube` whose ends sink into a body. They are cheap to build with NumPy (shapes are built
inside training data workers) and carry a part id per face: the renderer reports the part of
every hit, which decides e.g. the visibility of a mug handle. Face winding is not consistent
(the ray caster is double-sided and uses |cos| of the incidence angle only).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

BODY, HANDLE, LENS, SCREEN = 0, 1, 2, 3

# Maps +y onto +z: a loft built along y becomes a prism or barrel along z (a camera's lens axis).
Y_TO_Z = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True)
class Mesh:
    """Triangle mesh: vertices (V, 3) float64 metres, faces (F, 3) int32, parts (F,) int8."""

    vertices: np.ndarray
    faces: np.ndarray
    parts: np.ndarray

    def transformed(self, R: np.ndarray, t=(0.0, 0.0, 0.0)) -> Mesh:
        """The mesh with vertices mapped by X -> R X + t."""
        return Mesh(self.vertices @ np.asarray(R).T + np.asarray(t, float), self.faces, self.parts)

    def moved(self, t) -> Mesh:
        """The mesh translated by t."""
        return Mesh(self.vertices + np.asarray(t, float), self.faces, self.parts)

    @staticmethod
    def concat(meshes: list[Mesh]) -> Mesh:
        offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
        return Mesh(
            np.concatenate([m.vertices for m in meshes]),
            np.concatenate([m.faces + o for m, o in zip(meshes, offsets, strict=True)]).astype(np.int32),
            np.concatenate([m.parts for m in meshes]),
        )


@lru_cache(maxsize=128)
def _band_faces(n: int, m: int) -> np.ndarray:
    """Triangles (int32) joining n consecutive closed rings of m vertices each (cached: shapes
    are built inside training data workers, and most share a few ring layouts)."""
    i, j = np.meshgrid(np.arange(n - 1), np.arange(m), indexing="ij")
    a, b = i * m + j, i * m + (j + 1) % m
    faces = np.concatenate((np.stack((a, a + m, b), -1), np.stack((b, a + m, b + m), -1))).reshape(-1, 3)
    faces = faces.astype(np.int32)
    faces.flags.writeable = False
    return faces


def _non_degenerate(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """The faces of non-zero area (cross product written out: np.cross is slow on small arrays)."""
    p = vertices[faces]
    e, f = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    cx = e[:, 1] * f[:, 2] - e[:, 2] * f[:, 1]
    cy = e[:, 2] * f[:, 0] - e[:, 0] * f[:, 2]
    cz = e[:, 0] * f[:, 1] - e[:, 1] * f[:, 0]
    return faces[cx * cx + cy * cy + cz * cz > 1e-24]


def loft(rings: np.ndarray, y: np.ndarray, part: int = BODY) -> Mesh:
    """Surface through closed rings (n, m, 2) of (x, z) points at heights y (n,), joined in order.

    A ring collapsed to one point is a pole (a cap); the degenerate triangles there, and
    wherever consecutive rings coincide, are dropped.
    """
    n, m, _ = rings.shape
    vertices = np.empty((n, m, 3))
    vertices[..., 0], vertices[..., 1], vertices[..., 2] = rings[..., 0], y[:, None], rings[..., 1]
    vertices = vertices.reshape(-1, 3)
    faces = _non_degenerate(vertices, _band_faces(n, m))
    return Mesh(vertices, faces, np.full(len(faces), part, np.int8))


def circle(segments: int) -> np.ndarray:
    phi = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    return np.stack((np.cos(phi), np.sin(phi)), -1)


def superellipse(exponent: float, segments: int) -> np.ndarray:
    """Unit outline |x|^e + |z|^e = 1 (e = 2: circle; large e: a square with round corners)."""
    c = circle(segments)
    c[np.abs(c) < 1e-12] = 0.0  # cos(pi/2) = 6e-17 would become 1e-5 under the power: keep the sides alike
    return np.sign(c) * np.abs(c) ** (2.0 / exponent)


def rounded_rect(half_x: float, half_z: float, radius: float, corner_points: int = 5) -> np.ndarray:
    """Outline (4 * corner_points, 2) of a rectangle with rounded corners, centred at the origin.

    The point count does not depend on the radius (a zero radius repeats the corner
    points), so outlines of different sizes can be rings of one loft.
    """
    radius = float(np.clip(radius, 0.0, 0.999 * min(half_x, half_z)))
    unit, signs = _corner_arcs(corner_points)
    return signs * [half_x - radius, half_z - radius] + radius * unit


@lru_cache(maxsize=8)
def _corner_arcs(corner_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit quarter circles of the four corners of `rounded_rect`, and each point's corner signs."""
    angle = np.linspace(0.0, 0.5 * np.pi, corner_points)[None, :] + 0.5 * np.pi * np.arange(4)[:, None]
    unit = np.stack((np.cos(angle), np.sin(angle)), -1).reshape(-1, 2)
    signs = np.repeat([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]], corner_points, axis=0)
    return unit, signs


def lathe(r: np.ndarray, y: np.ndarray, segments: int = 48, part: int = BODY) -> Mesh:
    """Surface of revolution about +y of the profile (r_i, y_i), traced in order; r = 0 is a pole."""
    return loft(np.asarray(r, float)[:, None, None] * circle(segments), np.asarray(y, float), part)


def prism(outline: np.ndarray, y0: float, y1: float, bevel: float = 0.0, part: int = BODY) -> Mesh:
    """Closed prism of a star-shaped outline (m, 2) in the x-z plane from height y0 to y1.

    bevel: chamfer (m) of the top and bottom edges; the outline is shrunk towards its
    centre by that much along its larger half-extent.
    """
    outline = np.asarray(outline, float)
    bevel = min(bevel, 0.45 * (y1 - y0))
    centre = outline.mean(0)
    inner = centre + (outline - centre) * (1.0 - bevel / np.abs(outline - centre).max())
    rings = np.stack((np.broadcast_to(centre, outline.shape), inner, outline, outline, inner))
    y = np.array([y0, y0, y0 + bevel, y1 - bevel, y1])
    return loft(np.concatenate((rings, rings[:1])), np.append(y, y1), part)


def box(size, centre=(0.0, 0.0, 0.0), part: int = BODY) -> Mesh:
    """Axis-aligned box of extents `size` centred at `centre` (12 triangles)."""
    corners = (np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1], indexing="ij")).reshape(3, -1).T) * 0.5
    vertices = corners * np.asarray(size, float) + np.asarray(centre, float)
    # Corner index = 4 * ix + 2 * iy + iz; two triangles per face.
    faces = np.array(
        [
            [0, 1, 3],
            [0, 3, 2],
            [4, 6, 7],
            [4, 7, 5],
            [0, 4, 5],
            [0, 5, 1],
            [2, 3, 7],
            [2, 7, 6],
            [0, 2, 6],
            [0, 6, 4],
            [1, 5, 7],
            [1, 7, 3],
        ],
        np.int32,
    )
    return Mesh(vertices, faces, np.full(12, part, np.int8))


def cylinder(radius: float, y0: float, y1: float, segments: int = 40, part: int = BODY) -> Mesh:
    """Closed cylinder about +y from height y0 to y1."""
    return lathe(np.array([0, radius, radius, 0.0]), np.array([y0, y0, y1, y1]), segments, part)


def tube(path: np.ndarray, half_width: float, half_depth: float, segments: int = 16, part: int = BODY) -> Mesh:
    """Open tube of elliptical section swept along a planar path (n, 3) in the x-y plane.

    half_width: section semi-axis in the path plane (m); half_depth: semi-axis along z (m).
    """
    tangent = np.gradient(path, axis=0)
    tangent /= np.linalg.norm(tangent, axis=-1, keepdims=True)
    binormal = np.array([0.0, 0.0, 1.0])
    normal = np.cross(binormal, tangent)
    phi = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    ring = (
        half_width * np.cos(phi)[None, :, None] * normal[:, None] + half_depth * np.sin(phi)[None, :, None] * binormal
    )
    faces = _band_faces(len(path), segments)
    return Mesh((path[:, None] + ring).reshape(-1, 3), faces, np.full(len(faces), part, np.int8))


def front_prism(outline_xy: np.ndarray, z0: float, z1: float, centre=(0.0, 0.0), bevel: float = 0.0, part=BODY) -> Mesh:
    """Prism of an outline (m, 2) in the x-y plane, extruded along z from z0 to z1, moved by centre (x, y)."""
    flipped = np.asarray(outline_xy, float) * [1.0, -1.0]  # Y_TO_Z maps the loft's z onto -y
    return prism(flipped, z0, z1, bevel, part).transformed(Y_TO_Z, (centre[0], centre[1], 0.0))


def barrel(r: np.ndarray, z: np.ndarray, centre=(0.0, 0.0), segments: int = 32, part: int = LENS) -> Mesh:
    """Surface of revolution about a line parallel to z through centre (x, y): profile (r_i, z_i)."""
    return lathe(r, z, segments, part).transformed(Y_TO_Z, (centre[0], centre[1], 0.0))


def smooth(s: np.ndarray) -> np.ndarray:
    """Cosine ease from 0 to 1 on s in [0, 1]."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(s, 0.0, 1.0))


def arc(r0, y0, r1, y1, n, exponent=2.0):
    """Quarter superellipse from (r0, y0) to (r1, y1), leaving horizontally when r1 > r0."""
    theta = np.linspace(0.0, np.pi / 2, n)
    e = 2.0 / exponent
    return r0 + (r1 - r0) * np.sin(theta) ** e, y0 + (y1 - y0) * (1 - np.cos(theta) ** e)
