"""NOCS CAMERA25 / REAL275 as GenPose reads it (after SPD's preprocessing), as `Frame`s.

    ROOT/CAMERA/{train,val}_list.txt   lines like "val/00000/0000"
    ROOT/Real/{train,test}_list.txt    lines like "test/scene_1/0000"
    ROOT/<source>/<line>_depth.png     uint16 mm; CAMERA depth may be 3-channel (G * 256 + R)
    ROOT/<source>/<line>_mask.png      instance ids (the red channel when 3-channel), 255 background
    ROOT/<source>/<line>_label.pkl     SPD ground truth (below)
    ROOT/<source>/<line>_meta.txt      "inst_id cls_id [synset] model_id": not read, since
                                       SPD copied its class and model ids into label.pkl

label.pkl holds per instance `class_ids` (1-6), `instance_ids` (the mask values),
`model_list`, `scales` s, `rotations` R and `translations` T (metres), with
`X_cam = s R X_nocs + T` for the NOCS-normalised model X_nocs (box centred at the origin,
unit diagonal); test/val files add `poses` (4x4 sRT), `size` (the normalised model's box
extents) and `handle_visibility`. A frame becomes a data.layout.Frame: depth in metres,
a panoptic label image `class_id * 1000 + inst_id` (instance ids stay stable along a
REAL275 scene, as tracking needs), the dataset's intrinsics, and per instance the pose
(R orthonormal, t), the metric size s * extents, and the symmetric flag (bottle, bowl,
can, and a mug whose handle is not visible).

NOCS' canonical axes are taken to be those of docs/conventions.md §2 (y up, the symmetry axis of bottles,
bowls, cans and mugs): the reader applies no per-category axis change.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..categories import NOCS_CATEGORIES
from ..geometry import (
    CAMERA25_INTRINSICS,
    REAL275_INTRINSICS,
    Intrinsics,
    depth_mm_to_m,
    project_to_so3,
)
from ..labels import panoptic_label, split_panoptic_label
from .layout import Frame, FrameInstance

NOCS_SPLITS: dict[str, tuple[str, str, Intrinsics]] = {
    "camera_train": ("CAMERA", "train_list.txt", CAMERA25_INTRINSICS),
    "camera_val": ("CAMERA", "val_list.txt", CAMERA25_INTRINSICS),
    "real_train": ("Real", "train_list.txt", REAL275_INTRINSICS),
    "real_test": ("Real", "test_list.txt", REAL275_INTRINSICS),
}
"""split -> (source folder, list file, intrinsics)."""

FAR_DEPTH_MM = 32001  # CAMERA25 renders empty background at this depth: it means "no depth"
MUG = NOCS_CATEGORIES.by_name("mug").id


def read_nocs_depth(path: str | Path) -> np.ndarray:
    """(H, W) float32 metres, 0 invalid.

    A 3-channel CAMERA25 depth stores millimetres as G * 256 + R (in RGB order; NOCS
    reads it with OpenCV as channels 1 and 2 of BGR), and 32001 marks missing depth.
    """
    with Image.open(path) as im:
        depth = np.asarray(im)
    if depth.ndim == 3:
        depth = depth[..., 1].astype(np.uint16) * 256 + depth[..., 0].astype(np.uint16)
    depth = depth.astype(np.uint16)
    return depth_mm_to_m(np.where(depth == FAR_DEPTH_MM, 0, depth))


def read_nocs_mask(path: str | Path) -> np.ndarray:
    """(H, W) int32 NOCS instance ids, 255 background.

    A colour mask holds the id in its red channel (channel 2 of OpenCV's BGR, which is
    what NOCS and GenPose read); palette images are expanded to colours first, as
    OpenCV does.
    """
    with Image.open(path) as im:
        mask = np.asarray(im if im.mode in ("L", "I", "I;16") else im.convert("RGB"))
    return (mask[..., 0] if mask.ndim == 3 else mask).astype(np.int32)


def read_nocs_label(path: str | Path) -> dict:
    """The SPD ground-truth dict of one frame.

    pickle is used only here, because these label files are the dataset's own format
    (written by SPD's preprocessing with pickle); it runs code from the file, so read
    only datasets you trust. latin1 lets NumPy arrays pickled by Python 2 load.
    """
    with open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")


def _scaled_poses(gts: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-instance scale (N,), orthonormal rotation (N, 3, 3) and translation (N, 3) metres.

    From `scales`/`rotations`/`translations` when present, else from the sRT `poses`
    (s = cbrt(det(sR)), R = sR / s). Either way R is projected onto SO(3), which removes
    the float32 rounding of the stored matrices.
    """
    if all(k in gts for k in ("scales", "rotations", "translations")):
        s = np.asarray(gts["scales"], float).reshape(-1)
        sR = np.asarray(gts["rotations"], float).reshape(-1, 3, 3) * s[:, None, None]
        T = np.asarray(gts["translations"], float).reshape(-1, 3)
    elif "poses" in gts:
        poses = np.asarray(gts["poses"], float).reshape(-1, 4, 4)
        sR, T = poses[:, :3, :3], poses[:, :3, 3]
        s = np.cbrt(np.linalg.det(sR))
    else:
        raise KeyError("label.pkl has neither scales/rotations/translations nor poses")
    R = project_to_so3(torch.from_numpy(sR / s[:, None, None])).numpy()
    return s, R, T


def nocs_instances(gts: dict, model_sizes: Mapping[str, np.ndarray] | None = None) -> list[FrameInstance]:
    """The frame's instances from an SPD label dict; labels are class_id * 1000 + inst_id.

    Metric size = s * the normalised model's box extents, taken from the file's `size`
    (test/val files) or else from `model_sizes[model id]`; when neither has it the size
    is unknown: NaN, with a warning (train files do not store it: pass model_sizes, e.g.
    the box extents of the normalised NOCS .obj models, to fill it). Without
    `handle_visibility` (train files) a mug's handle counts as visible, i.e. the mug is
    not symmetric.
    """
    class_ids = np.asarray(gts["class_ids"], int).reshape(-1)
    instance_ids = np.asarray(gts["instance_ids"], int).reshape(-1)
    models = list(gts.get("model_list", [None] * len(class_ids)))
    handles = np.asarray(gts.get("handle_visibility", np.ones(len(class_ids))), int).reshape(-1)
    scales, rotations, translations = _scaled_poses(gts)
    instances = []
    for i, (class_id, inst_id) in enumerate(zip(class_ids, instance_ids, strict=True)):
        if "size" in gts:
            extents = np.asarray(gts["size"][i], float)
        elif model_sizes is not None and models[i] in model_sizes:
            extents = np.asarray(model_sizes[models[i]], float)
        else:
            warnings.warn(
                "NOCS label without `size` and no model_sizes entry for its model: size set to NaN", stacklevel=2
            )
            extents = np.full(3, np.nan)
        symmetric = NOCS_CATEGORIES.by_id(class_id).continuous_about_y or (class_id == MUG and handles[i] == 0)
        instances.append(
            FrameInstance(
                panoptic_label(class_id, inst_id),
                int(class_id),
                rotations[i],
                translations[i],
                scales[i] * extents,
                bool(symmetric),
            )
        )
    return instances


def panoptic_mask(instance_mask: np.ndarray, instances: list[FrameInstance]) -> np.ndarray:
    """(H, W) int32 panoptic labels: the labelled instances' pixels, 0 elsewhere.

    Background (255), objects of class 0 (CAMERA25 distractors) and objects SPD dropped
    (fewer than 64 depth points) all become 0, so the engine sees exactly the instances
    that have ground truth.
    """
    labels = np.zeros(instance_mask.shape, np.int32)
    for inst in instances:
        labels[instance_mask == split_panoptic_label(inst.label)[1]] = inst.label
    return labels


def read_nocs_frame(
    prefix: str | Path,
    intrinsics: Intrinsics,
    scene: str,
    index: int,
    model_sizes: Mapping[str, np.ndarray] | None = None,
) -> Frame:
    """Read `<prefix>_depth.png`, `_mask.png` and `_label.pkl` into a Frame."""
    prefix = str(prefix)
    depth = read_nocs_depth(prefix + "_depth.png")
    instance_mask = read_nocs_mask(prefix + "_mask.png")
    if depth.shape != instance_mask.shape or depth.shape != (intrinsics.height, intrinsics.width):
        raise ValueError(
            f"{prefix}: depth {depth.shape}, mask {instance_mask.shape} and the "
            f"{intrinsics.width}x{intrinsics.height} intrinsics disagree"
        )
    instances = nocs_instances(read_nocs_label(prefix + "_label.pkl"), model_sizes)
    return Frame(depth, panoptic_mask(instance_mask, instances), intrinsics, instances, scene, index)


class NocsDataset:
    """The frames of one NOCS split in list-file order; `dataset[i]` is a `Frame`.

    Frame.scene is the folder ("scene_1" in REAL275, "00000" in CAMERA25) and
    Frame.index the image number. REAL275 scenes are camera trajectories (trackable);
    the ten images of a CAMERA25 folder are unrelated views.
    """

    categories = NOCS_CATEGORIES

    def __init__(self, root: str | Path, split: str = "real_test", model_sizes: Mapping[str, np.ndarray] | None = None):
        if split not in NOCS_SPLITS:
            raise ValueError(f"unknown NOCS split {split!r}; choose one of {sorted(NOCS_SPLITS)}")
        source, list_name, self.intrinsics = NOCS_SPLITS[split]
        self.root, self.split, self.model_sizes = Path(root), split, model_sizes
        list_file = self.root / source / list_name
        if not list_file.is_file():
            raise FileNotFoundError(
                f"{list_file} not found: NOCS needs SPD's preprocessing (object-deformnet "
                "pose_data.py), which writes the lists and the _label.pkl files"
            )
        lines = [line.strip() for line in list_file.read_text().splitlines() if line.strip()]
        self.prefixes = [self.root / source / line for line in lines]
        if not self.prefixes:
            raise FileNotFoundError(f"{list_file} lists no frames")

    def __len__(self) -> int:
        return len(self.prefixes)

    def __getitem__(self, i: int) -> Frame:
        prefix = self.prefixes[i]
        return read_nocs_frame(prefix, self.intrinsics, prefix.parent.name, int(prefix.name), self.model_sizes)
