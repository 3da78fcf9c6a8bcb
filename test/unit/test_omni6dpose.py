"""Omni6DPose reader (posediff_ros/data/omni6dpose.py) on ROPE/SOPE frames written in the dataset's layout.

The EXR files are written here from the OpenEXR file layout (uncompressed or ZIP), so the
pure reader is tested without the optional `openexr` package.
"""

import json
import struct
import zlib

import numpy as np
import pytest

from posediff_ros import evaluate
from posediff_ros.checkpoint import save_checkpoint
from posediff_ros.data.omni6dpose import (
    Omni6DPoseDataset,
    category_name,
    class_symmetry,
    image_intrinsics,
    load_object_meta,
    read_exr,
    read_exr_pure,
    read_omni6dpose_mask,
)
from posediff_ros.model import PoseNet
from posediff_ros.symmetry import ABOUT_Y, Symmetry

EXR_TYPES = {np.dtype(np.uint32): 0, np.dtype(np.float16): 1, np.dtype(np.float32): 2}
W, H = 8, 20  # more rows than one 16-line ZIP chunk
QUARTER_TURN_Y = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
Q_QUARTER_TURN_Y = [np.cos(np.pi / 4), 0.0, np.sin(np.pi / 4), 0.0]  # w, x, y, z


def _attribute(name: str, kind: str, value: bytes) -> bytes:
    return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value


def _zip(raw: bytes) -> bytes:
    """EXR's ZIP coding: even bytes then odd bytes, byte deltas + 128, deflate."""
    t = np.frombuffer(raw, np.uint8)
    t = np.concatenate([t[0::2], t[1::2]]).astype(np.int64)
    t[1:] = (t[1:] - t[:-1] + 128) % 256
    return zlib.compress(t.astype(np.uint8).tobytes())


def write_exr(path, channels: dict, compress: bool = False) -> None:
    names = sorted(channels)  # EXR stores channels in name order
    height, width = channels[names[0]].shape
    chlist = b"".join(n.encode() + b"\0" + struct.pack("<iB3xii", EXR_TYPES[channels[n].dtype], 0, 1, 1) for n in names)
    window = struct.pack("<4i", 0, 0, width - 1, height - 1)
    header = (
        struct.pack("<ii", 20000630, 2)
        + b"".join(
            (
                _attribute("channels", "chlist", chlist + b"\0"),
                _attribute("compression", "compression", bytes([3 if compress else 0])),
                _attribute("dataWindow", "box2i", window),
                _attribute("displayWindow", "box2i", window),
                _attribute("lineOrder", "lineOrder", b"\0"),
                _attribute("pixelAspectRatio", "float", struct.pack("<f", 1.0)),
                _attribute("screenWindowCenter", "v2f", struct.pack("<2f", 0.0, 0.0)),
                _attribute("screenWindowWidth", "float", struct.pack("<f", 1.0)),
            )
        )
        + b"\0"
    )
    lines = 16 if compress else 1
    chunks = []
    for y in range(0, height, lines):
        raw = b"".join(channels[n][row].astype(channels[n].dtype.newbyteorder("<")).tobytes()
                       for row in range(y, min(y + lines, height)) for n in names)  # fmt: skip
        data = _zip(raw) if compress else raw
        data = data if len(data) < len(raw) else raw
        chunks.append(struct.pack("<ii", y, len(data)) + data)
    offsets, pos = [], len(header) + 8 * len(chunks)
    for chunk in chunks:
        offsets.append(pos)
        pos += len(chunk)
    path.write_bytes(header + struct.pack(f"<{len(chunks)}Q", *offsets) + b"".join(chunks))


def object_entry(label: int, name: str, dimensions: list, **axes) -> dict:
    """An instance_dict entry; `axes` are its SymLabel words (none where not given)."""
    symmetry = {"any": False, "x": "none", "y": "none", "z": "none"} | axes
    return {"class_label": label, "class_name": name, "dimensions": dimensions, "tag": {"symmetry": symmetry}}


OBJECT_META = {
    "class_list": [
        {"name": "bottle", "label": 1, "instance_ids": ["b1", "b2"], "stat": {}},
        {"name": "juice box", "label": 2, "instance_ids": ["j1", "j2", "j3"], "stat": {}},
        {"name": "table", "label": 3, "instance_ids": ["t1"], "stat": {}},
    ],
    "instance_dict": {
        "b1": object_entry(1, "bottle", [60, 200, 60], y="any"),
        "b2": object_entry(1, "bottle", [70, 210, 70], y="any"),
        "j1": object_entry(2, "juice box", [60, 100, 40], y="half"),
        "j2": object_entry(2, "juice box", [60, 100, 40], y="half"),
        "j3": object_entry(2, "juice box", [50, 50, 50], y="quarter"),
        "t1": object_entry(3, "table", [1000, 700, 1000]),
    },
}


def frame_meta(shift: float) -> dict:
    def obj(oid, label, scale, q, t, valid=True, background=False):
        meta = {"oid": oid, "class_name": "", "class_label": label, "instance_path": f"{oid}.obj", "scale": scale,
                "is_background": background, "bbox_side_len": [0, 0, 0]}  # fmt: skip
        return {"meta": meta, "quaternion_wxyz": q, "translation": t, "is_valid": valid, "id": 0}

    return {
        "camera": {"intrinsics": {"fx": 600.0, "fy": 610.0, "cx": 3.5, "cy": 9.5, "width": W, "height": H}},
        "objects": {
            "1_b2": obj("b2", 1, [0.001] * 3, [1.0, 0.0, 0.0, 0.0], [0.0, 0.1, 0.5 + shift]),
            "2_j3": obj("j3", 2, 0.002, Q_QUARTER_TURN_Y, [0.05, 0.0, 0.7]),
            "3_t1": obj("t1", 3, [0.001] * 3, [1.0, 0.0, 0.0, 0.0], [0.0, 0.3, 1.0], background=True),
            "4_j1": obj("j1", 2, [0.001] * 3, [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.9], valid=False),
        },
        "scene_dataset": "test",
    }


def write_omni_frame(folder, name: str, shift: float, compress: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}_meta.json").write_text(json.dumps(frame_meta(shift)))
    depth = np.full((H, W), 0.5 + shift, np.float32)
    depth[0, 0] = np.inf  # no return
    write_exr(folder / f"{name}_depth.exr", {"B": depth, "G": np.zeros_like(depth), "R": np.ones_like(depth)}, compress)
    ids = np.zeros((H, W), np.float32)
    ids[:10, :4], ids[:10, 4:], ids[10:, :4], ids[10:, 4:] = 1, 2, 3, 4
    mask = (ids / 255).astype(np.float16)
    write_exr(folder / f"{name}_mask.exr", {"R": mask, "G": mask, "B": mask}, compress)


@pytest.fixture
def root(tmp_path):
    (tmp_path / "Meta").mkdir()
    for name in ("real_obj_meta.json", "obj_meta.json"):
        (tmp_path / "Meta" / name).write_text(json.dumps(OBJECT_META))
    for index in range(2):
        write_omni_frame(tmp_path / "ROPE" / "000007", f"{index:06d}", 0.01 * index, compress=bool(index))
    write_omni_frame(tmp_path / "SOPE" / "p01" / "train" / "kitchen" / "0003", "0002", 0.0, compress=True)
    return tmp_path


def test_rope_frames_in_metres_with_poses_sizes_and_labels(root):
    dataset = Omni6DPoseDataset(root, "rope")
    assert len(dataset) == 2
    frame = dataset[1]  # ZIP-compressed files
    assert (frame.scene, frame.index) == ("000007", 1)
    assert frame.depth[5, 5] == pytest.approx(0.51) and frame.depth[0, 0] == 0
    i = frame.intrinsics
    assert (i.fx, i.fy, i.cx, i.cy, i.width, i.height) == (600.0, 610.0, 3.5, 9.5, W, H)
    bottle, box = frame.instances  # the background table and the invalid object are left out
    assert (bottle.label, bottle.category, box.label, box.category) == (1001, 1, 2002, 2)
    np.testing.assert_allclose(bottle.t, [0.0, 0.1, 0.51])
    np.testing.assert_allclose(bottle.R, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(box.R, QUARTER_TURN_Y, atol=1e-12)
    np.testing.assert_allclose(bottle.size, [0.07, 0.21, 0.07])
    np.testing.assert_allclose(box.size, [0.1, 0.1, 0.1])  # a scalar scale times the object's dimensions
    assert frame.mask[0, 0] == 1001 and frame.mask[0, 7] == 2002
    assert frame.mask[15, 0] == 0 and frame.mask[15, 7] == 0


def test_symmetry_per_object_and_per_class(root):
    frame = Omni6DPoseDataset(root, "rope")[0]
    bottle, box = frame.instances
    assert bottle.symmetry == ABOUT_Y and bottle.symmetric
    assert box.symmetry == Symmetry(y=4) and not box.symmetric  # j3 differs from its class
    table = Omni6DPoseDataset(root, "rope").categories
    assert table.names == ["bottle", "juice_box", "table"]
    assert table.by_name("bottle").continuous_about_y
    assert table.by_name("juice_box").symmetry == Symmetry(y=2)  # two of its three objects
    assert table.by_name("table").symmetry.none


def test_sope_split_and_scene_names(root):
    dataset = Omni6DPoseDataset(root, "sope_train")
    assert len(dataset) == 1
    frame = dataset[0]
    assert (frame.scene, frame.index) == ("p01-train-kitchen-0003", 2)
    assert [inst.label for inst in frame.instances] == [1001, 2002]
    with pytest.raises(FileNotFoundError, match="no Omni6DPose frames"):
        Omni6DPoseDataset(root, "sope_test")


def test_bad_input_is_named(root):
    with pytest.raises(ValueError, match="unknown Omni6DPose split"):
        Omni6DPoseDataset(root, "rope_test")
    with pytest.raises(FileNotFoundError, match="real_obj_meta.json"):
        Omni6DPoseDataset(root, "rope", object_meta=root / "missing.json")
    meta = json.loads(json.dumps(OBJECT_META))
    del meta["instance_dict"]["b2"]
    (root / "Meta" / "real_obj_meta.json").write_text(json.dumps(meta))
    with pytest.raises(KeyError, match="'b2' is not in the object meta file"):
        Omni6DPoseDataset(root, "rope")[0]
    meta["instance_dict"]["b1"]["tag"]["symmetry"]["y"] = "third"
    (root / "Meta" / "real_obj_meta.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="'b1'"):
        load_object_meta(root / "Meta" / "real_obj_meta.json")
    (root / "not.exr").write_bytes(b"P6 not an exr file")
    with pytest.raises(ValueError, match="not an OpenEXR file"):
        read_exr_pure(root / "not.exr")


@pytest.mark.parametrize("compress", [False, True])
def test_pure_exr_reader_reads_every_pixel_type(tmp_path, compress):
    rng = np.random.default_rng(0)
    channels = {
        "A": rng.random((H, W)).astype(np.float32),
        "H": rng.random((H, W)).astype(np.float16),
        "U": rng.integers(0, 2**31, (H, W)).astype(np.uint32),
        "Z": np.zeros((H, W), np.float32),  # compresses well: the ZIP path
    }
    write_exr(tmp_path / "t.exr", channels, compress)
    images = read_exr_pure(tmp_path / "t.exr")
    assert images["H"].dtype == np.float32
    for name, values in channels.items():
        np.testing.assert_array_equal(images[name], values.astype(images[name].dtype))


def test_mask_ids_round_from_half_floats(tmp_path):
    ids = np.arange(256, dtype=np.float32).reshape(16, 16)
    write_exr(tmp_path / "m.exr", {"R": (ids / 255).astype(np.float16)})
    np.testing.assert_array_equal(read_omni6dpose_mask(tmp_path / "m.exr"), ids.astype(np.int32))


def test_openexr_package_reads_the_same(tmp_path):
    import OpenEXR  # noqa: F401 (requirements-dev.txt: read_exr then uses it, not the pure reader)

    channels = {"B": np.linspace(0, 2, W * H, dtype=np.float32).reshape(H, W), "R": np.ones((H, W), np.float16)}
    write_exr(tmp_path / "t.exr", channels, compress=True)
    library, pure = read_exr(tmp_path / "t.exr"), read_exr_pure(tmp_path / "t.exr")
    for name in channels:
        np.testing.assert_array_equal(np.asarray(library[name], np.float32), pure[name])


def test_intrinsics_scale_with_the_image_and_names_become_words():
    i = image_intrinsics({"fx": 900, "fy": 900, "cx": 640, "cy": 360, "width": 1280, "height": 720}, 360, 640)
    assert (i.fx, i.fy, i.cx, i.cy, i.width, i.height) == (450, 450, 320, 180, 640, 360)
    assert [category_name(n) for n in ("toy car", "t-shirt", "3d_glasses")] == ["toy_car", "t_shirt", "_3d_glasses"]
    assert class_symmetry([]).none and class_symmetry([Symmetry(z=2), ABOUT_Y]) == Symmetry(z=2)


def test_evaluate_reports_vus_beside_the_accuracies(root, tmp_path, capsys):
    dataset = Omni6DPoseDataset(root, "rope")
    checkpoint = tmp_path / "omni.pt"
    save_checkpoint(checkpoint, PoseNet(), categories=dataset.categories.as_entries())
    summary = evaluate.run(["--omni6dpose", str(root), "--checkpoint", str(checkpoint), "--device", "cpu"])
    assert set(summary["vus"]["per_category"]) == set(summary["table"]["per_category"])
    assert "vus_10deg5cm" in summary["vus"]["mean"] and "vus_10deg5cm" in capsys.readouterr().out
