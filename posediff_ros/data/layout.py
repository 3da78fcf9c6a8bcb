"""The on-disk dataset layout of docs/conventions.md §6: writing frames and reading them back.

    DIR/scene_XXX/NNNN_depth.png   uint16 PNG, millimetres, 0 invalid
    DIR/scene_XXX/NNNN_mask.png    uint16 PNG, panoptic labels (category_id * 1000 + k)
    DIR/scene_XXX/NNNN_meta.json   {"intrinsics": {...}, "instances": [{label, category,
                                    R (3 rows), t, size, symmetric}]}
    DIR/categories.yaml            the dataset's category table (absent: NOCS)

`category` is written as the id in the dataset's table (int); the reader also accepts a
category name. Other files in a scene folder (e.g. NNNN_color.png) are ignored.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..categories import NOCS_CATEGORIES, CategoryTable, load_category_table, write_category_table
from ..geometry import Intrinsics, depth_mm_to_m

_FRAME = re.compile(r"^(\d+)_meta\.json$")
CATEGORY_FILE = "categories.yaml"


@dataclass(frozen=True)
class FrameInstance:
    """Ground truth of one visible object in a frame (a meta.json entry of docs/conventions.md §6)."""

    label: int
    category: int  # id in the scene's category table (NOCS by default)
    R: np.ndarray  # (3, 3) object -> camera
    t: np.ndarray  # (3,) metres, bounding-box centre in the camera frame
    size: np.ndarray  # (3,) metres
    symmetric: bool


def write_dataset_categories(root: str | Path, categories: CategoryTable) -> None:
    """Store a dataset's category table at its root (docs/conventions.md §6)."""
    Path(root).mkdir(parents=True, exist_ok=True)
    write_category_table(Path(root) / CATEGORY_FILE, categories)


def dataset_categories(root: str | Path) -> CategoryTable:
    """The category table a dataset was written with: root/categories.yaml, NOCS without one.
    ValueError when `root` is not a folder."""
    if not Path(root).is_dir():
        raise ValueError(f"dataset folder {root} does not exist (make one with generate_dataset --out {root})")
    path = Path(root) / CATEGORY_FILE
    return load_category_table(path) if path.is_file() else NOCS_CATEGORIES


def scene_dir(root: str | Path, scene_index: int) -> Path:
    return Path(root) / f"scene_{scene_index:03d}"


def write_png16(path: str | Path, image: np.ndarray) -> None:
    """Write an (H, W) array as a 16-bit greyscale PNG (values must fit in uint16)."""
    if image.ndim != 2 or image.min(initial=0) < 0 or image.max(initial=0) > 65535:
        raise ValueError("expected an (H, W) image with values in 0..65535")
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint16)).save(path, format="PNG")


def read_png16(path: str | Path) -> np.ndarray:
    """(H, W) uint16 array of a 16-bit (or 8-bit) greyscale PNG."""
    with Image.open(path) as im:
        return np.asarray(im).astype(np.uint16)


def depth_m_to_mm(depth_m: np.ndarray) -> np.ndarray:
    """float metres -> uint16 millimetres, rounded; invalid or beyond 65.535 m -> 0."""
    mm = np.round(np.nan_to_num(depth_m, nan=0.0, posinf=0.0, neginf=0.0) * 1000.0)
    return np.where((mm > 0) & (mm <= 65535), mm, 0).astype(np.uint16)


def _instance_json(inst: FrameInstance) -> dict:
    return {
        "label": int(inst.label),
        "category": int(inst.category),
        "R": np.asarray(inst.R, float).tolist(),
        "t": np.asarray(inst.t, float).tolist(),
        "size": np.asarray(inst.size, float).tolist(),
        "symmetric": bool(inst.symmetric),
    }


def write_frame(
    directory: str | Path,
    index: int,
    depth_m: np.ndarray,
    labels: np.ndarray,
    intrinsics: Intrinsics,
    instances: list[FrameInstance],
) -> None:
    """Write frame `index` of one scene folder: depth (H, W) metres, labels (H, W) panoptic."""
    if depth_m.shape != labels.shape or depth_m.shape != (intrinsics.height, intrinsics.width):
        raise ValueError(f"depth {depth_m.shape}, mask {labels.shape} and intrinsics disagree in size")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_png16(directory / f"{index:04d}_depth.png", depth_m_to_mm(depth_m))
    write_png16(directory / f"{index:04d}_mask.png", labels)
    # One instance per line: readable, and diffs of regenerated datasets stay small.
    rows = ",\n  ".join(json.dumps(_instance_json(i)) for i in instances)
    text = f'{{"intrinsics": {json.dumps(intrinsics.as_dict())},\n "instances": [\n  {rows}\n ]}}\n'
    (directory / f"{index:04d}_meta.json").write_text(text)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Frame:
    """One frame as training and evaluation need it."""

    depth: np.ndarray  # (H, W) float32 metres, 0 invalid
    mask: np.ndarray  # (H, W) int32 panoptic labels, 0 background
    intrinsics: Intrinsics
    instances: list[FrameInstance]
    scene: str  # scene folder name, e.g. "scene_007"
    index: int  # frame number within the scene


def _category_id(value, categories: CategoryTable) -> int:
    return categories.by_name(value).id if isinstance(value, str) else int(value)


def read_frame(directory: str | Path, index: int, categories: CategoryTable = NOCS_CATEGORIES) -> Frame:
    """Read frame `index` of a scene folder; checks that images match the intrinsics."""
    directory = Path(directory)
    meta = json.loads((directory / f"{index:04d}_meta.json").read_text())
    intrinsics = Intrinsics.from_dict(meta["intrinsics"])
    depth = depth_mm_to_m(read_png16(directory / f"{index:04d}_depth.png"))
    mask = read_png16(directory / f"{index:04d}_mask.png").astype(np.int32)
    if depth.shape != mask.shape or depth.shape != (intrinsics.height, intrinsics.width):
        raise ValueError(f"{directory}/{index:04d}: depth {depth.shape}, mask {mask.shape} and intrinsics disagree")
    instances = [
        FrameInstance(
            int(d["label"]),
            _category_id(d["category"], categories),
            np.array(d["R"], float).reshape(3, 3),
            np.array(d["t"], float).reshape(3),
            np.array(d["size"], float).reshape(3),
            bool(d["symmetric"]),
        )
        for d in meta["instances"]
    ]
    return Frame(depth, mask, intrinsics, instances, directory.name, index)


def frame_indices(directory: str | Path) -> list[int]:
    """Sorted frame numbers of a scene folder (those with a meta.json)."""
    return sorted(int(m.group(1)) for p in Path(directory).iterdir() if (m := _FRAME.match(p.name)))


class SyntheticDataset:
    """All frames under DIR/scene_*/, in (scene, frame) order; `dataset[i]` is a `Frame`.

    categories: the table that category names in the ground truth resolve against; by
    default the dataset's own (`dataset_categories`)."""

    def __init__(self, root: str | Path, categories: CategoryTable | None = None):
        self.root = Path(root)
        self.categories = categories if categories is not None else dataset_categories(root)
        self.scenes = sorted(p for p in self.root.glob("scene_*") if p.is_dir())
        self.frames = [(s, i) for s in self.scenes for i in frame_indices(s)]
        if not self.frames:
            raise FileNotFoundError(f"no frames (scene_*/NNNN_meta.json) under {self.root}")

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int) -> Frame:
        directory, index = self.frames[i]
        return read_frame(directory, index, self.categories)

    def scene_frames(self, scene: str) -> list[Frame]:
        """The consecutive frames of one scene (a camera trajectory), for tracking."""
        return [read_frame(d, i, self.categories) for d, i in self.frames if d.name == scene]
