"""The evaluator: the CLI end to end on a tiny generated dataset, and the scoring path
fed with ground truth (which must score 100 %)."""

import json
from dataclasses import replace

import numpy as np
import pytest
from matplotlib.image import imread
from scipy.spatial.transform import Rotation

from posediff_ros import checkpoint, paths
from posediff_ros.categories import NOCS_CATEGORIES
from posediff_ros.checkpoint import CheckpointError, checkpoint_file, save_checkpoint
from posediff_ros.confidence import PAYLOAD_KEY, Calibration
from posediff_ros.data import generate
from posediff_ros.data.layout import SyntheticDataset
from posediff_ros.data.overview import CATEGORY_COLOURS, ESTIMATE_COLOUR, estimate_image
from posediff_ros.estimator import FrameEstimate, ObjectPose, SkippedObject
from posediff_ros.evaluate import FAILURE_PICTURES, results_table, run, score_frame
from posediff_ros.metrics import THRESHOLDS, error_pose_changes, jitter_table, threshold_name
from posediff_ros.model import PoseNet
from posediff_ros.plots import relative_yaw_pitch_roll
from posediff_ros.symmetry import ABOUT_Y, NO_SYMMETRY, SymmetryBatch


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    generate.main(
        [
            "--out",
            str(root),
            "--scenes",
            "2",
            "--frames",
            "2",
            "--seed",
            "0",
            "--split",
            "test",
            "--width",
            "320",
            "--height",
            "240",
        ]
    )
    return root


def ground_truth_estimate(frame) -> FrameEstimate:
    return FrameEstimate(objects=[ObjectPose(i.label, "", i.R, i.t, i.size, 500, i.t, False) for i in frame.instances])


def test_cli_outputs(dataset_dir, tmp_path):
    checkpoint = tmp_path / "untrained.pt"
    save_checkpoint(
        checkpoint, PoseNet(), **{PAYLOAD_KEY: Calibration((0.0, 1000.0), (0.9, 0.1), samples=4).as_payload()}
    )
    out = tmp_path / "out"
    run(
        [
            "--data",
            str(dataset_dir),
            "--checkpoint",
            str(checkpoint),
            "--device",
            "cpu",
            "--tracking",
            "--steps",
            "3",
            "--start",
            "regression",
            "--json",
            str(out / "summary.json"),
            "--predictions",
            str(out / "predictions.jsonl"),
            "--plots",
            str(out / "plots"),
        ]
    )
    instances = sum(len(f.instances) for f in map(SyntheticDataset(dataset_dir).__getitem__, range(4)))

    summary = json.loads((out / "summary.json").read_text())
    assert {
        "table",
        "settings",
        "checkpoint",
        "device",
        "frames",
        "instances",
        "skipped",
        "skipped_instances",
        "speed",
        "tracking",
        "plots",
        "plot_instance",
        "confidence",
        "jitter",
    } <= set(summary)
    assert (summary["frames"], summary["instances"], summary["checkpoint"]) == (4, instances, str(checkpoint))
    assert summary["skipped"] == len(summary["skipped_instances"])
    assert summary["table"]["mean"]["count"] == instances
    assert set(summary["table"]["mean"]) >= {threshold_name(d, c) for d, c in THRESHOLDS}
    assert summary["settings"]["steps"] == 3 and summary["tracking"] is True
    assert summary["settings"]["start"] == "regression"
    assert summary["speed"]["fps"] > 0 and summary["speed"]["objects"] == instances - summary["skipped"]

    lines = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(lines) == instances
    assert set(lines[0]) == {
        "scene",
        "frame",
        "label",
        "category",
        "symmetric",
        "R",
        "t",
        "size",
        "rotation_error_deg",
        "translation_error_cm",
        "tracked",
        "skipped",
        "score",
    }
    assert all(np.shape(p["R"]) == (3, 3) for p in lines if p["skipped"] is None)
    scores = [p["score"] for p in lines if p["skipped"] is None]
    assert all(0.1 <= s <= 0.9 for s in scores) and len(set(scores)) > 1
    confidence = summary["confidence"]
    assert confidence["count"] == len(scores) and confidence["mean_score"] == pytest.approx(np.mean(scores))
    assert set(confidence) >= {"auroc", "ece", "accuracy_at_coverage", "reliability"}
    assert summary["jitter"]["mean"]["count"] > 0
    assert set(summary["jitter"]["per_category"]) <= {p["category"] for p in lines}

    for name in ("reliability.png", "jitter.png"):
        assert str(out / "plots" / name) in summary["plots"] and imread(out / "plots" / name)[..., :3].std() > 0.05
    for name in ("accuracy_curves.png", "rotation_samples.png"):
        image = imread(out / "plots" / name)
        assert image.shape[0] > 300 and image.shape[1] > 600
        assert image[..., :3].std() > 0.05  # something was drawn
    failures = sorted((out / "plots").glob("failure_*.png"))
    assert len(failures) == min(FAILURE_PICTURES, instances - summary["skipped"])
    assert [str(f) for f in failures] == sorted(p for p in summary["plots"] if "failure_" in p)
    worst = max(
        (p for p in lines if p["skipped"] is None),
        key=lambda p: max(p["rotation_error_deg"] / 10, p["translation_error_cm"] / 5),
    )
    assert failures[0].name == f"failure_0_{worst['scene']}_{worst['frame']:04d}_{worst['label']}.png"
    assert imread(failures[0]).shape[1] >= 320


def test_estimate_picture_shows_the_estimate_beside_the_truth(dataset_dir):
    frame = SyntheticDataset(dataset_dir)[0]
    truth = frame.instances[0]
    shifted = truth.t + np.array([0.05, 0.0, 0.0])  # 5 cm to the camera's right
    picture = np.asarray(
        estimate_image(frame.depth, frame.mask, frame.intrinsics, truth, truth.R, shifted, truth.size, "caption")
    )
    estimate = np.flatnonzero((picture == ESTIMATE_COLOUR).all(-1).any(0))
    ground_truth = np.flatnonzero((picture == CATEGORY_COLOURS[truth.category]).all(-1).any(0))
    assert picture.shape[1] >= 320 and len(estimate) and len(ground_truth)
    assert estimate.mean() > ground_truth.mean() + 5


def test_ground_truth_scores_perfectly(dataset_dir):
    dataset = SyntheticDataset(dataset_dir)
    results = [
        r
        for i in range(len(dataset))
        for r in score_frame(dataset[i], ground_truth_estimate(dataset[i]), NOCS_CATEGORIES)
    ]
    table = results_table(results)
    for summary in [table["mean"], *table["per_category"].values()]:
        assert all(summary[threshold_name(d, c)] == 1.0 for d, c in THRESHOLDS)
        assert summary["rotation_mean_deg"] < 1e-5 and summary["translation_mean_cm"] < 1e-9


def test_symmetric_spin_and_skipped_instances(dataset_dir):
    frame = SyntheticDataset(dataset_dir)[0]
    estimate = ground_truth_estimate(frame)
    symmetric = next(i for i, inst in enumerate(frame.instances) if inst.symmetric)
    spin = Rotation.from_rotvec([0.0, 2.0, 0.0]).as_matrix()  # about the object's own +y axis
    estimate.objects[symmetric] = replace(estimate.objects[symmetric], R=frame.instances[symmetric].R @ spin)
    missing = estimate.objects.pop(0 if symmetric else 1)
    estimate.skipped.append(SkippedObject(missing.label, "12 valid depth points, fewer than the minimum of 50"))

    results = {r.label: r for r in score_frame(frame, estimate, NOCS_CATEGORIES)}
    assert results[frame.instances[symmetric].label].rotation_error_deg < 1e-5
    failed = results[missing.label]
    assert failed.skipped.startswith("12 valid") and failed.R is None
    assert (failed.rotation_error_deg, failed.translation_error_cm) == (180.0, np.inf)
    table = results_table(list(results.values()))
    assert table["mean"]["count"] == len(frame.instances)
    assert table["per_category"][failed.category]["5deg5cm"] < 1.0


def test_relative_yaw_pitch_roll():
    """D = R_true^T R = Ry(yaw) Rx(pitch) Rz(roll) about the object's axes comes back out."""
    R_true = Rotation.random(random_state=4).as_matrix()
    yaw, pitch, roll = np.array([0.3, -2.5, 3.0, 0.0]), np.array([0.2, -1.2, 1.5, 0.0]), np.array([-0.7, 2.0, 0.1, 0.0])
    R = R_true @ Rotation.from_euler("YXZ", np.stack((yaw, pitch, roll), -1)).as_matrix()  # intrinsic y, x', z''
    np.testing.assert_allclose(np.stack(relative_yaw_pitch_roll(R, R_true)), [yaw, pitch, roll], atol=1e-9)
    # a spin about the symmetry axis +y is pure yaw: symmetric samples lie on the equator
    spin = R_true @ Rotation.from_rotvec([0.0, 1.0, 0.0]).as_matrix()
    np.testing.assert_allclose(np.concatenate(relative_yaw_pitch_roll(spin[None], R_true)), [1.0, 0.0, 0.0], atol=1e-9)


def test_default_model_path(tmp_path, monkeypatch):
    (tmp_path / "share" / "ament_index" / "resource_index" / "packages").mkdir(parents=True)
    (tmp_path / "share" / "ament_index" / "resource_index" / "packages" / "posediff_ros").touch()
    model = tmp_path / "share" / "posediff_ros" / "models" / "posediff_default.pt"
    model.parent.mkdir(parents=True)
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path))
    assert paths.default_model_path() is None or paths.default_model_path() != model  # not there yet
    model.touch()
    assert paths.default_model_path() == model


def test_a_checkpoint_else_the_shipped_model_else_a_clear_error(tmp_path, monkeypatch):
    shipped = tmp_path / "posediff_default.pt"
    monkeypatch.setattr(checkpoint, "default_model_path", lambda: shipped)
    assert checkpoint_file(tmp_path / "mine.pt", "--checkpoint") == tmp_path / "mine.pt"
    assert checkpoint_file(None, "--checkpoint") == checkpoint_file("", "model_path") == shipped
    monkeypatch.setattr(checkpoint, "default_model_path", lambda: None)
    with pytest.raises(CheckpointError, match=r"no model_path given and no shipped model installed \(looked for .*"):
        checkpoint_file("", "model_path")
    with pytest.raises(SystemExit, match="no --checkpoint given"):
        run(["--data", str(tmp_path), "--device", "cpu"])


@pytest.mark.parametrize("source", ["detections", "semantic"])
def test_boxes_and_class_maps_as_the_engine_input(dataset_dir, tmp_path, source):
    """`--mask-source`: the engine sees labels made from boxes or class maps, scored against the
    same ground truth; most instances are found, and their labels are the ground truth's."""
    checkpoint = tmp_path / "untrained.pt"
    save_checkpoint(checkpoint, PoseNet())
    args = ["--data", str(dataset_dir), "--checkpoint", str(checkpoint), "--device", "cpu", "--steps", "2"]
    summary = run([*args, "--mask-source", source, "--box-jitter", "4,0.08"])
    with_masks = run(args)
    assert summary["mask_source"] == source and summary["box_jitter"] == {"shift": 4.0, "scale": 0.08}
    assert summary["instances"] == with_masks["instances"]
    assert summary["skipped"] <= with_masks["skipped"] + 0.2 * summary["instances"]


def test_jitter_counts_the_estimate_moving_against_the_object_not_the_camera():
    rng = np.random.default_rng(0)
    T = 5
    R_true = Rotation.random(T, random_state=1).as_matrix()  # the camera moves around the object
    t_true = rng.normal(size=(T, 3))
    R_error, d_error = Rotation.from_rotvec([0.1, 0.2, 0.0]).as_matrix(), np.array([0.01, 0.0, 0.02])
    R_pred = R_true @ R_error  # a constant error in the object's frame
    t_pred = t_true + np.einsum("tij,j->ti", R_true, d_error)
    still = error_pose_changes(R_pred, t_pred, R_true, t_true, SymmetryBatch.of([NO_SYMMETRY] * T))
    np.testing.assert_allclose(still, 0.0, atol=1e-6)

    R_pred[2] = R_pred[2] @ Rotation.from_rotvec([np.deg2rad(3.0), 0, 0]).as_matrix()  # one frame wobbles
    t_pred[2] += R_true[2] @ np.array([0.0, 0.004, 0.0])
    rotation, translation = error_pose_changes(R_pred, t_pred, R_true, t_true, SymmetryBatch.of([NO_SYMMETRY] * T))
    np.testing.assert_allclose(rotation, [0, 3, 3, 0], atol=1e-6)
    np.testing.assert_allclose(translation, [0, 4, 4, 0], atol=1e-6)

    spun = R_true @ Rotation.from_rotvec(np.outer(np.arange(T), [0, 0.7, 0])).as_matrix()  # about +y only
    about_y, _ = error_pose_changes(spun, t_true, R_true, t_true, SymmetryBatch.of([ABOUT_Y] * T))
    np.testing.assert_allclose(about_y, 0.0, atol=1e-5)
    table = jitter_table(rotation, translation, ["can"] * 4)
    assert table["per_category"]["can"]["rotation_median_deg"] == pytest.approx(1.5)
