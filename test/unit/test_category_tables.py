"""The category table travels with the checkpoint (docs/conventions.md §1): the Python API,
the node's parameters and `evaluate` take it from there, and the node's `categories`
parameter maps a segmenter's ids to the checkpoint's names. No ROS needed except where
marked: the node's table is built by pure functions of ros/parameters.py.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from posediff_ros.categories import NOCS_CATEGORIES, Category, CategoryTable
from posediff_ros.checkpoint import save_checkpoint
from posediff_ros.data.layout import FrameInstance, write_frame
from posediff_ros.estimator import PoseEstimator
from posediff_ros.evaluate import CategoryMismatch, run, score_frame
from posediff_ros.geometry import Intrinsics
from posediff_ros.labels import LabelEncoding
from posediff_ros.model import PoseNet
from posediff_ros.ros.parameters import (
    PARAMETERS,
    ModelParameters,
    NodeParameters,
    ObjectParameters,
    load_engine,
    node_categories,
)
from posediff_ros.symmetry import Symmetry

WORKSHOP = CategoryTable(
    [Category(7, "tote", Symmetry.parse("z2")), Category(9, "bracket"), Category(11, "pipe", Symmetry.parse("y"))]
)
SMALL = Intrinsics(200.0, 200.0, 31.5, 23.5, 64, 48)


@pytest.fixture(scope="module")
def workshop_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "workshop.pt"
    save_checkpoint(path, PoseNet(), categories=WORKSHOP.as_entries())
    return path


# ----------------------------------------------------------------------------- Python API


def test_the_engine_takes_the_checkpoints_table(workshop_checkpoint, tmp_path):
    estimator = PoseEstimator.from_checkpoint(workshop_checkpoint, device="cpu")
    assert estimator.categories == WORKSHOP
    assert estimator.categories.by_id(7).symmetry == Symmetry(z=2)

    given = CategoryTable([Category(3, "tote")])
    assert PoseEstimator.from_checkpoint(workshop_checkpoint, device="cpu", categories=given).categories == given
    save_checkpoint(tmp_path / "old.pt", PoseNet())  # written before tables were stored
    assert PoseEstimator.from_checkpoint(tmp_path / "old.pt", device="cpu").categories == NOCS_CATEGORIES


def test_the_engine_names_objects_by_the_checkpoints_table(workshop_checkpoint):
    depth = np.zeros((SMALL.height, SMALL.width), np.float32)
    labels = np.zeros(depth.shape, np.int32)
    depth[5:20, 5:20], labels[5:20, 5:20] = 0.6, 7001
    depth[25:40, 30:45], labels[25:40, 30:45] = 0.7, 1001  # NOCS's bottle id: not this checkpoint's
    result = PoseEstimator.from_checkpoint(workshop_checkpoint, device="cpu").estimate(depth, labels, SMALL)
    assert [(o.label, o.category) for o in result.objects] == [(7001, "tote")]
    assert [s.label for s in result.skipped] == [1001] and "unknown category id 1" in result.skipped[0].reason


# ----------------------------------------------------------------------------- the node's mapping


def test_no_entries_give_the_checkpoints_table():
    assert node_categories((), WORKSHOP) is WORKSHOP


def test_entries_map_mask_ids_to_the_checkpoints_names():
    table = node_categories(("3:tote", "4:bracket"), WORKSHOP)
    assert [(c.id, c.name) for c in table] == [(3, "tote"), (4, "bracket")]
    assert table.by_id(3).symmetry == Symmetry(z=2) and table.by_id(4).symmetry == Symmetry()
    assert 7 not in table and "pipe" not in table  # only the listed ids are known


def test_an_unknown_name_is_refused_with_the_checkpoints_names():
    with pytest.raises(ValueError, match="'crate', not a category of checkpoint x.pt") as error:
        node_categories(("3:tote", "5:crate"), WORKSHOP, "checkpoint x.pt")
    assert "tote, bracket, pipe" in str(error.value)


@pytest.mark.parametrize(
    "entries, message",
    [
        (["3:tote", "3:bracket"], "ids must be unique; repeated: 3"),
        (["3:tote", "4:tote"], "names must be unique; repeated: tote"),
        (["0:tote"], "must be positive"),
        (["tote"], "'tote' is not 'id:name'"),
        (["x:tote"], "'x:tote' is not 'id:name'"),
        (["3:tote:round"], "'3:tote:round' is not 'id:name'"),
        (["3:tote:symmetric"], "'3:tote:symmetric' is not 'id:name'"),  # the symmetry is the checkpoint's
    ],
)
def test_bad_entries_are_refused(entries, message):
    with pytest.raises(ValueError, match=f"parameter categories.*{message}"):
        node_categories(tuple(entries), WORKSHOP)


def parameters(checkpoint: Path, **objects) -> NodeParameters:
    """The node's default parameters on the CPU with `checkpoint`, and `objects` (ObjectParameters)."""
    return NodeParameters(
        model=ModelParameters(model_path=str(checkpoint), device="cpu"), objects=ObjectParameters(**objects)
    )


def test_the_node_engine_has_the_mapped_checkpoint_table(workshop_checkpoint):
    _, engine = load_engine(parameters(workshop_checkpoint))
    assert engine.categories == WORKSHOP
    _, engine = load_engine(parameters(workshop_checkpoint, categories=("3:tote",)))
    assert engine.categories == CategoryTable([Category(3, "tote", Symmetry(z=2))])


def test_instance_category_is_checked_against_the_nodes_table(workshop_checkpoint):
    instance = {"label_encoding": LabelEncoding.INSTANCE, "instance_category": "pipe"}
    _, engine = load_engine(parameters(workshop_checkpoint, **instance))
    assert engine.categories == WORKSHOP
    with pytest.raises(ValueError, match=r"instance_category to be one of \['tote'\], not 'pipe'"):
        load_engine(parameters(workshop_checkpoint, **instance, categories=("3:tote",)))


@pytest.mark.skipif(importlib.util.find_spec("rclpy") is None, reason="rclpy is not installed")
@pytest.mark.parametrize("given", [None, [], ["3:tote", "4:bracket"]])
def test_the_categories_parameter_is_a_list_of_strings_empty_by_default(rclpy_context, tmp_path, given):
    """rclpy types an empty list as bytes; the parameter must still take strings, and [] from a file."""
    import rclpy
    import yaml

    from posediff_ros.ros.parameters import declare, read_parameters

    arguments = []
    if given is not None:
        (tmp_path / "p.yaml").write_text(yaml.safe_dump({"/**": {"ros__parameters": {"categories": given}}}))
        arguments = ["--ros-args", "--params-file", str(tmp_path / "p.yaml")]
    node = rclpy.create_node("posediff_categories", context=rclpy_context, cli_args=arguments)
    try:
        declare(node, PARAMETERS)
        assert read_parameters(node).objects.categories == tuple(given or ())
    finally:
        node.destroy_node()


@pytest.mark.skipif(importlib.util.find_spec("rclpy") is None, reason="rclpy is not installed")
def test_the_node_refuses_an_unknown_name_at_start_up(workshop_checkpoint):
    """One error line and exit code 1, as for the node's other start-up errors (ros/spin.py)."""
    arguments = ["-p", f"model_path:={workshop_checkpoint}", "-p", "device:=cpu", "-p", "categories:=['3:crate']"]
    node = subprocess.run(
        [sys.executable, "-m", "posediff_ros.ros.node", "--ros-args", *arguments],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, RCUTILS_LOGGING_BUFFERED_STREAM="0"),
    )
    lines = (node.stdout + node.stderr).strip().splitlines()
    assert node.returncode == 1 and len(lines) == 1, lines
    assert "cannot start: parameter categories names 'crate'" in lines[0] and "tote, bracket, pipe" in lines[0]


# ----------------------------------------------------------------------------- evaluate


def one_frame_dataset(root, category_id: int):
    """One frame with one object of `category_id` (a plate 60 cm away)."""
    depth = np.zeros((SMALL.height, SMALL.width), np.float32)
    labels = np.zeros(depth.shape, np.int32)
    depth[10:40, 15:50], labels[10:40, 15:50] = 0.6, category_id * 1000 + 1
    truth = FrameInstance(
        category_id * 1000 + 1, category_id, np.eye(3), np.array([0.0, 0.0, 0.6]), np.full(3, 0.1), False
    )
    write_frame(root / "scene_000", 0, depth, labels, SMALL, [truth])
    return root


def evaluate_args(dataset, checkpoint) -> list[str]:
    return ["--data", str(dataset), "--checkpoint", str(checkpoint), "--device", "cpu", "--steps", "2"]


def test_evaluate_reports_per_category_of_the_checkpoints_table(workshop_checkpoint, tmp_path):
    summary = run(evaluate_args(one_frame_dataset(tmp_path, 9), workshop_checkpoint))
    assert list(summary["table"]["per_category"]) == ["bracket"] and summary["instances"] == 1


def test_evaluate_refuses_a_dataset_id_the_table_lacks(workshop_checkpoint, tmp_path):
    with pytest.raises(SystemExit) as error:
        run(evaluate_args(one_frame_dataset(tmp_path, 4), workshop_checkpoint))
    message = str(error.value)
    assert "scene_000:0:4001 has category id 4" in message and "its ids: 7 tote, 9 bracket, 11 pipe" in message


def test_evaluate_refuses_a_dataset_whose_table_disagrees(workshop_checkpoint, tmp_path):
    from posediff_ros.data.layout import write_dataset_categories

    dataset = one_frame_dataset(tmp_path, 7)
    write_dataset_categories(dataset, CategoryTable([Category(7, "crate")]))
    with pytest.raises(SystemExit, match="disagree: id 7 is crate in .* but tote in the checkpoint's"):
        run(evaluate_args(dataset, workshop_checkpoint))


def test_scoring_names_the_id_the_table_lacks(tmp_path):
    from posediff_ros.data.layout import read_frame
    from posediff_ros.estimator import FrameEstimate

    frame = read_frame(one_frame_dataset(tmp_path, 9) / "scene_000", 0, WORKSHOP)
    assert score_frame(frame, FrameEstimate(), WORKSHOP)[0].category == "bracket"
    with pytest.raises(CategoryMismatch, match="category id 9.*its ids: 1 bottle, 2 bowl"):
        score_frame(frame, FrameEstimate(), NOCS_CATEGORIES)
