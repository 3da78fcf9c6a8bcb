"""Choosing a dataset by name (data/sources.py), as train and evaluate do."""

import numpy as np
import pytest

from posediff_ros.categories import NOCS_CATEGORIES, Category, CategoryTable
from posediff_ros.data.layout import FrameInstance, SyntheticDataset, write_dataset_categories, write_frame
from posediff_ros.data.sources import open_dataset
from posediff_ros.geometry import Intrinsics

SMALL = Intrinsics(10.0, 10.0, 3.5, 2.5, 8, 6)
WORKSHOP = CategoryTable((Category(7, "tote"), Category(9, "bracket")))


def one_frame_dataset(root, categories: CategoryTable | None = None):
    labels = np.zeros((6, 8), np.uint16)
    labels[2:4, 2:5] = 7001
    instance = FrameInstance(7001, 7, np.eye(3), np.array([0.0, 0.0, 0.5]), np.full(3, 0.1), False)
    write_frame(root / "scene_000", 0, np.full((6, 8), 0.5, np.float32), labels, SMALL, [instance])
    if categories is not None:
        write_dataset_categories(root, categories)


def test_a_disk_dataset_comes_with_its_own_table(tmp_path):
    one_frame_dataset(tmp_path, WORKSHOP)
    frames, table = open_dataset("disk", tmp_path)
    assert isinstance(frames, SyntheticDataset) and len(frames) == 1 and table == WORKSHOP
    assert frames[0].instances[0].category == 7
    plain = tmp_path / "plain"
    one_frame_dataset(plain)
    assert open_dataset("disk", plain)[1] == NOCS_CATEGORIES  # no categories.yaml: NOCS


def test_names_splits_and_mixing_weights_are_checked(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'kitti'"):
        open_dataset("kitti", tmp_path)
    with pytest.raises(ValueError, match="need one mixing weight each"):
        open_dataset("nocs", tmp_path, "camera_train+real_train", mix=[3.0])
    with pytest.raises(FileNotFoundError, match="SPD's preprocessing"):
        open_dataset("nocs", tmp_path, "real_test")
