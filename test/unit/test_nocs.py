"""The NOCS reader on a small fixture written here in the NOCS/SPD layout.

Two frames: a REAL275 frame (uint16 depth, greyscale mask, a test-style label.pkl with
only sRT `poses`, `size` and `handle_visibility`) and a CAMERA25 frame (3-channel depth
with 32001 background, colour mask, a train-style label.pkl with scales/rotations/
translations, and a class-0 distractor). Every object is a fronto-parallel plate
centred on its ground-truth translation, so back-projected points must land there.
"""

import json
import pickle

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.spatial.transform import Rotation

from posediff_ros.checkpoint import save_checkpoint
from posediff_ros.data.layout import write_png16
from posediff_ros.data.nocs import NocsDataset, read_nocs_depth
from posediff_ros.data.objects import FrameObjects, MixedFrames
from posediff_ros.evaluate import run
from posediff_ros.geometry import CAMERA25_INTRINSICS, REAL275_INTRINSICS, backproject
from posediff_ros.model import PoseNet

HALF = 12  # plate half-size in pixels: 625 points per object


def plates(intrinsics, objects):
    """Depth (mm, uint16) and instance-id mask (255 background) with one plate per (inst_id, t)."""
    depth = np.zeros((intrinsics.height, intrinsics.width), np.uint16)
    mask = np.full(depth.shape, 255, np.uint8)
    for inst_id, t in objects:
        u = int(round(intrinsics.fx * t[0] / t[2] + intrinsics.cx))
        v = int(round(intrinsics.fy * t[1] / t[2] + intrinsics.cy))
        depth[v - HALF : v + HALF + 1, u - HALF : u + HALF + 1] = round(t[2] * 1000)
        mask[v - HALF : v + HALF + 1, u - HALF : u + HALF + 1] = inst_id
    return depth, mask


def rotations(n, seed):
    return Rotation.random(n, random_state=seed).as_matrix().astype(np.float32)


REAL = {  # bottle, mug without visible handle, camera
    "class_ids": np.array([1, 6, 3]),
    "instance_ids": [1, 2, 4],
    "model_list": ["bottle_a", "mug_b", "camera_c"],
    "scales": np.array([0.25, 0.18, 0.2], np.float32),
    "R": rotations(3, 0),
    "t": np.array([[-0.1, 0.05, 0.7], [0.12, -0.04, 0.8], [0.0, 0.1, 0.9]], np.float32),
    "size": np.array([[0.3, 0.9, 0.3], [0.6, 0.5, 0.6], [0.7, 0.5, 0.5]]),
    "handle_visibility": np.array([1, 0, 1]),
}
CAMERA = {  # mug (no handle information: counts as visible) and bowl
    "class_ids": [6, 2],
    "instance_ids": [3, 7],
    "model_list": ["mug_d", "bowl_e"],
    "scales": np.array([0.15, 0.3], np.float32),
    "R": rotations(2, 1),
    "t": np.array([[0.05, 0.0, 0.6], [-0.15, -0.1, 1.0]], np.float32),
}


@pytest.fixture(scope="module")
def nocs_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("nocs")
    # REAL275 test frame: test-style label with sRT poses only.
    frame = root / "Real" / "test" / "scene_1"
    frame.mkdir(parents=True)
    depth, mask = plates(REAL275_INTRINSICS, zip(REAL["instance_ids"], REAL["t"], strict=True))
    write_png16(frame / "0003_depth.png", depth)
    Image.fromarray(mask).save(frame / "0003_mask.png")
    (frame / "0003_meta.txt").write_text("1 1 bottle_a\n2 6 mug_b\n4 3 camera_c\n")
    poses = np.tile(np.eye(4, dtype=np.float32), (3, 1, 1))
    poses[:, :3, :3] = REAL["scales"][:, None, None] * REAL["R"]
    poses[:, :3, 3] = REAL["t"]
    label = {k: REAL[k] for k in ("class_ids", "instance_ids", "model_list", "size", "handle_visibility")}
    (frame / "0003_label.pkl").write_bytes(pickle.dumps({**label, "poses": poses}))
    (root / "Real" / "test_list.txt").write_text("test/scene_1/0003\n")

    # CAMERA25 val frame: 3-channel depth (G * 256 + R, 32001 = none), colour mask, distractor.
    frame = root / "CAMERA" / "val" / "00042"
    frame.mkdir(parents=True)
    depth, mask = plates(
        CAMERA25_INTRINSICS, [*zip(CAMERA["instance_ids"], CAMERA["t"], strict=True), (5, [0.2, 0.15, 0.7])]
    )
    depth = np.where(depth == 0, 32001, depth)
    rgb = np.stack((depth % 256, depth // 256, np.full_like(depth, 77)), axis=-1).astype(np.uint8)
    Image.fromarray(rgb).save(frame / "0001_depth.png")
    Image.fromarray(np.stack((mask, np.full_like(mask, 9), 255 - mask), axis=-1)).save(frame / "0001_mask.png")
    (frame / "0001_meta.txt").write_text("3 6 03797390 mug_d\n7 2 02880940 bowl_e\n5 0 0 distractor\n")
    label = {k: CAMERA[k] for k in ("class_ids", "instance_ids", "model_list", "scales")}
    label.update(rotations=CAMERA["R"], translations=CAMERA["t"])
    (frame / "0001_label.pkl").write_bytes(pickle.dumps(label))
    (root / "CAMERA" / "val_list.txt").write_text("val/00042/0001\n")
    return root


def check_instances(frame, truth, sizes, symmetric):
    labels = [c * 1000 + k for c, k in zip(truth["class_ids"], truth["instance_ids"], strict=True)]
    assert [i.label for i in frame.instances] == labels
    assert [i.category for i in frame.instances] == list(truth["class_ids"])
    assert [i.symmetric for i in frame.instances] == symmetric
    for inst, R, t, size in zip(frame.instances, truth["R"], truth["t"], sizes, strict=True):
        np.testing.assert_allclose(inst.R @ inst.R.T, np.eye(3), atol=1e-12)  # scale divided out, orthonormal
        np.testing.assert_allclose(inst.R, R, atol=1e-5)
        np.testing.assert_allclose(inst.t, t, atol=1e-6)
        np.testing.assert_allclose(inst.size, size, rtol=1e-5)
        points = backproject(frame.depth, frame.mask == inst.label, frame.intrinsics)
        assert len(points) == (2 * HALF + 1) ** 2
        np.testing.assert_allclose(points.mean(0), t, atol=2e-3)  # the plate is centred on t (pixel rounding)


def test_real275_frame(nocs_root):
    dataset = NocsDataset(nocs_root, "real_test")
    assert len(dataset) == 1
    frame = dataset[0]
    assert (frame.scene, frame.index, frame.intrinsics) == ("scene_1", 3, REAL275_INTRINSICS)
    check_instances(frame, REAL, REAL["scales"][:, None] * REAL["size"], [True, True, False])
    assert set(np.unique(frame.mask)) == {0, 1001, 6002, 3004}


def test_camera25_frame(nocs_root):
    with pytest.warns(UserWarning, match="size set to NaN"):
        frame = NocsDataset(nocs_root, "camera_val")[0]
    assert (frame.scene, frame.index, frame.intrinsics) == ("00042", 1, CAMERA25_INTRINSICS)
    check_instances(frame, CAMERA, np.full((2, 3), np.nan), [False, True])
    assert set(np.unique(frame.mask)) == {0, 6003, 2007}  # the class-0 distractor is background
    raw = read_nocs_depth(nocs_root / "CAMERA" / "val" / "00042" / "0001_depth.png")
    assert raw[0, 0] == 0 and raw[frame.mask == 2007].max() == np.float32(1.0)

    extents = {"mug_d": np.array([0.5, 0.6, 0.6]), "bowl_e": np.array([0.8, 0.3, 0.8])}
    frame = NocsDataset(nocs_root, "camera_val", model_sizes=extents)[0]
    np.testing.assert_allclose(
        [i.size for i in frame.instances], CAMERA["scales"][:, None] * np.stack(list(extents.values())), rtol=1e-6
    )


def test_missing_lists_explain_preprocessing(tmp_path):
    with pytest.raises(FileNotFoundError, match="SPD"):
        NocsDataset(tmp_path, "real_train")


def test_training_samples(nocs_root):
    objects = FrameObjects(NocsDataset(nocs_root, "real_test"), seed=3)
    sample = objects[0]
    assert set(sample) == {"points", "R", "t", "size", "category", "symmetric"}
    assert sample["points"].shape == (1024, 3) and sample["points"].dtype == torch.float32
    assert sample["R"].dtype == sample["t"].dtype == sample["size"].dtype == torch.float32
    assert sample["category"].dtype == torch.int64 and sample["symmetric"].dtype == torch.bool
    k = list(REAL["class_ids"]).index(int(sample["category"]))
    assert torch.allclose(sample["points"].mean(0), torch.from_numpy(REAL["t"][k]), atol=2e-3)
    assert torch.equal(objects[0]["points"], sample["points"])  # reproducible per (seed, epoch, item)


def test_evaluate_on_nocs(nocs_root, tmp_path):
    checkpoint = tmp_path / "untrained.pt"
    save_checkpoint(checkpoint, PoseNet())
    out = tmp_path / "summary.json"
    run(
        [
            "--nocs",
            str(nocs_root),
            "--nocs-split",
            "real_test",
            "--checkpoint",
            str(checkpoint),
            "--device",
            "cpu",
            "--json",
            str(out),
        ]
    )
    summary = json.loads(out.read_text())
    assert (summary["frames"], summary["instances"], summary["skipped"]) == (1, 3, 0)
    assert sorted(summary["table"]["per_category"]) == ["bottle", "camera", "mug"]


def test_mixed_frames_keep_the_ratio_and_cover_every_frame():
    camera, real = [f"c{i}" for i in range(9)], [f"r{i}" for i in range(2)]
    mixed = MixedFrames([camera, real], [3, 1])
    items = [mixed[i] for i in range(len(mixed))]
    assert len(mixed) == 12 and items[:9] == camera  # the first collection appears exactly once
    assert items[9:] == ["r0", "r1", "r0"]  # the smaller one repeats to fill its quarter
    with pytest.raises(ValueError, match="positive weight"):
        MixedFrames([camera, real], [3])


def test_training_on_mixed_nocs_splits(nocs_root, tmp_path):
    from test_train import SMALL

    from posediff_ros.train import main as train

    train(
        [
            f"out={tmp_path}",
            "data=nocs",
            f"data_dir={nocs_root}",
            "nocs_split=real_test+camera_val",
            "nocs_mix=[3, 1]",
            "stage=pretrain",
            "steps=2",
            *SMALL,
            "batch_size=2",
            "val_samples=4",
        ]
    )
    assert (tmp_path / "pretrain" / "model.pt").is_file()
