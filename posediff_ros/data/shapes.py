"""Procedural triangle meshes of the six NOCS categories, in the canonical frame of DESIGN.md.

Every shape is built in metres with +y up, then shifted so that the origin is the centre of
its tight axis-aligned bounding box; `size` is the box extents (x, y, z). Category facts:
bottle/bowl/can/mug bodies are surfaces of revolution about the y axis (base at -y, opening
or top at +y); the mug handle is on +x; the laptop base lies in the x-z plane with the hinge
at the back (-z) and the screen rising from it; the camera lens points along +z.

Shape parameters and the train/val split
----------------------------------------
Each category draws a unit vector u in [0, 1]^k and maps it linearly to physical parameter
ranges (`PARAMETERS`). The split is decided by the first three ("main") parameters: their
unit values are cut into a 4x4x4 grid of cells, and a cell (c0, c1, c2) is held out for
validation iff (c0 + 2 c1 + 3 c2) % 5 == 0 (13 of 64 cells, about 20 % of the volume). The
held-out cells are interior regions of parameter space, so validation shapes are new
combinations of proportions the model must interpolate to, not extrapolations. `test` uses
the validation shapes (scenes differ through the seed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Part ids of faces: the renderer reports the part of every hit, which decides e.g. the
# visibility of a mug handle.
BODY, HANDLE, LENS, SCREEN = 0, 1, 2, 3

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Mesh:
    """Triangle mesh: vertices (V, 3) float64 metres, faces (F, 3) int32, parts (F,) int8."""

    vertices: np.ndarray
    faces: np.ndarray
    parts: np.ndarray

    def transformed(self, R: np.ndarray, t: np.ndarray) -> Mesh:
        """The mesh with vertices mapped by X -> R X + t."""
        return Mesh(self.vertices @ np.asarray(R).T + np.asarray(t), self.faces, self.parts)

    @staticmethod
    def concat(meshes: list[Mesh]) -> Mesh:
        offsets = np.cumsum([0] + [len(m.vertices) for m in meshes[:-1]])
        return Mesh(
            np.concatenate([m.vertices for m in meshes]),
            np.concatenate([m.faces + o for m, o in zip(meshes, offsets)]).astype(np.int32),
            np.concatenate([m.parts for m in meshes]),
        )


@dataclass(frozen=True)
class Shape:
    """One object instance: its canonical mesh (bounding box centred at the origin) and size."""

    category: str
    mesh: Mesh
    size: np.ndarray  # (3,) bounding-box extents x, y, z in metres
    params: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- primitives


def lathe(r: np.ndarray, y: np.ndarray, segments: int = 48, part: int = BODY) -> Mesh:
    """Surface of revolution about +y of the profile (r_i, y_i), traced in order.

    A profile point with r = 0 becomes a pole; the degenerate triangles there are dropped.
    """
    phi = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    n = len(r)
    vertices = np.stack(
        (np.outer(r, np.cos(phi)), np.repeat(y[:, None], segments, 1), np.outer(r, np.sin(phi))), -1
    ).reshape(-1, 3)
    i, j = np.meshgrid(np.arange(n - 1), np.arange(segments), indexing="ij")
    a, b = i * segments + j, i * segments + (j + 1) % segments
    c, d = a + segments, b + segments
    faces = np.concatenate((np.stack((a, c, b), -1), np.stack((b, c, d), -1))).reshape(-1, 3)
    tri = vertices[faces]
    area2 = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=-1)
    faces = faces[area2 > 1e-12]
    return Mesh(vertices, faces.astype(np.int32), np.full(len(faces), part, np.int8))


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
    vertices = (path[:, None] + ring).reshape(-1, 3)
    i, j = np.meshgrid(np.arange(len(path) - 1), np.arange(segments), indexing="ij")
    a, b = i * segments + j, i * segments + (j + 1) % segments
    faces = np.concatenate((np.stack((a, a + segments, b), -1), np.stack((b, a + segments, b + segments), -1)))
    return Mesh(vertices, faces.reshape(-1, 3).astype(np.int32), np.full(faces.size // 3, part, np.int8))


def _smooth(s: np.ndarray) -> np.ndarray:
    """Cosine ease from 0 to 1 on s in [0, 1]."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(s, 0.0, 1.0))


def _arc(r0, y0, r1, y1, n, exponent=2.0):
    """Quarter superellipse from (r0, y0) to (r1, y1), leaving horizontally when r1 > r0."""
    theta = np.linspace(0.0, np.pi / 2, n)
    e = 2.0 / exponent
    return r0 + (r1 - r0) * np.sin(theta) ** e, y0 + (y1 - y0) * (1 - np.cos(theta) ** e)


# --------------------------------------------------------------------------- categories
# Parameter table: name -> (low, high). The first three are the split parameters.

PARAMETERS: dict[str, dict[str, tuple[float, float]]] = {
    "bottle": {
        "radius": (0.03, 0.05),
        "height": (0.15, 0.30),
        "neck_ratio": (0.25, 0.5),
        "shoulder_start": (0.45, 0.72),
        "shoulder_length": (0.08, 0.22),
        "waist": (-0.12, 0.08),
        "cap_height": (0.008, 0.03),
        "cap_ratio": (1.0, 1.3),
        "base_fillet": (0.002, 0.01),
    },
    "bowl": {
        "radius": (0.06, 0.11),
        "height": (0.05, 0.09),
        "foot_ratio": (0.35, 0.6),
        "foot_height": (0.003, 0.01),
        "wall_exponent": (1.6, 4.0),
        "thickness": (0.003, 0.006),
    },
    "camera": {
        "width": (0.10, 0.14),
        "lens_length": (0.02, 0.09),
        "lens_radius": (0.02, 0.034),
        "height": (0.07, 0.10),
        "depth": (0.05, 0.08),
        "lens_offset": (-0.05, 0.15),
        "front_ratio": (0.85, 1.15),
        "grip_depth": (0.0, 0.025),
        "hump": (0.0, 1.0),
    },
    "can": {
        "radius": (0.025, 0.04),
        "height": (0.08, 0.15),
        "neck_depth": (0.001, 0.006),
        "neck_height": (0.004, 0.014),
        "recess": (0.002, 0.005),
        "base_taper": (0.001, 0.005),
    },
    "laptop": {
        "width": (0.25, 0.38),
        "opening_deg": (70.0, 130.0),
        "base_thickness": (0.01, 0.022),
        "depth_ratio": (0.62, 0.74),
        "screen_thickness": (0.004, 0.009),
        "screen_ratio": (0.88, 1.0),
    },
    "mug": {
        "radius": (0.035, 0.05),
        "height": (0.08, 0.11),
        "handle_reach": (0.015, 0.035),
        "taper": (0.88, 1.15),
        "wall": (0.003, 0.006),
        "bottom": (0.005, 0.012),
        "handle_half_height": (0.25, 0.42),
        "handle_centre": (0.45, 0.6),
        "handle_thickness": (0.0035, 0.008),
        "handle_width": (0.006, 0.016),
        "handle_square": (2.0, 5.0),
    },
}


def bottle(p: dict, segments: int = 48) -> Mesh:
    R, H = p["radius"], p["height"]
    rn = R * p["neck_ratio"]
    rc, hc = rn * p["cap_ratio"], p["cap_height"]
    f = p["base_fillet"]
    ys = H * p["shoulder_start"]
    yn = min(ys + H * p["shoulder_length"], H - hc - 0.01)
    fr, fy = _arc(R - f, 0.0, R, f, 6)
    yb = np.linspace(f, ys, 12)[1:]
    rb = R * (1 + p["waist"] * np.sin(np.pi * (yb - f) / (ys - f)))
    s = np.linspace(0, 1, 12)[1:]
    rs, ysh = rn + (R - rn) * (1 - _smooth(s)), ys + (yn - ys) * s
    r = np.concatenate(([0.0], fr, rb, rs, [rn, rn, rc, rc, 0.0]))
    y = np.concatenate(([0.0], fy, yb, ysh, [H - hc - 0.002, H - hc, H - hc, H, H]))
    return lathe(r, y, segments)


def bowl(p: dict, segments: int = 48) -> Mesh:
    R, h, t = p["radius"], p["height"], p["thickness"]
    rf, yf = R * p["foot_ratio"], p["foot_height"]
    ro, yo = _arc(rf, yf, R, h, 16, p["wall_exponent"])
    ri, yi = _arc(rf - t, yf + t, R - t, h, 16, p["wall_exponent"])
    r = np.concatenate(([0.0, rf + 0.004, rf], ro, ri[::-1], [0.0]))
    y = np.concatenate(([0.0, 0.0, yf], yo, yi[::-1], [yf + t]))
    return lathe(r, y, segments)


def can(p: dict, segments: int = 48) -> Mesh:
    R, H = p["radius"], p["height"]
    rn, hn = R - p["neck_depth"], p["neck_height"]
    rb = R - p["base_taper"]
    s = np.linspace(0, 1, 5)
    r = np.concatenate(
        ([0.0, rb - 0.002], rb + (R - rb) * _smooth(s), R - (R - rn) * _smooth(s), [rn - 0.001, rn - 0.003, 0.0])
    )
    y = np.concatenate(([0.002, 0.0], 0.0 + 0.006 * s, H - hn + hn * s, [H, H - p["recess"], H - p["recess"]]))
    return lathe(r, y, segments)


def mug(p: dict, segments: int = 48) -> Mesh:
    Rb, H = p["radius"], p["height"]
    Rt = Rb * p["taper"]
    w, b = p["wall"], p["bottom"]

    def radius_at(y):
        return Rb + (Rt - Rb) * y / H

    r = np.array([0.0, Rb - 0.003, Rb, Rt, Rt - w, radius_at(b) - w, 0.0])
    y = np.array([0.0, 0.0, 0.003, H, H, b, b])
    body = lathe(r, y, segments)
    # Handle: half superellipse bulging along +x, its ends sunk into the wall.
    yc, hh = H * p["handle_centre"], H * p["handle_half_height"]
    hh = min(hh, H - yc - 0.008, yc - 0.008)
    theta = np.linspace(np.pi / 2, -np.pi / 2, 24)
    e = 2.0 / p["handle_square"]
    hy = yc + hh * np.sign(np.sin(theta)) * np.abs(np.sin(theta)) ** e
    hx = radius_at(hy) - 0.5 * w + p["handle_reach"] * np.abs(np.cos(theta)) ** e
    path = np.stack((hx, hy, np.zeros_like(hx)), -1)
    handle = tube(path, p["handle_thickness"], 0.5 * p["handle_width"], part=HANDLE)
    return Mesh.concat([body, handle])


def laptop(p: dict) -> Mesh:
    W, tb = p["width"], p["base_thickness"]
    D = W * p["depth_ratio"]
    Ds, ts = D * p["screen_ratio"], p["screen_thickness"]
    base = box((W, tb, D), (0.0, 0.5 * tb, 0.0))
    # Screen: a thin box whose display face passes through the hinge line (y = tb,
    # z = -D/2); rotated about x so that it makes `opening_deg` with the keyboard (+z).
    alpha = np.deg2rad(p["opening_deg"])
    along = np.array([0.0, np.sin(alpha), np.cos(alpha)])  # from hinge up the screen
    display_normal = np.array([0.0, -np.cos(alpha), np.sin(alpha)])  # towards the user
    R = np.stack((np.array([1.0, 0.0, 0.0]), along, -display_normal), axis=1)
    screen = box((W * 0.98, Ds, ts), (0.0, 0.5 * Ds, 0.5 * ts), SCREEN)
    return Mesh.concat([base, screen.transformed(R, np.array([0.0, tb, -0.5 * D]))])


def camera(p: dict, segments: int = 40) -> Mesh:
    w, h, d = p["width"], p["height"], p["depth"]
    parts = [box((w, h, d), (0.0, 0.0, 0.0))]
    # Lens: two coaxial cylinders along +z from the front face; may sit off-centre in x.
    rl = min(p["lens_radius"], 0.45 * h)
    ll, xl = p["lens_length"], p["lens_offset"] * w
    to_z = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])  # maps +y onto +z
    back = cylinder(rl, 0.5 * d, 0.5 * d + 0.55 * ll, segments, LENS)
    front = cylinder(rl * p["front_ratio"], 0.5 * d + 0.55 * ll, 0.5 * d + ll, segments, LENS)
    parts += [m.transformed(to_z, np.array([xl, -0.05 * h, 0.0])) for m in (back, front)]
    # Grip on the user's right (-x when the lens points away along +z).
    if p["grip_depth"] > 0.004:
        gw = 0.22 * w
        parts.append(
            box((gw, 0.92 * h, p["grip_depth"]), (-0.5 * w + 0.5 * gw, -0.03 * h, 0.5 * d + 0.5 * p["grip_depth"]))
        )
    if p["hump"] > 0.4:  # viewfinder hump of an SLR-style body
        hh = 0.2 * h
        parts.append(box((0.32 * w, hh, 0.7 * d), (xl, 0.5 * h + 0.5 * hh, -0.05 * d)))
    parts.append(
        cylinder(0.006, 0.5 * h, 0.5 * h + 0.006, 16).transformed(np.eye(3), np.array([-0.3 * w, 0.0, 0.1 * d]))
    )
    return Mesh.concat(parts)


BUILDERS = {"bottle": bottle, "bowl": bowl, "camera": camera, "can": can, "laptop": laptop, "mug": mug}


# --------------------------------------------------------------------------- sampling


def centred(category: str, mesh: Mesh, params: dict | None = None) -> Shape:
    """Shift a canonical-orientation mesh so its bounding-box centre is the origin."""
    lo, hi = mesh.vertices.min(0), mesh.vertices.max(0)
    mesh = Mesh(mesh.vertices - 0.5 * (lo + hi), mesh.faces, mesh.parts)
    return Shape(category, mesh, hi - lo, dict(params or {}))


def unit_to_params(category: str, u: np.ndarray) -> dict:
    """Map a unit vector u in [0, 1]^k to the category's physical parameters."""
    ranges = PARAMETERS[category]
    return {name: lo + (hi - lo) * float(x) for (name, (lo, hi)), x in zip(ranges.items(), u)}


def split_of_unit(u: np.ndarray) -> str:
    """'val' when the first three unit parameters fall into a held-out cell, else 'train'."""
    c = np.minimum((np.asarray(u[:3]) * 4).astype(int), 3)
    return "val" if (c[0] + 2 * c[1] + 3 * c[2]) % 5 == 0 else "train"


def params_to_unit(category: str, params: dict) -> np.ndarray:
    ranges = PARAMETERS[category]
    return np.array([(params[n] - lo) / (hi - lo) for n, (lo, hi) in ranges.items()])


def split_of(category: str, params: dict) -> str:
    """The split ('train' or 'val') that a category's parameter set belongs to."""
    return split_of_unit(params_to_unit(category, params))


def sample_params(category: str, rng: np.random.Generator, split: str = "train") -> dict:
    """Uniform shape parameters of `category` from the given split (rejection sampling)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    want = "train" if split == "train" else "val"
    k = len(PARAMETERS[category])
    while True:
        u = rng.random(k)
        if split_of_unit(u) == want:
            return unit_to_params(category, u)


def make_shape(category: str, params: dict) -> Shape:
    """Build the canonical shape of `category` from its parameters."""
    return centred(category, BUILDERS[category](params), params)


def sample_shape(category: str, rng: np.random.Generator, split: str = "train") -> Shape:
    return make_shape(category, sample_params(category, rng, split))


def load_mesh(path: str | Path, category: str, scale: float = 1.0, parts: np.ndarray | None = None) -> Shape:
    """A user mesh (OBJ/PLY/STL, anything trimesh loads) as a `Shape` of `category`.

    Placement rule: the file must already be in the canonical orientation of DESIGN.md
    (+y up, mug handle on +x, laptop hinge at -z, camera lens along +z); its units times
    `scale` must be metres. The mesh is only translated so that its bounding-box centre is
    the origin. `parts` (F,) optionally labels faces (e.g. HANDLE for a mug's handle faces,
    needed for the mug's per-frame symmetry flag; without it a mug is never symmetric).
    """
    import trimesh

    tm = trimesh.load(str(path), force="mesh")
    faces = np.asarray(tm.faces, np.int32)
    part = np.zeros(len(faces), np.int8) if parts is None else np.asarray(parts, np.int8)
    return centred(category, Mesh(np.asarray(tm.vertices, float) * scale, faces, part), {"source": str(path)})


MESH_SUFFIXES = (".obj", ".ply", ".stl")


def load_mesh_library(root: str | Path, scale: float = 1.0) -> dict[str, list[Shape]]:
    """User meshes from root/<category>/*.{obj,ply,stl} (sorted by name), see `load_mesh`."""
    library = {}
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        files = sorted(f for f in folder.iterdir() if f.suffix.lower() in MESH_SUFFIXES)
        if files:
            library[folder.name] = [load_mesh(f, folder.name, scale) for f in files]
    return library


# --------------------------------------------------------------------------- distractors


def sample_distractor(rng: np.random.Generator) -> Mesh:
    """A random box, cylinder or blob of no category (5-25 cm), base at y = 0, centred in x-z."""
    kind = rng.integers(3)
    if kind == 0:
        size = rng.uniform([0.03, 0.02, 0.03], [0.22, 0.2, 0.22])
        return box(size, (0.0, 0.5 * size[1], 0.0))
    if kind == 1:
        return cylinder(rng.uniform(0.02, 0.08), 0.0, rng.uniform(0.03, 0.25), 32)
    # Blob: a sphere with a few random low-frequency bumps, squashed anisotropically.
    r = np.linspace(0.0, np.pi, 16)
    sphere = lathe(np.sin(r), -np.cos(r), 24)
    v = sphere.vertices
    bumps = sum(
        a * np.sin(v @ rng.normal(size=3) * 2.0 + ph) for a, ph in zip(rng.uniform(0, 0.15, 3), rng.uniform(0, 6.3, 3))
    )
    v = v * (1 + bumps)[:, None] * rng.uniform([0.03, 0.025, 0.03], [0.1, 0.09, 0.1])
    v[:, 1] -= v[:, 1].min()
    return Mesh(v, sphere.faces, sphere.parts)
