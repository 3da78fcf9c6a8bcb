"""Procedural shapes of the six NOCS categories, in the canonical frame of docs/conventions.md §2,
and user meshes for any category of a table (docs/conventions.md §2.1).

Every shape is built in metres with +y up, then shifted so that the origin is the centre of
its tight axis-aligned bounding box; `size` is the box extents (x, y, z). The kinds of
object of each category (compact, SLR, ... cameras; cylindrical, conical, ... mugs) are
families, each with its own builder and parameter ranges (`families.FAMILIES`, where the
category facts of each family are stated).

Shape parameters and the splits
-------------------------------
A shape draws a family, then a unit vector u in [0, 1]^k that maps linearly to the family's
parameter ranges. Within a family, the first three ("main") parameters decide the split:
their unit values are cut into a 4x4x4 grid of cells, and a cell (c0, c1, c2) is held out
for validation iff (c0 + 2 c1 + 3 c2) % 5 == 0 (13 of 64 cells, about 20 % of the volume).
The held-out cells are interior regions of parameter space, so validation shapes are new
combinations of proportions the model must interpolate to, not extrapolations. `test` uses
the validation shapes (scenes differ through the seed). One family per category
(`families.HELD_OUT`, e.g. rangefinder cameras) never appears in train/val/test: the split
`family` holds it alone, over its whole parameter range, and measures generalisation to a
new kind of object rather than to new proportions of known kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..categories import NOCS_CATEGORIES, CategoryTable
from .families import FAMILIES, HELD_OUT
from .mesh import BODY as BODY  # part ids, re-exported: `load_mesh` users label faces with them
from .mesh import HANDLE as HANDLE
from .mesh import LENS as LENS
from .mesh import SCREEN as SCREEN
from .mesh import Mesh, box, cylinder, lathe
from .mesh_checks import checked_mesh

SPLITS = ("train", "val", "test", "family")  # the index of a split seeds its random streams: append only


@dataclass(frozen=True)
class Shape:
    """One object instance: its canonical mesh (bounding box centred at the origin) and size."""

    category: str
    mesh: Mesh
    size: np.ndarray  # (3,) bounding-box extents x, y, z in metres
    params: dict = field(default_factory=dict)
    family: str = ""  # the procedural family; "" for a user mesh


# --------------------------------------------------------------------------- sampling


def centred(category: str, mesh: Mesh, params: dict | None = None, family: str = "") -> Shape:
    """Shift a canonical-orientation mesh so its bounding-box centre is the origin."""
    lo, hi = mesh.vertices.min(0), mesh.vertices.max(0)
    mesh = Mesh(mesh.vertices - 0.5 * (lo + hi), mesh.faces, mesh.parts)
    return Shape(category, mesh, hi - lo, dict(params or {}), family)


def unit_to_params(category: str, family: str, u: np.ndarray) -> dict:
    """Map a unit vector u in [0, 1]^k to a family's physical parameters."""
    ranges = FAMILIES[category][family].parameters
    return {name: lo + (hi - lo) * float(x) for (name, (lo, hi)), x in zip(ranges.items(), u, strict=True)}


def params_to_unit(category: str, family: str, params: dict) -> np.ndarray:
    ranges = FAMILIES[category][family].parameters
    return np.array([(params[n] - lo) / (hi - lo) for n, (lo, hi) in ranges.items()])


def split_of_unit(u: np.ndarray) -> str:
    """'val' when the first three unit parameters fall into a held-out cell, else 'train'."""
    c = np.minimum((np.asarray(u[:3]) * 4).astype(int), 3)
    return "val" if (c[0] + 2 * c[1] + 3 * c[2]) % 5 == 0 else "train"


def families_of(category: str, split: str) -> list[str]:
    """The families a split draws from: the held-out family for 'family', all others otherwise."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    held_out = HELD_OUT[category]
    return [held_out] if split == "family" else [f for f in FAMILIES[category] if f != held_out]


def sample_params(category: str, rng: np.random.Generator, split: str = "train") -> tuple[str, dict]:
    """(family, parameters) of `category`, uniform over the split's families and cells."""
    names = families_of(category, split)
    family = names[rng.integers(len(names))]
    k = len(FAMILIES[category][family].parameters)
    if split == "family":  # the held-out family over its whole range
        return family, unit_to_params(category, family, rng.random(k))
    want = "train" if split == "train" else "val"
    while True:  # rejection sampling of the split's cells
        u = rng.random(k)
        if split_of_unit(u) == want:
            return family, unit_to_params(category, family, u)


def make_shape(category: str, family: str, params: dict) -> Shape:
    """Build the canonical shape of one family of `category` from its parameters."""
    return centred(category, FAMILIES[category][family].build(params), params, family)


def sample_shape(category: str, rng: np.random.Generator, split: str = "train") -> Shape:
    return make_shape(category, *sample_params(category, rng, split))


def load_mesh(path: str | Path, category: str, scale: float = 1.0, parts: np.ndarray | None = None) -> Shape:
    """A user mesh (OBJ/PLY/STL, anything trimesh loads) as a `Shape` of `category`.

    Placement rule: the file must already be in the canonical orientation of docs/conventions.md §2
    (+y up, mug handle on +x, laptop hinge at -z, camera lens along +z); its units times
    `scale` must be metres. The mesh is only translated so that its bounding-box centre is
    the origin. `parts` (F,) optionally labels faces (e.g. HANDLE for a mug's handle faces,
    needed for the mug's per-frame symmetry flag; without it a mug is never symmetric).
    A file that cannot be rendered is refused (`mesh_checks.MeshError`, docs/conventions.md §2.1).
    """
    vertices, faces = checked_mesh(path, scale)
    part = np.zeros(len(faces), np.int8) if parts is None else np.asarray(parts, np.int8)
    return centred(category, Mesh(vertices, faces, part), {"source": str(path)})


MESH_SUFFIXES = (".obj", ".ply", ".stl")


def load_mesh_library(
    root: str | Path, scale: float = 1.0, categories: CategoryTable = NOCS_CATEGORIES
) -> dict[str, list[Shape]]:
    """User meshes from root/<category>/*.{obj,ply,stl} (sorted by name), see `load_mesh`.

    Every folder must be named after a category of `categories` (hidden ones are skipped);
    other files in a folder (materials, textures) are ignored.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"mesh folder {root} does not exist (expected {root}/<category>/*.obj|ply|stl)")
    library = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if folder.name not in categories:
            raise ValueError(
                f"mesh folder {folder} is not named after a category of the table "
                f"({', '.join(categories.names)}); rename it, or add '{folder.name}' to the category table"
            )
        files = sorted(f for f in folder.iterdir() if f.suffix.lower() in MESH_SUFFIXES)
        if files:
            library[folder.name] = [load_mesh(f, folder.name, scale) for f in files]
    return library


def procedural(category: str) -> bool:
    """Whether `category` has procedural families (the six NOCS names) or needs user meshes."""
    return category in FAMILIES


def load_category_meshes(
    categories: CategoryTable, root: str | Path | None, scale: float = 1.0
) -> dict[str, list[Shape]] | None:
    """The user meshes for a category table (None without `root`); ValueError when a category
    has neither a procedural generator nor meshes (docs/conventions.md §2.1)."""
    library = load_mesh_library(root, scale, categories) if root is not None else None
    for category in categories:
        if not procedural(category.name) and not (library or {}).get(category.name):
            where = f"in {Path(root) / category.name}" if root is not None else "(no mesh folder was given)"
            raise ValueError(
                f"category '{category.name}' has no procedural generator and no meshes {where}; put its "
                f"meshes in <meshes>/{category.name}/*.obj|ply|stl (procedural: {', '.join(sorted(FAMILIES))})"
            )
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
        a * np.sin(v @ rng.normal(size=3) * 2.0 + ph)
        for a, ph in zip(rng.uniform(0, 0.15, 3), rng.uniform(0, 6.3, 3), strict=True)
    )
    v = v * (1 + bumps)[:, None] * rng.uniform([0.03, 0.025, 0.03], [0.1, 0.09, 0.1])
    v[:, 1] -= v[:, 1].min()
    return Mesh(v, sphere.faces, sphere.parts)
