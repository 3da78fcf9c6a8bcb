"""HouseCat6D (Jung et al., CVPR 2024) as `Frame`s: 10 household categories, real RGB-D.

The layout, as the authors' toolbox reads it (github.com/Junggy/HouseCat6D:
visualization/vis_obj.py and VI-Net/provider/housecat6d_dataset_new.py):

    ROOT/scene01 ... scene34/           training scenes (camera trajectories)
    ROOT/val_scene1, val_scene2/        validation scenes
    ROOT/test_scene1 ... test_scene5/   test scenes
    SCENE/intrinsics.txt                3x3 camera matrix K (np.loadtxt)
    SCENE/rgb/NNNNNN.png                colour, 1096x852 (not read)
    SCENE/depth/NNNNNN.png              uint16 millimetres (a NOCS-style 3-channel PNG is decoded too)
    SCENE/instance/NNNNNN.png           instance ids (the red channel of a colour PNG)
    SCENE/labels/NNNNNN_label.pkl       per instance `class_ids` (1-10), `instance_ids` (the mask
                                        values), `rotations` R, `translations` T (metres),
                                        `gt_scales` (box extents, metres), `bboxes`
    SCENE/meta.txt                      "instance class model" lines (not read: label.pkl has the ids)

X_cam = R X_obj + T with the metric model X_obj centred on its box (the toolbox draws the
box `gt_scales` around T). The camera frame is OpenCV's (x right, y down, z forward;
the loaders back-project (u - cx) z / fx, (v - cy) z / fy), that of docs/conventions.md §3.
The class ids and names are the toolbox's; bottle, can and glass are continuously
symmetric about +y, as the authors' evaluation (VI-Net/utils/evaluation_utils.py,
`compute_RT_degree_cm_symmetry`) treats them, so their y axis is taken to be the
symmetry axis of docs/conventions.md §2: the reader applies no per-category axis change.
The image size (the toolbox assumes 1096x852) is taken from each depth image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..categories import Category, CategoryTable
from ..geometry import Intrinsics, project_to_so3
from ..labels import panoptic_label
from ..symmetry import ABOUT_Y
from .layout import Frame, FrameInstance
from .nocs import panoptic_mask, read_nocs_depth, read_nocs_label, read_nocs_mask

HOUSECAT6D_CATEGORIES = CategoryTable(
    (
        Category(1, "box"),
        Category(2, "bottle", ABOUT_Y),
        Category(3, "can", ABOUT_Y),
        Category(4, "cup"),
        Category(5, "remote"),
        Category(6, "teapot"),
        Category(7, "cutlery"),
        Category(8, "glass", ABOUT_Y),
        Category(9, "shoe"),
        Category(10, "tube"),
    )
)

HOUSECAT6D_SPLITS = {"train": "scene*", "val": "val_scene*", "test": "test_scene*"}
"""split -> scene folder pattern."""

LABEL_KEYS = ("class_ids", "instance_ids", "rotations", "translations", "gt_scales")


def read_housecat6d_intrinsics(path: str | Path, width: int, height: int) -> Intrinsics:
    """The 3x3 K of `intrinsics.txt`, for images of width x height pixels."""
    values = np.loadtxt(path, dtype=float).reshape(-1)
    if values.size != 9:
        raise ValueError(f"{path}: expected a 3x3 camera matrix (9 numbers), found {values.size}")
    K = values.reshape(3, 3)
    return Intrinsics(K[0, 0], K[1, 1], K[0, 2], K[1, 2], width, height)


def housecat6d_instances(gts: dict, source: str = "label.pkl") -> list[FrameInstance]:
    """The frame's instances from a HouseCat6D label dict; labels are class_id * 1000 + inst_id."""
    missing = [k for k in LABEL_KEYS if k not in gts]
    if missing:
        raise KeyError(f"{source}: missing {missing}; a HouseCat6D label.pkl holds {list(LABEL_KEYS)}")
    class_ids = np.asarray(gts["class_ids"], int).reshape(-1)
    instance_ids = np.asarray(gts["instance_ids"], int).reshape(-1)
    n = len(class_ids)
    R = project_to_so3(torch.from_numpy(np.asarray(gts["rotations"], float).reshape(n, 3, 3))).numpy()
    T = np.asarray(gts["translations"], float).reshape(n, 3)
    sizes = np.asarray(gts["gt_scales"], float).reshape(n, 3)
    if len(instance_ids) != n:
        raise ValueError(f"{source}: {n} class_ids but {len(instance_ids)} instance_ids")
    return [
        FrameInstance(
            panoptic_label(class_id, inst_id),
            int(class_id),
            R[i],
            T[i],
            sizes[i],
            HOUSECAT6D_CATEGORIES.by_id(class_id).continuous_about_y,
        )
        for i, (class_id, inst_id) in enumerate(zip(class_ids, instance_ids, strict=True))
    ]


def read_housecat6d_frame(scene: str | Path, index: int) -> Frame:
    """Frame `index` of a scene folder: depth, instance mask, label.pkl and the scene's intrinsics."""
    scene = Path(scene)
    name = f"{index:06d}"
    depth = read_nocs_depth(scene / "depth" / f"{name}.png")
    instance_mask = read_nocs_mask(scene / "instance" / f"{name}.png")
    if depth.shape != instance_mask.shape:
        raise ValueError(f"{scene}/{name}: depth {depth.shape} and instance mask {instance_mask.shape} differ in size")
    intrinsics = read_housecat6d_intrinsics(scene / "intrinsics.txt", depth.shape[1], depth.shape[0])
    label_path = scene / "labels" / f"{name}_label.pkl"
    instances = housecat6d_instances(read_nocs_label(label_path), str(label_path))
    return Frame(depth, panoptic_mask(instance_mask, instances), intrinsics, instances, scene.name, index)


def scene_frame_indices(scene: Path) -> list[int]:
    """The frame numbers of a scene: those with a labels/NNNNNN_label.pkl."""
    return sorted(int(p.name.split("_")[0]) for p in (scene / "labels").glob("*_label.pkl"))


class HouseCat6DDataset:
    """The frames of one HouseCat6D split in (scene, frame) order; `dataset[i]` is a `Frame`.

    Frame.scene is the scene folder ("test_scene1"), Frame.index the image number; each
    scene is one camera trajectory (trackable). `categories` is HOUSECAT6D_CATEGORIES.
    """

    categories = HOUSECAT6D_CATEGORIES

    def __init__(self, root: str | Path, split: str = "test"):
        if split not in HOUSECAT6D_SPLITS:
            raise ValueError(f"unknown HouseCat6D split {split!r}; choose one of {sorted(HOUSECAT6D_SPLITS)}")
        self.root, self.split = Path(root), split
        scenes = sorted(p for p in self.root.glob(HOUSECAT6D_SPLITS[split]) if p.is_dir())
        self.frames = [(scene, i) for scene in scenes for i in scene_frame_indices(scene)]
        if not self.frames:
            raise FileNotFoundError(
                f"no HouseCat6D {split} frames under {self.root}: expected "
                f"{HOUSECAT6D_SPLITS[split]}/labels/NNNNNN_label.pkl (the dataset's scene folders)"
            )

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int) -> Frame:
        scene, index = self.frames[i]
        return read_housecat6d_frame(scene, index)
