"""Table-top scenes, camera poses and camera trajectories.

World frame: metres, +z up, the table top is the plane z = 0 around the origin, the floor is
at z = -TABLE_HEIGHT. Objects stand upright (canonical +y -> world +z) with a random yaw and a
small tilt, lifted so that their lowest vertex touches the table. Cameras are REP 103 optical
frames (x right, y down, z forward); a `CameraPose` maps camera to world coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..categories import NOCS_CATEGORIES, panoptic_label
from .shapes import Mesh, Shape, box, sample_distractor, sample_shape

TABLE_HEIGHT = 0.74

# Canonical object frame (y up) -> world (z up): a rotation of +90 degrees about x.
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@dataclass(frozen=True)
class SceneConfig:
    """What a scene contains and where cameras may be. Angles in degrees, lengths in metres."""

    categories: tuple[str, ...] = ("bottle", "bowl", "camera", "can", "laptop", "mug")
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


@dataclass(frozen=True)
class SceneObject:
    """An object instance placed in the world: X_world = R @ X_obj + t."""

    shape: Shape
    label: int  # panoptic label, category_id * 1000 + k
    R: np.ndarray  # (3, 3)
    t: np.ndarray  # (3,)

    @property
    def category_id(self) -> int:
        return NOCS_CATEGORIES.by_name(self.shape.category).id

    def world_mesh(self) -> Mesh:
        return self.shape.mesh.transformed(self.R, self.t)


@dataclass(frozen=True)
class Scene:
    objects: list[SceneObject]
    background: list[Mesh]  # table, floor and distractors, all label 0, world frame


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
    if user and rng.random() < config.user_mesh_prob:
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
    split with probability `config.user_mesh_prob` instead of a procedural shape.
    """
    n = int(rng.integers(config.min_objects, config.max_objects + 1))
    area = 0.1 + 0.05 * n
    placed: list = []
    objects: list[SceneObject] = []
    counts: dict[str, int] = {}
    for _ in range(n):
        category = config.categories[rng.integers(len(config.categories))]
        shape = _sample_object_shape(rng, category, split, config, library)
        R = _upright_rotation(rng, config.max_tilt_deg)
        t = _place(rng, shape.mesh.vertices, R, area, placed, config.gap)
        if t is None:
            continue
        k = counts.get(category, 0)
        counts[category] = k + 1
        objects.append(SceneObject(shape, panoptic_label(NOCS_CATEGORIES.by_name(category).id, k), R, t))
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
    return Scene(objects, background)


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


def _sample_view(rng: np.random.Generator, scene: Scene, config: SceneConfig) -> np.ndarray:
    """(target x, y, z, azimuth, elevation, distance, roll), angles in radians."""
    target = _scene_centre(scene) + np.array([*rng.normal(0, 0.05, 2), rng.uniform(0.0, 0.08)])
    return np.array(
        [
            *target,
            rng.uniform(0, 2 * np.pi),
            np.deg2rad(rng.uniform(*config.elevation_deg)),
            rng.uniform(*config.distance),
            np.deg2rad(rng.uniform(-config.max_roll_deg, config.max_roll_deg)),
        ]
    )


def sample_camera(rng: np.random.Generator, scene: Scene, config: SceneConfig = SceneConfig()) -> CameraPose:
    """A camera at 0.4-1.2 m from a point near the objects, 20-70 degrees above the table."""
    v = _sample_view(rng, scene, config)
    return _orbit(v[:3], *v[3:])


def camera_trajectory(
    rng: np.random.Generator, scene: Scene, frames: int, config: SceneConfig = SceneConfig()
) -> list[CameraPose]:
    """A smooth camera path over `frames` frames: an eased sweep between two nearby views.

    The azimuth sweeps 10-60 degrees while elevation, distance and target drift a little,
    all with a cosine ease (zero velocity at both ends). Short sequences get a proportionally
    shorter path, at most `max_step_deg` of azimuth per frame on average, so consecutive
    frames differ by a small motion as a hand-held or robot camera's would.
    """
    start = _sample_view(rng, scene, config)
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
