"""Table-top scenes, camera poses and camera trajectories.

World frame: metres, +z up, the table top is the plane z = 0 around the origin, the floor is
at z = -TABLE_HEIGHT. Objects stand upright (canonical +y -> world +z) with a random yaw and a
small tilt, lifted so that their lowest vertex touches the table. Cameras are REP 103 optical
frames (x right, y down, z forward); a `CameraPose` maps camera to world coordinates.

Hard cases real images are full of, each with a probability in `SceneConfig`: views aimed so
that an object is cut by the image border (truncation), occluders standing on the table
between a camera and an object (`add_occluders`, placed once the cameras are known), and
scenes packed closely enough for objects to hide each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..categories import NOCS_CATEGORIES, CategoryTable
from ..geometry import REAL275_INTRINSICS, Intrinsics
from ..labels import panoptic_label, split_panoptic_label
from .shapes import Mesh, Shape, box, cylinder, procedural, sample_distractor, sample_shape

TABLE_HEIGHT = 0.74
DENSE_AREA = 0.6  # a dense scene's placement radius, relative to the usual one

# Canonical object frame (y up) -> world (z up): a rotation of +90 degrees about x.
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True)
class SceneConfig:
    """What a scene contains and where cameras may be. Angles in degrees, lengths in metres.

    `table` gives the ids and symmetries of the categories; `categories` the names drawn
    from it (None: all of them, in table order). Names without a procedural generator need
    user meshes (`shapes.load_category_meshes`, docs/conventions.md §2.1).
    """

    categories: tuple[str, ...] | None = None
    table: CategoryTable = field(default_factory=lambda: NOCS_CATEGORIES)
    min_objects: int = 1
    max_objects: int = 6
    max_tilt_deg: float = 5.0
    distractor_prob: float = 0.5  # probability that a scene has distractors at all
    max_distractors: int = 2
    distance: tuple[float, float] = (0.4, 1.2)  # camera to look-at point
    elevation_deg: tuple[float, float] = (20.0, 70.0)
    max_roll_deg: float = 5.0
    gap: float = 0.01  # minimum clearance between object footprints
    max_step_deg: float = 2.0  # mean azimuth change per frame of a trajectory (tracking-like motion)
    user_mesh_prob: float = 0.5  # chance to take a user mesh for a category that has some
    # relative frequency of each of `categories` (None: uniform), to train more on hard ones
    category_weights: tuple[float, ...] | None = None
    # Hard cases (the training stream's defaults; 0 turns one off).
    truncation_prob: float = 0.25  # chance that a view is aimed so that one object is cut by the image border
    truncation: tuple[float, float] = (0.1, 0.6)  # share of that object's image extent beyond the border
    occluder_prob: float = 0.3  # chance per camera of an occluder between it and an object (`add_occluders`)
    dense_prob: float = 0.25  # chance that a scene packs its objects closely, so that they hide each other

    def __post_init__(self):
        if self.categories is None:
            object.__setattr__(self, "categories", tuple(self.table.names))
        unknown = [name for name in self.categories if name not in self.table]
        if unknown:
            raise ValueError(f"categories {unknown} are not in the category table ({', '.join(self.table.names)})")
        weights = self.category_weights
        if weights is not None and (len(weights) != len(self.categories) or min(weights) < 0 or sum(weights) <= 0):
            raise ValueError(f"category_weights {weights}: one non-negative weight per category {self.categories}")

    def draw_category(self, rng: np.random.Generator) -> str:
        if self.category_weights is None:
            return self.categories[rng.integers(len(self.categories))]
        weights = np.asarray(self.category_weights, dtype=float)
        return self.categories[rng.choice(len(self.categories), p=weights / weights.sum())]


@dataclass(frozen=True)
class SceneObject:
    """An object instance placed in the world: X_world = R @ X_obj + t."""

    shape: Shape
    label: int  # panoptic label, category_id * 1000 + k
    R: np.ndarray  # (3, 3)
    t: np.ndarray  # (3,)

    @property
    def category_id(self) -> int:
        return split_panoptic_label(self.label)[0]

    def world_mesh(self) -> Mesh:
        return self.shape.mesh.transformed(self.R, self.t)


@dataclass(frozen=True)
class Scene:
    objects: list[SceneObject]
    background: list[Mesh]  # table, floor and distractors, all label 0, world frame
    table: CategoryTable = field(default_factory=lambda: NOCS_CATEGORIES)  # of the objects' category ids


@dataclass(frozen=True)
class CameraPose:
    """Camera (optical frame) to world: X_world = R @ X_cam + t."""

    R: np.ndarray
    t: np.ndarray

    def object_pose(self, obj: SceneObject) -> tuple[np.ndarray, np.ndarray]:
        """Pose (R, t) of `obj` in this camera's frame: X_cam = R @ X_obj + t."""
        return self.R.T @ obj.R, self.R.T @ (obj.t - self.t)


# --------------------------------------------------------------------------- placement


def _rotation_about(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * K + (1 - np.cos(angle)) * K @ K


def _upright_rotation(rng: np.random.Generator, max_tilt_deg: float) -> np.ndarray:
    """Canonical -> world rotation: stand up, random yaw about +z, tilt about a horizontal axis."""
    yaw = _rotation_about(np.array([0.0, 0.0, 1.0]), rng.uniform(0, 2 * np.pi))
    tilt_axis = np.array([*rng.normal(size=2), 0.0])
    tilt = _rotation_about(tilt_axis, np.deg2rad(rng.uniform(0, max_tilt_deg)))
    return tilt @ yaw @ Y_UP_TO_Z_UP


def _footprint(vertices: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre (2,) and radius of a circle in the table plane containing world vertices."""
    xy = vertices[:, :2]
    centre = 0.5 * (xy.min(0) + xy.max(0))
    return centre, float(np.linalg.norm(xy - centre, axis=1).max())


def _place(rng, vertices_canon, R, area_radius, placed, gap, attempts=60):
    """Translation putting the rotated vertices on the table without overlapping `placed`.

    placed: list of (centre (2,), radius) footprints; appended to on success. Returns None
    when no free spot was found.
    """
    v = vertices_canon @ R.T
    centre, radius = _footprint(v)
    for _ in range(attempts):
        rho, phi = area_radius * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)
        spot = rho * np.array([np.cos(phi), np.sin(phi)])
        if all(np.linalg.norm(spot - c) >= radius + r + gap for c, r in placed):
            placed.append((spot, radius))
            return np.array([*(spot - centre), -v[:, 2].min()])
    return None


def _sample_object_shape(rng, category, split, config, library) -> Shape:
    user = (library or {}).get(category)
    if not procedural(category):  # meshes only, in every split: such a category has no held-out family
        if not user:
            raise ValueError(f"category '{category}' has no procedural generator and no user meshes")
        return user[rng.integers(len(user))]
    if user and split != "family" and rng.random() < config.user_mesh_prob:  # `family`: held-out families only
        return user[rng.integers(len(user))]
    return sample_shape(category, rng, split)


def sample_scene(
    rng: np.random.Generator,
    config: SceneConfig = SceneConfig(),
    split: str = "train",
    library: dict[str, list[Shape]] | None = None,
) -> Scene:
    """A table with 1-6 category objects (and maybe distractors), none intersecting.

    library: optional user shapes per category (`shapes.load_mesh_library`), used in every
    split but `family` with probability `config.user_mesh_prob` instead of a procedural shape;
    a category without a procedural generator always takes one of its user shapes.
    """
    n = int(rng.integers(config.min_objects, config.max_objects + 1))
    dense = rng.random() < config.dense_prob
    area = (0.1 + 0.05 * n) * (DENSE_AREA if dense else 1.0)
    gap = 0.0 if dense else config.gap
    placed: list = []
    objects: list[SceneObject] = []
    counts: dict[str, int] = {}
    for _ in range(n):
        category = config.draw_category(rng)
        shape = _sample_object_shape(rng, category, split, config, library)
        R = _upright_rotation(rng, config.max_tilt_deg)
        t = _place(rng, shape.mesh.vertices, R, area, placed, gap)
        if t is None:
            continue
        k = counts.get(category, 0)
        counts[category] = k + 1
        objects.append(SceneObject(shape, panoptic_label(config.table.by_name(category).id, k), R, t))
    half = rng.uniform([0.45, 0.35], [0.8, 0.6]) + area
    background = [
        box((2 * half[0], 2 * half[1], 0.04), (0.0, 0.0, -0.02)),
        box((8.0, 8.0, 0.01), (0.0, 0.0, -TABLE_HEIGHT - 0.005)),
    ]
    if rng.random() < config.distractor_prob:
        for _ in range(int(rng.integers(1, config.max_distractors + 1))):
            mesh = sample_distractor(rng)
            R = _upright_rotation(rng, config.max_tilt_deg)
            t = _place(rng, mesh.vertices, R, area + 0.1, placed, config.gap)
            if t is not None:
                background.append(mesh.transformed(R, t))
    return Scene(objects, background, config.table)


# --------------------------------------------------------------------------- cameras


def look_at(eye: np.ndarray, target: np.ndarray, roll: float = 0.0) -> CameraPose:
    """Optical-frame camera at `eye` looking at `target`, image top towards world +z."""
    z = target - eye
    z = z / np.linalg.norm(z)
    x = np.cross(z, np.array([0.0, 0.0, 1.0]))
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack((x, y, z), axis=1) @ _rotation_about(np.array([0.0, 0.0, 1.0]), roll)
    return CameraPose(R, np.asarray(eye, float))


def _scene_centre(scene: Scene) -> np.ndarray:
    if not scene.objects:
        return np.zeros(3)
    return np.mean([o.t for o in scene.objects], axis=0) * np.array([1.0, 1.0, 0.0])


def _orbit(target, azimuth, elevation, distance, roll) -> CameraPose:
    direction = np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth), np.sin(elevation)])
    return look_at(target + distance * direction, target, roll)


MIN_EYE_HEIGHT = 0.1  # m above the table: a truncating aim that would put the camera lower is not taken


def _truncating_target(
    rng: np.random.Generator, scene: Scene, view: np.ndarray, config: SceneConfig, intrinsics: Intrinsics
) -> np.ndarray:
    """A look-at point for `view` that puts a random object across a random image border.

    The object's centre lands at normalised image coordinates c (u = x/z, v = y/z), chosen so
    that a share `config.truncation` of its image extent (that of its bounding sphere) lies
    beyond the border: with target = centre - D (c_u x_cam + c_v y_cam), the object sits at
    camera coordinates D (c_u, c_v, 1).
    """
    obj = scene.objects[rng.integers(len(scene.objects))]
    axes = _orbit(np.zeros(3), *view[3:]).R  # the view's axes do not depend on its target
    distance = view[5]
    i = intrinsics
    borders = ((-i.cx / i.fx, (i.width - 1 - i.cx) / i.fx), (-i.cy / i.fy, (i.height - 1 - i.cy) / i.fy))
    axis, end = int(rng.integers(2)), int(rng.integers(2))  # u or v; low or high border
    extent = 0.5 * np.linalg.norm(obj.shape.size) / distance
    c = np.empty(2)
    c[axis] = borders[axis][end] + (1 if end else -1) * extent * (2 * rng.uniform(*config.truncation) - 1)
    c[1 - axis] = 0.6 * rng.uniform(*borders[1 - axis])
    target = obj.t - distance * (c[0] * axes[:, 0] + c[1] * axes[:, 1])
    return target if target[2] + distance * np.sin(view[4]) >= MIN_EYE_HEIGHT else view[:3]


def _sample_view(rng: np.random.Generator, scene: Scene, config: SceneConfig, intrinsics: Intrinsics) -> np.ndarray:
    """(target x, y, z, azimuth, elevation, distance, roll), angles in radians."""
    target = _scene_centre(scene) + np.array([*rng.normal(0, 0.05, 2), rng.uniform(0.0, 0.08)])
    view = np.array(
        [
            *target,
            rng.uniform(0, 2 * np.pi),
            np.deg2rad(rng.uniform(*config.elevation_deg)),
            rng.uniform(*config.distance),
            np.deg2rad(rng.uniform(-config.max_roll_deg, config.max_roll_deg)),
        ]
    )
    if scene.objects and rng.random() < config.truncation_prob:
        view[:3] = _truncating_target(rng, scene, view, config, intrinsics)
    return view


def sample_camera(
    rng: np.random.Generator,
    scene: Scene,
    config: SceneConfig = SceneConfig(),
    intrinsics: Intrinsics = REAL275_INTRINSICS,
) -> CameraPose:
    """A camera at 0.4-1.2 m from a point near the objects, 20-70 degrees above the table.

    With probability `config.truncation_prob` it is aimed so that an object is cut by the
    border of an image of `intrinsics`.
    """
    v = _sample_view(rng, scene, config, intrinsics)
    return _orbit(v[:3], *v[3:])


def camera_trajectory(
    rng: np.random.Generator,
    scene: Scene,
    frames: int,
    config: SceneConfig = SceneConfig(),
    intrinsics: Intrinsics = REAL275_INTRINSICS,
) -> list[CameraPose]:
    """A smooth camera path over `frames` frames: an eased sweep between two nearby views.

    The azimuth sweeps 10-60 degrees while elevation, distance and target drift a little,
    all with a cosine ease (zero velocity at both ends). Short sequences get a proportionally
    shorter path, at most `max_step_deg` of azimuth per frame on average, so consecutive
    frames differ by a small motion as a hand-held or robot camera's would.
    """
    start = _sample_view(rng, scene, config, intrinsics)
    delta = np.array(
        [
            *rng.normal(0, 0.03, 2),
            0.0,
            np.deg2rad(rng.uniform(10, 60)) * rng.choice([-1, 1]),
            np.deg2rad(rng.uniform(-12, 12)),
            rng.uniform(-0.2, 0.2),
            np.deg2rad(rng.uniform(-3, 3)),
        ]
    )
    delta *= min(1.0, np.deg2rad(config.max_step_deg) * max(frames - 1, 0) / abs(delta[3]))
    lo_el, hi_el = np.deg2rad(config.elevation_deg)
    poses = []
    for s in np.linspace(0.0, 1.0, frames) if frames > 1 else [0.0]:
        v = start + (0.5 - 0.5 * np.cos(np.pi * s)) * delta
        v[4] = np.clip(v[4], lo_el, hi_el)
        v[5] = np.clip(v[5], *config.distance)
        poses.append(_orbit(v[:3], *v[3:]))
    return poses


# --------------------------------------------------------------------------- occluders


def _occluder(
    rng: np.random.Generator, scene: Scene, camera: CameraPose, footprints: list, placed: list, attempts: int = 8
) -> Mesh | None:
    """A box or cylinder on the table between `camera` and a random object, hiding part of it.

    It stands 0-12 cm in front of the object's footprint (footprints[i]: object i's),
    shifted sideways by up to 0.6 footprint radii, and reaches 0.7-1.3 times the height at
    which the line of sight to the object's centre passes over it. Spots that collide with
    anything in `placed` or stand too close to the camera are redrawn; None after `attempts`.
    """
    for _ in range(attempts):
        i = int(rng.integers(len(scene.objects)))
        centre, radius = footprints[i]
        toward = camera.t[:2] - centre
        horizontal = max(float(np.linalg.norm(toward)), 1e-9)
        toward = toward / horizontal
        width, depth = rng.uniform([0.03, 0.03], [0.14, 0.08])  # across and along the line of sight
        reach = 0.5 * np.hypot(width, depth)
        along = radius + reach + rng.uniform(0.0, 0.12)
        spot = centre + along * toward + rng.uniform(-0.6, 0.6) * radius * np.array([toward[1], -toward[0]])
        z = scene.objects[i].t[2]
        sight = z + (camera.t[2] - z) * along / horizontal  # height of the line of sight over the spot
        height = min(sight * rng.uniform(0.7, 1.3), camera.t[2] - MIN_EYE_HEIGHT)
        free = all(np.linalg.norm(spot - c) >= reach + r for c, r in placed)
        if free and along < horizontal - 0.15 and height > 0.02:
            placed.append((spot, reach))
            if rng.random() < 0.5:
                return cylinder(0.5 * width, 0.0, height, 24).transformed(Y_UP_TO_Z_UP, (*spot, 0.0))
            yaw = np.array([[toward[1], toward[0], 0.0], [-toward[0], toward[1], 0.0], [0.0, 0.0, 1.0]])
            return box((width, depth, height), (0.0, 0.0, 0.5 * height)).transformed(yaw, (*spot, 0.0))
    return None


def add_occluders(
    rng: np.random.Generator, scene: Scene, cameras: list[CameraPose], config: SceneConfig = SceneConfig()
) -> Scene:
    """The scene with, per camera and with probability `config.occluder_prob`, an occluder
    (background, label 0) in front of one of its objects as that camera sees them."""
    chosen = [c for c in cameras if rng.random() < config.occluder_prob]
    if not chosen or not scene.objects:
        return scene
    footprints = [_footprint(o.world_mesh().vertices) for o in scene.objects]
    standing = [_footprint(m.vertices) for m in scene.background if m.vertices[:, 2].min() > -1e-6]  # distractors
    placed = footprints + standing
    occluders = [_occluder(rng, scene, camera, footprints, placed) for camera in chosen]
    return replace(scene, background=scene.background + [m for m in occluders if m is not None])
