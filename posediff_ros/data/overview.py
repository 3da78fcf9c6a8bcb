"""Overview picture of a frame: colour-mapped depth, mask outlines, projected 3D boxes and axes.

Axes: x red, y green, z blue, drawn from the bounding-box centre to half the box extent
along each object axis (so they end on the box faces). Text: category name, instance k,
and "sym" for instances flagged symmetric.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from PIL import Image, ImageDraw

from ..categories import NOCS_CATEGORIES, CategoryTable
from ..geometry import Intrinsics
from ..labels import split_panoptic_label
from .layout import FrameInstance

CATEGORY_COLOURS = {
    1: (255, 255, 255),
    2: (255, 200, 0),
    3: (255, 0, 255),
    4: (0, 255, 255),
    5: (255, 128, 128),
    6: (128, 255, 0),
}
WHITE = (255, 255, 255)
_AXIS_COLOURS = ((255, 0, 0), (0, 200, 0), (40, 90, 255))
# Box edges between corners indexed 4 * ix + 2 * iy + iz.
_EDGES = [(a, b) for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]


def _project(points: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
    z = np.maximum(points[:, 2], 1e-6)
    return np.stack(
        (intrinsics.fx * points[:, 0] / z + intrinsics.cx, intrinsics.fy * points[:, 1] / z + intrinsics.cy), -1
    )


def projected_box(intrinsics: Intrinsics, R: np.ndarray, t: np.ndarray, size: np.ndarray) -> np.ndarray | None:
    """Image coordinates (8, 2) of a posed box's corners; None when it reaches behind the camera."""
    half = 0.5 * np.asarray(size)
    corners = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1], indexing="ij")).reshape(3, -1).T * half
    pts = corners @ np.asarray(R).T + t
    return None if (pts[:, 2] <= 0.01).any() else _project(pts, intrinsics)


def draw_pose(
    draw: ImageDraw.ImageDraw,
    intrinsics: Intrinsics,
    R: np.ndarray,
    t: np.ndarray,
    size: np.ndarray,
    colour: tuple[int, int, int],
    text: str = "",
) -> None:
    """Draw a posed box (edges in `colour`), its axes and `text` above it (nothing when the
    box reaches behind the camera)."""
    uv = projected_box(intrinsics, R, t, size)
    if uv is None:
        return
    for a, b in _EDGES:
        draw.line([tuple(uv[a]), tuple(uv[b])], fill=colour, width=1)
    axes = _project(np.vstack((t, t + (np.asarray(R) * 0.5 * np.asarray(size)).T)), intrinsics)
    for k in range(3):
        draw.line([tuple(axes[0]), tuple(axes[k + 1])], fill=_AXIS_COLOURS[k], width=2)
    if text:
        draw.text((float(uv[:, 0].min()), float(uv[:, 1].min()) - 11), text, fill=colour)


def overview_image(
    depth: np.ndarray,
    labels: np.ndarray,
    intrinsics: Intrinsics,
    instances: list[FrameInstance],
    categories: CategoryTable = NOCS_CATEGORIES,
) -> Image.Image:
    """RGB picture of a frame. depth (H, W) metres (0 invalid), labels (H, W) panoptic; names
    from `categories`."""
    valid = depth > 0
    lo, hi = np.percentile(depth[valid], [1, 99]) if valid.any() else (0.0, 1.0)
    scaled = np.clip((depth - lo) / max(hi - lo, 1e-6), 0, 1)
    rgb = (colormaps["turbo"](scaled)[..., :3] * 255).astype(np.uint8)
    rgb[~valid] = 0
    # Mask outlines: pixels whose right or lower neighbour has a different label.
    edge = np.zeros(labels.shape, bool)
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge[:-1] |= labels[:-1] != labels[1:]
    rgb[edge & ((labels > 0) | np.roll(labels > 0, -1, 1) | np.roll(labels > 0, -1, 0))] = 255
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    for inst in instances:
        cat, k = split_panoptic_label(inst.label)
        name = categories.by_id(cat).name if cat in categories else str(cat)
        text = f"{name}_{k}" + (" sym" if inst.symmetric else "")
        draw_pose(draw, intrinsics, inst.R, inst.t, inst.size, CATEGORY_COLOURS.get(inst.category, WHITE), text)
    return image


def save_overview(
    path: str | Path,
    depth: np.ndarray,
    labels: np.ndarray,
    intrinsics: Intrinsics,
    instances: list[FrameInstance],
    categories: CategoryTable = NOCS_CATEGORIES,
) -> None:
    overview_image(depth, labels, intrinsics, instances, categories).save(path)


ESTIMATE_COLOUR = (255, 40, 40)


def estimate_image(
    depth: np.ndarray,
    labels: np.ndarray,
    intrinsics: Intrinsics,
    truth: FrameInstance,
    R: np.ndarray,
    t: np.ndarray,
    size: np.ndarray,
    caption: str,
    margin: int = 40,
) -> Image.Image:
    """One object's estimate (red box of `size`, with axes) over its ground truth (category colour),
    cropped round both boxes, enlarged to at least 320 px wide, with `caption` on top."""
    image = overview_image(depth, labels, intrinsics, [truth])
    draw_pose(ImageDraw.Draw(image), intrinsics, R, t, size, ESTIMATE_COLOUR, "estimate")
    boxes = [projected_box(intrinsics, R, t, size), projected_box(intrinsics, truth.R, truth.t, truth.size)]
    uv = np.vstack([b for b in boxes if b is not None] or [[0, 0], [image.width, image.height]])
    left, top = np.maximum(uv.min(0) - margin, 0).astype(int)
    right, bottom = np.minimum(uv.max(0) + margin, (image.width, image.height)).astype(int)
    crop = image.crop((int(left), int(top), max(int(right), int(left) + 1), max(int(bottom), int(top) + 1)))
    scale = max(1, int(np.ceil(320 / crop.width)))
    crop = crop.resize((crop.width * scale, crop.height * scale), Image.Resampling.NEAREST)
    framed = Image.new("RGB", (crop.width, crop.height + 16))
    framed.paste(crop, (0, 16))
    ImageDraw.Draw(framed).text((3, 2), caption, fill=WHITE)
    return framed
