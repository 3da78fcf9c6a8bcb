"""Checks of a user mesh file before it is rendered (docs/conventions.md §2.1).

A mesh is refused, with the file, what is wrong and what to do, when it cannot be read,
has no triangles, is not 1 cm to 3 m across once scaled (a file in millimetres read as
metres is 1000 times too large), or has holes large enough for the ray caster to see into
it. The last test measures the open edges (edges of one triangle only, after vertices at
the same position are merged, so triangle soups such as STL and texture seams count as
closed) against the size of the object: their total length over the square root of the
surface area. A closed surface scores 0; a sphere with a hole of diameter d scores about
0.9 d / radius; a cup without its lid 1.3, a box missing a face 2.3, a flat sheet 4. Up to
0.5 is accepted: parts whose open ends sink into a body (like the procedural mugs' handle
tubes, up to 0.48) render correctly, and so do overlapping closed parts and edges shared
by more than two faces, which the test does not count.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MIN_EXTENT, MAX_EXTENT = 0.01, 3.0  # m: a table-top object's largest bounding-box extent
MAX_OPEN_EDGES = 0.5  # open edge length / sqrt(surface area); the procedural mugs' handle tubes reach 0.48
UNITS = {1.0: "metres", 0.01: "centimetres", 0.001: "millimetres"}  # scale to metres -> unit name
TYPICAL_EXTENT = 0.2  # m: the size a unit guess aims at


class MeshError(ValueError):
    """A user mesh file cannot be used; the message names the file and the remedy."""


def checked_mesh(path: str | Path, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) in metres (file units times `scale`) and faces (F, 3) of a mesh file
    that passes every check; MeshError otherwise."""
    vertices, faces = read_mesh(path)
    vertices = vertices * scale
    check_extent(path, vertices, scale)
    check_closed(path, vertices, faces)
    return vertices, faces


def read_mesh(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The vertices and triangles of an OBJ/PLY/STL file (anything trimesh reads)."""
    import trimesh

    try:
        mesh = trimesh.load(str(path), force="mesh")
    except Exception as error:  # trimesh raises many types for foreign or broken files
        raise MeshError(
            f"mesh {path} cannot be read ({type(error).__name__}: {error}); export it as OBJ, PLY or STL"
        ) from None
    faces = np.asarray(getattr(mesh, "faces", np.zeros((0, 3))), np.int32).reshape(-1, 3)
    vertices = np.asarray(getattr(mesh, "vertices", np.zeros((0, 3))), float).reshape(-1, 3)
    if len(faces) == 0:
        raise MeshError(
            f"mesh {path} has no triangles (an empty file, a point cloud, or a file trimesh could not parse); "
            "export the object's surface as a triangle mesh"
        )
    if not np.isfinite(vertices).all():
        raise MeshError(f"mesh {path} has vertices that are NaN or infinite; repair or re-export it")
    return vertices, faces


def check_extent(path: str | Path, vertices: np.ndarray, scale: float) -> None:
    """Refuse an object outside 1 cm .. 3 m across, suggesting the scale its file units need."""
    extent = float(np.ptp(vertices, axis=0).max())
    if MIN_EXTENT <= extent <= MAX_EXTENT:
        return
    raise MeshError(
        f"mesh {path} is {extent:.3g} m across with mesh scale {scale:g}, but objects must be "
        f"{100 * MIN_EXTENT:g} cm to {MAX_EXTENT:g} m (file units times the scale must be metres): "
        + _unit_hint(extent / scale, scale)
    )


def _unit_hint(file_extent: float, scale: float) -> str:
    """What the file's units probably are: the unit that makes the object closest to a typical size."""
    fits = [s for s in UNITS if MIN_EXTENT <= file_extent * s <= MAX_EXTENT]
    if not fits:
        return "check the file's units"
    best = min(fits, key=lambda s: abs(np.log(file_extent * s / TYPICAL_EXTENT)))
    if best == scale:
        return "check the file's units"
    return f"it looks like {UNITS[best]}; pass --mesh-scale {best:g} (train: mesh_scale={best:g})"


def check_closed(path: str | Path, vertices: np.ndarray, faces: np.ndarray) -> None:
    """Refuse a mesh whose holes are large for its size (see the module docstring)."""
    area, open_length = surface_area(vertices, faces), open_edge_length(vertices, faces)
    if area <= 0.0:
        raise MeshError(f"mesh {path} has no surface area (all triangles are degenerate); re-export it")
    ratio = open_length / np.sqrt(area)
    if ratio > MAX_OPEN_EDGES:
        raise MeshError(
            f"mesh {path} is not closed: its open edges add up to {ratio:.2f} times the square root of its "
            f"surface area (at most {MAX_OPEN_EDGES} is accepted), so depth images would see into it "
            "through the holes; close them (e.g. trimesh.repair.fill_holes, or Blender's 3D-Print toolbox) "
            "or export the solid, not a single-sided surface"
        )


def surface_area(vertices: np.ndarray, faces: np.ndarray) -> float:
    p = vertices[faces]
    return float(0.5 * np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1).sum())


def open_edge_length(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Total length of the edges used by exactly one triangle, vertices merged by position."""
    extent = max(float(np.ptp(vertices, axis=0).max()), 1e-12)
    _, merged = np.unique(np.round(vertices / (1e-7 * extent)), axis=0, return_inverse=True)
    merged = merged.reshape(-1)
    positions = np.zeros((merged.max() + 1, 3))
    positions[merged] = vertices  # one position per merged vertex (they differ by < 1e-7 extents)
    faces = merged[faces]
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])]
    edges = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    single = unique[counts == 1]
    return float(np.linalg.norm(positions[single[:, 0]] - positions[single[:, 1]], axis=1).sum())
