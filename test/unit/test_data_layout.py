"""On-disk layout (docs/conventions.md §6): PNG round trips, meta, the reader, generate_dataset, determinism."""

import json
from itertools import pairwise

import numpy as np
import pytest
from PIL import Image

from posediff_ros.data.families import HELD_OUT
from posediff_ros.data.generate import main, scene_rng
from posediff_ros.data.layout import (
    FrameInstance,
    SyntheticDataset,
    depth_m_to_mm,
    read_frame,
    read_png16,
    write_frame,
    write_png16,
)
from posediff_ros.data.scene import SceneConfig, sample_scene
from posediff_ros.geometry import Intrinsics, backproject

SMALL = ["--width", "160", "--height", "120"]


def test_png16_round_trip_is_exact(tmp_path):
    image = np.random.default_rng(0).integers(0, 65536, (37, 53)).astype(np.uint16)
    image[0, :3] = (0, 1, 65535)
    write_png16(tmp_path / "a.png", image)
    back = read_png16(tmp_path / "a.png")
    assert back.dtype == np.uint16 and np.array_equal(back, image)


def test_depth_to_mm_rounds_and_marks_invalid():
    depth = np.array([[0.0, 0.0004, 0.0006, 1.2344, np.nan, np.inf, -1.0, 70.0]])
    assert depth_m_to_mm(depth).tolist() == [[0, 0, 1, 1234, 0, 0, 0, 0]]


def test_frame_round_trip_and_extra_files_ignored(tmp_path):
    rng = np.random.default_rng(1)
    intr = Intrinsics(150.1, 150.2, 80.3, 60.4, 160, 120)
    depth = rng.uniform(0.3, 2.0, (120, 160)).astype(np.float32)
    depth[:5] = 0
    labels = np.zeros((120, 160), np.uint16)
    labels[20:50, 30:70] = 6001
    R = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    inst = FrameInstance(6001, 6, R, np.array([0.1, -0.2, 0.9]), np.array([0.12, 0.09, 0.1]), False)
    scene = tmp_path / "scene_000"
    write_frame(scene, 0, depth, labels, intr, [inst])
    write_frame(scene, 1, depth, labels, intr, [])
    (scene / "0000_color.png").write_bytes(b"not read")
    frame = read_frame(scene, 0)
    assert frame.intrinsics == intr and frame.scene == "scene_000" and frame.index == 0
    assert np.abs(frame.depth - depth).max() <= 0.0005 + 1e-6 and (frame.depth[:5] == 0).all()
    assert frame.depth.dtype == np.float32 and np.array_equal(frame.mask, labels)
    (got,) = frame.instances
    assert got.label == 6001 and got.category == 6 and got.symmetric is False
    np.testing.assert_array_equal(got.R, R)
    np.testing.assert_array_equal(got.t, inst.t)
    meta = json.loads((scene / "0000_meta.json").read_text())
    assert set(meta["instances"][0]) == {"label", "category", "R", "t", "size", "symmetric"}
    assert set(meta["intrinsics"]) == {"fx", "fy", "cx", "cy", "width", "height"}
    dataset = SyntheticDataset(tmp_path)
    assert len(dataset) == 2 and dataset[1].instances == []


def test_reader_accepts_category_names(tmp_path):
    scene = tmp_path / "scene_000"
    write_frame(
        scene,
        0,
        np.ones((4, 4), np.float32),
        np.zeros((4, 4), np.uint16),
        Intrinsics(5, 5, 2, 2, 4, 4),
        [FrameInstance(2000, 2, np.eye(3), np.zeros(3), np.ones(3), True)],
    )
    meta_path = scene / "0000_meta.json"
    meta = json.loads(meta_path.read_text())
    meta["instances"][0]["category"] = "bowl"
    meta_path.write_text(json.dumps(meta))
    assert read_frame(scene, 0).instances[0].category == 2


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_generate_dataset_layout_and_determinism(tmp_path):
    args = ["--scenes", "2", "--frames", "3", "--seed", "5", "--overview", "1", *SMALL]
    main(["--out", str(tmp_path / "a"), *args])
    main(["--out", str(tmp_path / "b"), *args])
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    expected = {
        f"scene_{s:03d}/{i:04d}_{kind}"
        for s in range(2)
        for i in range(3)
        for kind in ("depth.png", "mask.png", "meta.json")
    }
    assert expected | {"scene_000/0000_overview.png", "categories.yaml"} == set(a)
    assert a == b  # same seed, same bytes
    with Image.open(tmp_path / "a" / "scene_000" / "0000_overview.png") as im:
        assert im.size == (160, 120) and im.mode == "RGB"
    main(["--out", str(tmp_path / "c"), *args[:4], "--seed", "6", *SMALL])
    c = _files(tmp_path / "c")
    assert c["scene_000/0000_depth.png"] != a["scene_000/0000_depth.png"]
    val = tmp_path / "v"
    main(["--out", str(val), "--scenes", "1", "--seed", "5", "--split", "val", *SMALL])
    assert _files(val)["scene_000/0000_depth.png"] != a["scene_000/0000_depth.png"]


def test_generate_family_split(tmp_path):
    main(["--out", str(tmp_path / "f"), "--scenes", "2", "--frames", "1", "--seed", "5", "--split", "family", *SMALL])
    main(["--out", str(tmp_path / "t"), "--scenes", "2", "--frames", "1", "--seed", "5", "--split", "test", *SMALL])
    dataset = SyntheticDataset(tmp_path / "f")
    assert len(dataset) == 2 and sum(len(f.instances) for f in dataset) > 0
    for frame in dataset:
        assert frame.depth.shape == (120, 160) and frame.mask.shape == (120, 160)
        for inst in frame.instances:
            assert (frame.mask == inst.label).any() and inst.label // 1000 == inst.category
    # The scenes written are those of the split `family`: only held-out families.
    for i in range(2):
        scene = sample_scene(scene_rng(5, "family", i), SceneConfig(), "family")
        assert scene.objects and all(o.shape.family == HELD_OUT[o.shape.category] for o in scene.objects)
    assert _files(tmp_path / "f")["scene_000/0000_depth.png"] != _files(tmp_path / "t")["scene_000/0000_depth.png"]


def test_reader_gives_consistent_frames_and_sequences(tmp_path):
    main(
        [
            "--out",
            str(tmp_path),
            "--scenes",
            "3",
            "--frames",
            "4",
            "--seed",
            "1",
            "--no-depth-noise",
            "--no-mask-noise",
            *SMALL,
        ]
    )
    dataset = SyntheticDataset(tmp_path)
    assert len(dataset) == 12
    for frame in dataset:
        for inst in frame.instances:
            mask = frame.mask == inst.label
            assert mask.any() and (frame.depth[mask] > 0).all()  # masks and depth agree
            # Points lie inside the object's box (mm quantisation of the depth PNG aside).
            x = (backproject(frame.depth, mask, frame.intrinsics) - inst.t) @ inst.R
            assert (np.abs(x) <= 0.5 * inst.size + 0.002).all()
    # Frames of one scene are a smooth trajectory of one static scene.
    frames = dataset.scene_frames("scene_001")
    for f0, f1 in pairwise(frames):
        common = {i.label for i in f0.instances} & {i.label for i in f1.instances}
        assert common
        for label in common:
            a = next(i for i in f0.instances if i.label == label)
            b = next(i for i in f1.instances if i.label == label)
            assert np.array_equal(a.size, b.size)
            angle = np.degrees(np.arccos(np.clip((np.trace(a.R @ b.R.T) - 1) / 2, -1, 1)))
            assert angle < 8 and np.linalg.norm(a.t - b.t) < 0.05


def test_empty_root_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        SyntheticDataset(tmp_path)


def test_generate_with_user_meshes(tmp_path):
    import trimesh  # a runtime requirement (the renderer)

    folder = tmp_path / "meshes" / "can"
    folder.mkdir(parents=True)
    trimesh.creation.cylinder(radius=30.0, height=100.0).apply_transform(
        trimesh.transformations.rotation_matrix(-np.pi / 2, [1, 0, 0])
    ).export(folder / "tin.stl")  # z-up -> y-up
    out = tmp_path / "out"
    main(
        [
            "--out",
            str(out),
            "--scenes",
            "6",
            "--seed",
            "2",
            "--mesh-prob",
            "1",
            "--mesh-scale",
            "0.001",
            "--meshes",
            str(tmp_path / "meshes"),
            "--no-depth-noise",
            "--no-mask-noise",
            *SMALL,
        ]
    )
    cans = [i for f in SyntheticDataset(out) for i in f.instances if i.category == 4]
    assert cans and all(np.allclose(i.size, (0.06, 0.1, 0.06), atol=1e-6) for i in cans)
