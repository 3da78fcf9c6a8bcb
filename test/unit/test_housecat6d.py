"""HouseCat6D reader (posediff_ros/data/housecat6d.py) on a two-frame scene written in the dataset's layout."""

import pickle

import numpy as np
import pytest
from PIL import Image

from posediff_ros import evaluate
from posediff_ros.checkpoint import save_checkpoint
from posediff_ros.data.housecat6d import (
    HOUSECAT6D_CATEGORIES,
    HouseCat6DDataset,
    housecat6d_instances,
    read_housecat6d_frame,
)
from posediff_ros.labels import split_panoptic_label
from posediff_ros.model import PoseNet
from posediff_ros.train_config import TrainConfig
from posediff_ros.train_data import run_categories, training_frames

K = np.array([[900.0, 0.0, 5.5], [0.0, 910.0, 3.5], [0.0, 0.0, 1.0]])
W, H = 12, 8
QUARTER_TURN_Y = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])


def label_dict(shift: float) -> dict:
    """A bottle (class 2, mask value 1) and a cup (class 4, mask value 3)."""
    return {
        "class_ids": [2, 4],
        "instance_ids": [1, 3],
        "rotations": np.stack([np.eye(3), QUARTER_TURN_Y]).astype(np.float32),
        "translations": np.array([[0.1, -0.05, 0.6 + shift], [-0.2, 0.0, 0.8]], np.float32),
        "gt_scales": np.array([[0.07, 0.25, 0.07], [0.09, 0.1, 0.12]], np.float32),
        "bboxes": np.array([[0, 0, 4, 6], [0, 6, 8, 12]]),
    }


def write_frame(scene, index: int, shift: float) -> None:
    name = f"{index:06d}"
    depth = np.full((H, W), 600 + index, np.uint16)
    depth[0, 0] = 0
    Image.fromarray(depth).save(scene / "depth" / f"{name}.png")
    mask = np.zeros((H, W, 3), np.uint8)
    mask[:4, :6, 0] = 1  # ids in the red channel; green and blue hold other values
    mask[:, 6:, 0] = 3
    mask[..., 1] = 200
    mask[7, 0, 0] = 9  # an id without ground truth
    Image.fromarray(mask).save(scene / "instance" / f"{name}.png")
    with open(scene / "labels" / f"{name}_label.pkl", "wb") as f:
        pickle.dump(label_dict(shift), f)


@pytest.fixture
def root(tmp_path):
    for scene_name, frames in (("test_scene1", 2), ("scene01", 1)):
        scene = tmp_path / scene_name
        for sub in ("depth", "instance", "labels", "rgb"):
            (scene / sub).mkdir(parents=True)
        np.savetxt(scene / "intrinsics.txt", K)
        for index in range(frames):
            write_frame(scene, index, 0.01 * index)
    return tmp_path


def test_test_split_reads_metres_poses_labels_and_intrinsics(root):
    dataset = HouseCat6DDataset(root, "test")
    assert len(dataset) == 2
    frame = dataset[1]
    assert (frame.scene, frame.index) == ("test_scene1", 1)
    assert frame.depth.dtype == np.float32
    assert frame.depth[1, 1] == pytest.approx(0.601) and frame.depth[0, 0] == 0
    i = frame.intrinsics
    assert (i.fx, i.fy, i.cx, i.cy, i.width, i.height) == (900.0, 910.0, 5.5, 3.5, W, H)
    bottle, cup = frame.instances
    assert (bottle.label, bottle.category, cup.label, cup.category) == (2001, 2, 4003, 4)
    np.testing.assert_allclose(bottle.t, [0.1, -0.05, 0.61], atol=1e-6)
    np.testing.assert_allclose(cup.R, QUARTER_TURN_Y, atol=1e-6)
    np.testing.assert_allclose(cup.size, [0.09, 0.1, 0.12], atol=1e-6)
    assert bottle.symmetric and not cup.symmetric
    assert frame.mask[0, 0] == 2001 and frame.mask[5, 7] == 4003
    assert frame.mask[7, 0] == 0 and frame.mask[6, 2] == 0  # unlabelled id and background


def test_splits_pick_their_scene_folders(root):
    assert [f.scene for f in (HouseCat6DDataset(root, "train")[0],)] == ["scene01"]
    with pytest.raises(FileNotFoundError, match="val"):
        HouseCat6DDataset(root, "val")
    with pytest.raises(ValueError, match="unknown HouseCat6D split"):
        HouseCat6DDataset(root, "real_test")


def test_category_table_is_the_toolbox_ids_with_round_objects_symmetric():
    assert HOUSECAT6D_CATEGORIES.names == [
        "box", "bottle", "can", "cup", "remote", "teapot", "cutlery", "glass", "shoe", "tube",
    ]  # fmt: skip
    assert [c.name for c in HOUSECAT6D_CATEGORIES if c.continuous_about_y] == ["bottle", "can", "glass"]
    assert HouseCat6DDataset.categories is HOUSECAT6D_CATEGORIES


def test_labels_follow_the_panoptic_convention():
    instances = housecat6d_instances(label_dict(0.0))
    assert [split_panoptic_label(inst.label) for inst in instances] == [(2, 1), (4, 3)]


def test_missing_label_keys_are_named(root):
    with pytest.raises(KeyError, match="gt_scales"):
        housecat6d_instances(
            {"class_ids": [1], "instance_ids": [1], "rotations": [np.eye(3)], "translations": [[0, 0, 1]]}
        )
    (root / "test_scene1" / "intrinsics.txt").write_text("1 2 3\n")
    with pytest.raises(ValueError, match="3x3"):
        read_housecat6d_frame(root / "test_scene1", 0)


def test_train_and_evaluate_read_it_with_its_table(root, tmp_path):
    config = TrainConfig(data="housecat6d", data_dir=str(root))
    assert run_categories(config, training_frames(config)[1]) == HOUSECAT6D_CATEGORIES
    checkpoint = tmp_path / "housecat.pt"
    save_checkpoint(checkpoint, PoseNet(), categories=HOUSECAT6D_CATEGORIES.as_entries())
    summary = evaluate.run(["--housecat6d", str(root), "--checkpoint", str(checkpoint), "--device", "cpu"])
    assert set(summary["table"]["per_category"]) == {"bottle", "cup"} and summary["instances"] == 4
    assert "HouseCat6D test" in summary["dataset"]
    nocs = tmp_path / "nocs.pt"
    save_checkpoint(nocs, PoseNet())  # id 2 is a bowl there, a bottle in HouseCat6D
    with pytest.raises(SystemExit, match="id 2 is bottle in the dataset's table but bowl"):
        evaluate.run(["--housecat6d", str(root), "--checkpoint", str(nocs), "--device", "cpu"])
