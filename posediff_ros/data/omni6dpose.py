"""Omni6DPose (Zhang et al., ECCV 2024): ROPE (real, evaluation) and SOPE (simulated, training) as `Frame`s.

The layout, from the authors' download notebook and their `cutoop` package
(github.com/Omni6DPose/Omni6DPoseAPI: download.ipynb, common/data_loader.py,
common/build/lib/cutoop/{image_meta,obj_meta,data_types}.py):

    ROOT/Meta/real_obj_meta.json                       the ROPE objects (below)
    ROOT/Meta/obj_meta.json                            the SOPE objects
    ROOT/ROPE/SCENE_ID/FRAME_ID_meta.json              per frame: camera and objects
    ROOT/ROPE/SCENE_ID/FRAME_ID_depth.exr              depth, metres (first channel as OpenCV reads it: B)
    ROOT/ROPE/SCENE_ID/FRAME_ID_mask.exr               mask ids / 255 (the R channel)
    ROOT/SOPE/PATCH_ID/{train,test}/SCENE_NAME/SCENE_ID/FRAME_ID_*   the same files

A frame meta holds `camera.intrinsics` {fx, fy, cx, cy, width, height} and `objects`,
a mapping "MASKID_..." -> object (or a list of objects with a `mask_id`); an object has
`quaternion_wxyz` and `translation` (metres, object centre -> camera, OpenCV camera
frame), `is_valid`, and `meta` {oid, class_name, class_label (1-based), instance_path,
scale, is_background, bbox_side_len}. The object meta file has `class_list`
[{name, label, instance_ids, stat}] and `instance_dict` {oid: {class_label, class_name,
dimensions (box extents in object space), tag: {symmetry: {any, x, y, z}, ...}, ...}};
an object's metric size is `scale * dimensions` (cutoop's evaluation example;
`bbox_side_len` is the deprecated copy of it).

Frames keep the valid, non-background objects, labelled class_label * 1000 + mask id.
Symmetry is annotated per object, in the words `categories.Symmetry.parse` reads; each
instance carries its own (`Omni6DPoseInstance.symmetry`), its `symmetric` flag is set
when that symmetry is continuous about +y, and a class's table entry is the symmetry most
of its objects have. Canonical axes: Omni6DPose's upright bodies of revolution are
`y-cone`/`y-cylinder`, so +y is up as in docs/conventions.md §2: the reader applies no
axis change. EXR images are read with the `openexr` package when it is installed, else
by the pure reader below (single-part scanline files, uncompressed, ZIPS or ZIP).
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..categories import Category, CategoryTable
from ..geometry import Intrinsics, quaternion_to_matrix
from ..labels import panoptic_label
from ..symmetry import NO_SYMMETRY, Symmetry
from .layout import Frame, FrameInstance
from .nocs import panoptic_mask

OMNI6DPOSE_SPLITS: dict[str, tuple[str, str]] = {
    "rope": ("ROPE", "real_obj_meta.json"),
    "sope_train": ("SOPE/*/train", "obj_meta.json"),
    "sope_test": ("SOPE/*/test", "obj_meta.json"),
}
"""split -> (frame folders under ROOT, object meta file under ROOT/Meta)."""

MASK_SCALE = 255  # mask.exr stores mask id / 255 (cutoop Dataset.load_mask)
_FRAME_META = re.compile(r"^(\d+)_meta\.json$")

# --------------------------------------------------------------------------- EXR images

EXR_MAGIC = 20000630
_EXR_UNSUPPORTED_FLAGS = 0x200 | 0x800 | 0x1000  # tiled, deep, multi-part
_EXR_TYPES = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}  # UINT, HALF, FLOAT
_EXR_LINES_PER_CHUNK = {0: 1, 2: 1, 3: 16}  # compression NONE, ZIPS, ZIP


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\0", pos)
    return data[pos:end].decode("latin1"), end + 1


def _exr_attributes(data: bytes, path: Path) -> tuple[dict[str, bytes], int]:
    """The header's attribute values by name, and the offset of the chunk table after it."""
    if len(data) < 8 or struct.unpack_from("<i", data)[0] != EXR_MAGIC:
        raise ValueError(f"{path} is not an OpenEXR file")
    if struct.unpack_from("<i", data, 4)[0] & _EXR_UNSUPPORTED_FLAGS:
        raise ValueError(f"{path}: tiled, deep or multi-part EXR needs the openexr package (pip install openexr)")
    attributes, pos = {}, 8
    while data[pos] != 0:
        name, pos = _cstring(data, pos)
        _, pos = _cstring(data, pos)  # the attribute's type name
        (size,) = struct.unpack_from("<i", data, pos)
        attributes[name] = data[pos + 4 : pos + 4 + size]
        pos += 4 + size
    return attributes, pos + 1


def _exr_channels(chlist: bytes, path: Path) -> list[tuple[str, np.dtype]]:
    """(name, dtype) per channel, in file order (the order of each scanline's data)."""
    channels, pos = [], 0
    while chlist[pos] != 0:
        name, pos = _cstring(chlist, pos)
        pixel_type, _, x_sampling, y_sampling = struct.unpack_from("<iB3xii", chlist, pos)
        pos += 16
        if pixel_type not in _EXR_TYPES or (x_sampling, y_sampling) != (1, 1):
            raise ValueError(f"{path}: channel {name!r} (type {pixel_type}, subsampled) needs the openexr package")
        channels.append((name, _EXR_TYPES[pixel_type]))
    return channels


def _unzip_exr(block: bytes) -> bytes:
    """Undo EXR's ZIP coding: inflate, undo the byte-delta predictor, re-interleave the halves."""
    t = np.frombuffer(zlib.decompress(block), np.uint8).astype(np.int64)
    t[1:] -= 128
    t = np.cumsum(t) % 256
    out = np.empty(len(t), np.uint8)
    half = (len(t) + 1) // 2
    out[0::2], out[1::2] = t[:half], t[half:]
    return out.tobytes()


def _place_rows(images: dict, channels: list, raw: bytes, first: int, rows: int, width: int) -> None:
    pos = 0
    for row in range(first, first + rows):
        for name, dtype in channels:
            images[name][row] = np.frombuffer(raw, dtype, width, pos)
            pos += width * dtype.itemsize


def read_exr_pure(path: str | Path) -> dict[str, np.ndarray]:
    """Channels (H, W) of a single-part scanline EXR, uncompressed, ZIPS or ZIP (the OpenEXR
    file layout); HALF becomes float32."""
    path = Path(path)
    data = path.read_bytes()
    attributes, pos = _exr_attributes(data, path)
    channels = _exr_channels(attributes["channels"], path)
    compression = attributes["compression"][0]
    if compression not in _EXR_LINES_PER_CHUNK:
        raise ValueError(f"{path}: EXR compression {compression} needs the openexr package (pip install openexr)")
    x0, y0, x1, y1 = struct.unpack("<4i", attributes["dataWindow"])
    width, height, lines = x1 - x0 + 1, y1 - y0 + 1, _EXR_LINES_PER_CHUNK[compression]
    line_bytes = width * sum(dtype.itemsize for _, dtype in channels)
    images = {name: np.empty((height, width), dtype) for name, dtype in channels}
    for offset in struct.unpack_from(f"<{-(-height // lines)}Q", data, pos):
        y, size = struct.unpack_from("<ii", data, offset)
        rows = min(lines, y1 + 1 - y)
        block = data[offset + 8 : offset + 8 + size]
        raw = block if size == rows * line_bytes else _unzip_exr(block)  # stored raw when zip would not shrink it
        _place_rows(images, channels, raw, y - y0, rows, width)
    return {name: image.astype(np.float32) if image.dtype == np.float16 else image for name, image in images.items()}


def read_exr(path: str | Path) -> dict[str, np.ndarray]:
    """Channels (H, W) of an EXR image: with the `openexr` package if installed, else `read_exr_pure`."""
    try:
        import OpenEXR
    except ImportError:
        return read_exr_pure(path)
    with OpenEXR.File(str(path), separate_channels=True) as exr:
        return {name: np.asarray(channel.pixels) for name, channel in exr.channels().items()}


def _channel(channels: dict[str, np.ndarray], preferred: tuple[str, ...], path: str | Path) -> np.ndarray:
    """The only channel, else the first of `preferred` present."""
    if len(channels) == 1:
        return next(iter(channels.values()))
    name = next((c for c in preferred if c in channels), None)
    if name is None:
        raise ValueError(f"{path}: none of the channels {list(preferred)} among {sorted(channels)}")
    return channels[name]


def read_omni6dpose_depth(path: str | Path) -> np.ndarray:
    """(H, W) float32 metres, 0 invalid. Of several channels the one OpenCV puts first (B), as cutoop reads it."""
    depth = _channel(read_exr(path), ("B", "Y", "Z", "R"), path).astype(np.float32)
    return np.where(np.isfinite(depth) & (depth > 0), depth, 0).astype(np.float32)


def read_omni6dpose_mask(path: str | Path) -> np.ndarray:
    """(H, W) int32 mask ids: the R channel times 255, rounded (cutoop truncates; rounding is exact either way)."""
    mask = _channel(read_exr(path), ("R", "Y"), path).astype(np.float64)
    return np.rint(np.nan_to_num(mask, nan=0.0) * MASK_SCALE).astype(np.int32)


# --------------------------------------------------------------------------- object meta


@dataclass(frozen=True)
class ObjectInfo:
    """One object of the object meta file."""

    class_label: int
    dimensions: np.ndarray  # (3,) box extents in object space; times `scale` gives metres
    symmetry: Symmetry


@dataclass(frozen=True)
class ObjectMeta:
    """The category table (ids are Omni6DPose's 1-based class labels) and the objects by oid."""

    categories: CategoryTable
    objects: dict[str, ObjectInfo]


@dataclass(frozen=True)
class Omni6DPoseInstance(FrameInstance):
    """A FrameInstance with the object's own symmetry (Omni6DPose annotates it per object)."""

    symmetry: Symmetry = NO_SYMMETRY


def category_name(name: str) -> str:
    """A class name as a table name (a word: it names TF frames and folders): other characters become _."""
    word = re.sub(r"\W", "_", name.strip())
    return word if word.isidentifier() else f"_{word}"


def class_symmetry(symmetries: list[Symmetry]) -> Symmetry:
    """The symmetry most objects of a class have (the first seen on a tie); none for a class without objects."""
    return Counter(symmetries).most_common(1)[0][0] if symmetries else NO_SYMMETRY


def _object_info(oid: str, entry: dict, path: Path) -> ObjectInfo:
    try:
        symmetry = Symmetry.parse(entry["tag"]["symmetry"])
        return ObjectInfo(int(entry["class_label"]), np.asarray(entry["dimensions"], float).reshape(3), symmetry)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(
            f"{path}: object {oid!r}: {error!r}; expected class_label, dimensions (3) and tag.symmetry"
        ) from None


def load_object_meta(path: str | Path) -> ObjectMeta:
    """Read obj_meta.json / real_obj_meta.json: objects, and the class table with per-class symmetry."""
    path = Path(path)
    document = json.loads(path.read_text())
    if not isinstance(document, dict) or not {"class_list", "instance_dict"} <= set(document):
        raise ValueError(f"{path}: expected an Omni6DPose object meta file with class_list and instance_dict")
    objects = {oid: _object_info(oid, entry, path) for oid, entry in sorted(document["instance_dict"].items())}
    by_class: dict[int, list[Symmetry]] = {}
    for info in objects.values():
        by_class.setdefault(info.class_label, []).append(info.symmetry)
    categories = CategoryTable(
        Category(int(c["label"]), category_name(c["name"]), class_symmetry(by_class.get(int(c["label"]), [])))
        for c in document["class_list"]
    )
    return ObjectMeta(categories, objects)


# --------------------------------------------------------------------------- frames


def _frame_objects(meta: dict, source: str) -> list[tuple[int, dict]]:
    """(mask id, object) pairs of a frame meta: keys "MASKID_..." or entries with a mask_id."""
    objects = meta.get("objects")
    if isinstance(objects, dict):
        return [(int(key.split("_")[0]), obj) for key, obj in objects.items()]
    if isinstance(objects, list):
        return [(int(obj["mask_id"]), obj) for obj in objects]
    raise ValueError(f"{source}: expected `objects` as a mapping or a list")


def _rotation(quaternion_wxyz) -> np.ndarray:
    q = torch.as_tensor(np.asarray(quaternion_wxyz, float).reshape(4))
    return quaternion_to_matrix(q / q.norm()).numpy()


def _instance(mask_id: int, obj: dict, meta: ObjectMeta, source: str) -> Omni6DPoseInstance:
    oid = obj["meta"]["oid"]
    if oid not in meta.objects:
        raise KeyError(
            f"{source}: object {oid!r} is not in the object meta file (ROPE frames need "
            "Meta/real_obj_meta.json, SOPE frames Meta/obj_meta.json)"
        )
    info = meta.objects[oid]
    scale = np.broadcast_to(np.asarray(obj["meta"]["scale"], float), (3,))
    return Omni6DPoseInstance(
        panoptic_label(info.class_label, mask_id),
        info.class_label,
        _rotation(obj["quaternion_wxyz"]),
        np.asarray(obj["translation"], float).reshape(3),
        scale * info.dimensions,
        info.symmetry.continuous_axis == 1 and not info.symmetry.everything,
        info.symmetry,
    )


def omni6dpose_instances(meta: dict, objects: ObjectMeta, source: str = "meta.json") -> list[Omni6DPoseInstance]:
    """The valid, non-background objects of a frame meta, in mask-id order."""
    return [
        _instance(mask_id, obj, objects, source)
        for mask_id, obj in sorted(_frame_objects(meta, source), key=lambda pair: pair[0])
        if obj.get("is_valid", True) and not obj["meta"].get("is_background", False)
    ]


def image_intrinsics(values: dict, height: int, width: int) -> Intrinsics:
    """The meta's intrinsics for an image of height x width, scaled when it differs (as cutoop's depth2xyz)."""
    sx, sy = width / float(values["width"]), height / float(values["height"])
    fx, fy, cx, cy = (float(values[k]) for k in ("fx", "fy", "cx", "cy"))
    return Intrinsics(fx * sx, fy * sy, cx * sx, cy * sy, width, height)


def read_omni6dpose_frame(prefix: str | Path, objects: ObjectMeta, scene: str, index: int) -> Frame:
    """Read `<prefix>_meta.json`, `_depth.exr` and `_mask.exr` into a Frame."""
    prefix = str(prefix)
    meta = json.loads(Path(prefix + "_meta.json").read_text())
    depth = read_omni6dpose_depth(prefix + "_depth.exr")
    mask_ids = read_omni6dpose_mask(prefix + "_mask.exr")
    if depth.shape != mask_ids.shape:
        raise ValueError(f"{prefix}: depth {depth.shape} and mask {mask_ids.shape} differ in size")
    intrinsics = image_intrinsics(meta["camera"]["intrinsics"], *depth.shape)
    instances = omni6dpose_instances(meta, objects, prefix + "_meta.json")
    return Frame(depth, panoptic_mask(mask_ids, instances), intrinsics, instances, scene, index)


class Omni6DPoseDataset:
    """The frames of ROPE (`rope`) or of SOPE (`sope_train`, `sope_test`), in (scene, frame) order.

    Frame.scene is the scene folder below ROPE/ or SOPE/ with "/" written "-" (so it can
    name files), Frame.index the frame number. `categories` is the object meta file's
    class table; `object_meta` overrides ROOT/Meta/<the split's file>.
    """

    def __init__(self, root: str | Path, split: str = "rope", object_meta: str | Path | None = None):
        if split not in OMNI6DPOSE_SPLITS:
            raise ValueError(f"unknown Omni6DPose split {split!r}; choose one of {sorted(OMNI6DPOSE_SPLITS)}")
        self.root, self.split = Path(root), split
        pattern, meta_name = OMNI6DPOSE_SPLITS[split]
        meta_path = Path(object_meta) if object_meta is not None else self.root / "Meta" / meta_name
        if not meta_path.is_file():
            raise FileNotFoundError(f"{meta_path} not found: the {split} frames need Omni6DPose's Meta/{meta_name}")
        self.objects = load_object_meta(meta_path)
        self.categories = self.objects.categories
        base = self.root / pattern.split("/")[0]
        self.frames = sorted(
            ("-".join(path.parent.relative_to(base).parts), int(match.group(1)), str(path)[: -len("_meta.json")])
            for folder in self.root.glob(pattern)
            for path in folder.rglob("*_meta.json")
            if (match := _FRAME_META.match(path.name))
        )
        if not self.frames:
            raise FileNotFoundError(f"no Omni6DPose frames ({pattern}/.../FRAME_ID_meta.json) under {self.root}")

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i: int) -> Frame:
        scene, index, prefix = self.frames[i]
        return read_omni6dpose_frame(prefix, self.objects, scene, index)
