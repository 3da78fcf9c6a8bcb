"""Ray-cast rendering of scenes (Embree via embreex) and assembly of annotated frames.

One ray per pixel through the pixel centre (pixel (u, v) at integer coordinates, the ROS /
OpenCV convention of `geometry.backproject`). The ray direction in the camera frame is
((u - cx) / fx, (v - cy) / fy, 1), so the hit distance Embree reports along it *is* the
depth z (not the ray length). Embree is used directly rather than through trimesh's
wrapper: same library, about 4x less overhead per frame, and it returns the geometry id
(-> instance), primitive id (-> part, e.g. a mug handle) and surface normal (-> incidence
angle for the noise model) of every hit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..geometry import REAL275_INTRINSICS, Intrinsics
from .layout import FrameInstance
from .mesh import HANDLE
from .noise import DepthNoise, MaskNoise
from .scene import CameraPose, Scene

MISS = 1e30


@dataclass(frozen=True)
class Rendering:
    """Ideal sensor output of one view, all (H, W)."""

    depth: np.ndarray  # float32 metres along the optical axis, 0 where no surface
    instance: np.ndarray  # int16 index into scene.objects; -1 for background and misses
    part: np.ndarray  # int8 part id of the hit face (mesh.HANDLE, ...), 0 elsewhere
    cos_incidence: np.ndarray  # float32 |cos| of the angle between ray and surface normal


@lru_cache(maxsize=8)
def _pixel_rays(intrinsics: Intrinsics) -> np.ndarray:
    """(H * W, 3) float32 camera-frame ray directions with z = 1, row-major over (v, u)."""
    v, u = np.mgrid[0 : intrinsics.height, 0 : intrinsics.width].astype(np.float64)
    return (
        np.stack(((u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy, np.ones_like(u)), -1)
        .reshape(-1, 3)
        .astype(np.float32)
    )


class SceneRenderer:
    """An Embree BVH of one static scene (world frame); renders any camera view of it."""

    def __init__(self, scene: Scene):
        # Embree (a native library) loads with the first renderer, not with this module: reading
        # datasets and training from disk need no ray caster (test_package_imports.py).
        from embreex import mesh_construction, rtcore_scene

        self.scene = scene
        self._embree = rtcore_scene.EmbreeScene()
        # Geometry ids are assigned in insertion order: objects first, so id == object index.
        meshes = [o.world_mesh() for o in scene.objects] + list(scene.background)
        for m in meshes:
            mesh_construction.TriangleMesh(self._embree, m.vertices.astype(np.float32), m.faces.astype(np.int32))
        # Part of every object face, looked up as _parts[_offsets[geomID] + primID].
        object_parts = [m.parts for m in meshes[: len(scene.objects)]]
        self._parts = np.concatenate([np.zeros(1, np.int8)] + object_parts)
        self._offsets = np.cumsum([1] + [len(p) for p in object_parts])  # one extra: never empty

    def render(self, camera: CameraPose, intrinsics: Intrinsics) -> Rendering:
        """Depth, instance, part and incidence images of the view from `camera`."""
        shape = (intrinsics.height, intrinsics.width)
        # Rotate the rays by broadcasting, not matmul: a BLAS call on 300k x 3 rows is
        # slower and spawns threads that fight DataLoader workers for the cores.
        rays, R = _pixel_rays(intrinsics), camera.R.astype(np.float32)
        directions = rays[:, :1] * R[:, 0] + rays[:, 1:2] * R[:, 1] + rays[:, 2:] * R[:, 2]
        origins = np.broadcast_to(camera.t.astype(np.float32), directions.shape).copy()
        hit = self._embree.run(origins, directions, output=1)
        geom, prim, tfar = hit["geomID"], hit["primID"], hit["tfar"]
        valid = (geom >= 0) & (tfar < MISS)
        depth = np.where(valid, tfar, 0.0).astype(np.float32)
        is_object = valid & (geom < len(self._offsets) - 1)
        instance = np.where(is_object, geom, -1).astype(np.int16)
        part = self._parts[np.where(is_object, self._offsets[np.where(is_object, geom, 0)] + prim, 0)]
        normal = hit["Ng"]
        cos = np.abs(np.einsum("ij,ij->i", normal, directions)) / np.sqrt(
            np.maximum(np.einsum("ij,ij->i", normal, normal) * np.einsum("ij,ij->i", directions, directions), 1e-24)
        )
        cos = np.where(valid, cos, 0.0).astype(np.float32)
        return Rendering(depth.reshape(shape), instance.reshape(shape), part.reshape(shape), cos.reshape(shape))


# --------------------------------------------------------------------------- crops


def crop_intrinsics(
    intrinsics: Intrinsics, box: tuple[int, int, int, int], stride: int = 1, offset: tuple[int, int] = (0, 0)
) -> Intrinsics:
    """Intrinsics of a sub-image: columns u0..u1-1 and rows v0..v1-1 (box = (u0, v0, u1, v1)),
    keeping every `stride`-th pixel starting at (u0 + offset[0], v0 + offset[1]).

    Pixel (i, j) of the result sees along the ray of full-image pixel
    (u0 + offset[0] + stride * i, v0 + offset[1] + stride * j).
    """
    u0, v0, u1, v1 = box
    ou, ov = offset
    return Intrinsics(
        intrinsics.fx / stride,
        intrinsics.fy / stride,
        (intrinsics.cx - u0 - ou) / stride,
        (intrinsics.cy - v0 - ov) / stride,
        -(-(u1 - u0 - ou) // stride),
        -(-(v1 - v0 - ov) // stride),
    )


def projected_box(
    intrinsics: Intrinsics, R: np.ndarray, t: np.ndarray, size: np.ndarray, margin: int = 6
) -> tuple[int, int, int, int] | None:
    """Pixel box (u0, v0, u1, v1) around the projection of an object's 3D bounding box.

    R, t: object-to-camera pose; size (3,) metres. Clipped to the image; None when the box
    is partly behind the camera or falls outside the image.
    """
    corners = (np.array(np.meshgrid([-0.5, 0.5], [-0.5, 0.5], [-0.5, 0.5])).reshape(3, -1).T * size) @ R.T + t
    if (corners[:, 2] < 0.05).any():
        return None
    u = intrinsics.fx * corners[:, 0] / corners[:, 2] + intrinsics.cx
    v = intrinsics.fy * corners[:, 1] / corners[:, 2] + intrinsics.cy
    u0, v0 = max(int(np.floor(u.min())) - margin, 0), max(int(np.floor(v.min())) - margin, 0)
    u1 = min(int(np.ceil(u.max())) + margin + 1, intrinsics.width)
    v1 = min(int(np.ceil(v.max())) + margin + 1, intrinsics.height)
    return (u0, v0, u1, v1) if u1 > u0 and v1 > v0 else None


# --------------------------------------------------------------------------- frames


@dataclass(frozen=True)
class SyntheticFrame:
    depth: np.ndarray  # (H, W) float32 metres, sensor noise applied, 0 invalid
    labels: np.ndarray  # (H, W) uint16 panoptic labels, mask noise applied
    instances: list[FrameInstance]  # objects whose label appears in `labels`
    rendering: Rendering  # the ideal rendering they came from


HANDLE_MIN_PIXELS = 10
"""A mug handle counts as visible when it covers at least this many pixels of a REAL275
image (640x480, fx 591); other focal lengths scale the count by (fx / 591)^2."""


def handle_visible(rendering: Rendering, index: int, min_pixels: int = HANDLE_MIN_PIXELS) -> bool:
    """Whether object `index`'s handle faces are seen by at least `min_pixels` pixels."""
    return int(((rendering.instance == index) & (rendering.part == HANDLE)).sum()) >= min_pixels


def _has_handle(obj) -> bool:
    """Whether a scene object's mesh labels handle faces (a user mug mesh need not: docs/conventions.md §2.1)."""
    return bool((obj.shape.mesh.parts == HANDLE).any())


def label_image(rendering: Rendering, scene: Scene) -> np.ndarray:
    """(H, W) uint16 panoptic labels of the ideal rendering (0 = background)."""
    lut = np.array([0] + [o.label for o in scene.objects], np.uint16)
    return lut[rendering.instance.astype(np.int32) + 1]


def render_frame(
    renderer: SceneRenderer,
    camera: CameraPose,
    intrinsics: Intrinsics,
    rng: np.random.Generator,
    depth_noise: DepthNoise = DepthNoise(),
    mask_noise: MaskNoise = MaskNoise(),
    handle_min_pixels: int | None = None,
    sensor_fx: float | None = None,
) -> SyntheticFrame:
    """Render one view, apply sensor and mask noise, and annotate the visible objects.

    symmetric: the category's flag (continuous about +y, from the scene's table), except a
    mug with handle faces, which is symmetric iff its handle is not visible in the ideal
    rendering (docs/conventions.md §1); `handle_min_pixels` defaults to
    HANDLE_MIN_PIXELS scaled to this focal length, so crops, decimated crops and full
    frames of the same view agree. sensor_fx: the focal length of the sensor's full image
    for the depth noise (defaults to intrinsics.fx; differs for decimated crops).
    """
    if handle_min_pixels is None:
        handle_min_pixels = max(1, round(HANDLE_MIN_PIXELS * (intrinsics.fx / REAL275_INTRINSICS.fx) ** 2))
    scene = renderer.scene
    rendering = renderer.render(camera, intrinsics)
    depth = depth_noise(rendering.depth, rendering.cos_incidence, sensor_fx or intrinsics.fx, rng)
    labels = mask_noise(label_image(rendering, scene), rng)
    present = set(np.unique(labels).tolist())
    instances = []
    for i, obj in enumerate(scene.objects):
        if obj.label not in present:
            continue
        category = scene.table.by_id(obj.category_id)
        symmetric = category.continuous_about_y or (
            category.name == "mug" and _has_handle(obj) and not handle_visible(rendering, i, handle_min_pixels)
        )
        R, t = camera.object_pose(obj)
        instances.append(FrameInstance(obj.label, category.id, R, t, obj.shape.size.copy(), bool(symmetric)))
    return SyntheticFrame(depth, labels, instances, rendering)
