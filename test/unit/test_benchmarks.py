"""The claim benchmarks (benchmarks/claim*.py) end to end on CPU: an untrained checkpoint, a tiny
dataset (1 scene x 2 frames at 160x120), few steps and samples, and tiny training runs.

Only the outputs' presence and shape are checked: an untrained network's numbers mean nothing.
"""

import json
import sys
from pathlib import Path

import pytest
import torch
from matplotlib.image import imread

from posediff_ros import checkpoint, evaluate
from posediff_ros.categories import Category, CategoryTable
from posediff_ros.checkpoint import save_checkpoint
from posediff_ros.data import generate
from posediff_ros.estimator import SamplerSettings
from posediff_ros.metrics import THRESHOLDS, threshold_name
from posediff_ros.model import PoseNet

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import claim1_single_sample  # noqa: E402
import claim2_steps  # noqa: E402
import claim3_scalings  # noqa: E402
import claim4_convergence  # noqa: E402
import common  # noqa: E402
import compare_models  # noqa: E402
import plot_training  # noqa: E402
from test_train import SMALL  # noqa: E402

KEYS = {threshold_name(d, c) for d, c in THRESHOLDS}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[str]:
    """--data and --checkpoint arguments: a tiny held-out dataset and an untrained network."""
    root = tmp_path_factory.mktemp("bench")
    generate.main(
        [
            "--out",
            str(root / "data"),
            "--scenes",
            "1",
            "--frames",
            "2",
            "--seed",
            "1",
            "--split",
            "test",
            "--width",
            "160",
            "--height",
            "120",
        ]
    )
    save_checkpoint(root / "untrained.pt", PoseNet())
    return ["--data", str(root / "data"), "--checkpoint", str(root / "untrained.pt"), "--device", "cpu"]


def outputs(out: Path, pngs: list[str]) -> tuple[dict, str]:
    for name in pngs:
        assert imread(out / name).ndim == 3, name
    return json.loads((out / "results.json").read_text()), (out / "table.md").read_text()


def test_claim1_single_sample(inputs, tmp_path):
    claim1_single_sample.main([*inputs, "--pooled", "2", "--steps", "2", "--track-steps", "1", "--out", str(tmp_path)])
    summary, table = outputs(tmp_path, ["claim1_single_sample.png"])
    assert [r["name"] for r in summary["rows"]] == [
        "K=1 unguided",
        "K=2 unguided, mean-pooled",
        "K=1 guided (exponential)",
        "K=1 guided (exponential), regression start",
    ]
    for row in summary["rows"]:
        for mode, tracking in (("single", False), ("tracking", True)):
            assert row[mode]["tracking"] is tracking and KEYS <= set(row[mode]["table"]["mean"])
            assert row[mode]["speed"]["fps"] > 0
    assert [r["single"]["settings"]["num_samples"] for r in summary["rows"]] == [1, 2, 1, 1]
    scalings = [r["single"]["settings"]["scaling"] for r in summary["rows"]]
    assert scalings == ["none", "none", "exponential", "exponential"]
    assert [r["single"]["settings"]["start"] for r in summary["rows"]] == ["noise"] * 3 + ["regression"]
    assert summary["checkpoint"] == inputs[3] and summary["machine"]
    assert len(table.splitlines()) == 2 + 4 and "5°2cm" in table and " / " in table


def test_claim2_steps(inputs, tmp_path):
    claim2_steps.main([*inputs, "--steps", "2", "1", "--out", str(tmp_path)])
    summary, table = outputs(tmp_path, ["claim2_steps.png"])
    runs = [(r["name"], r["settings"]["steps"], r["settings"]["scaling"]) for r in summary["rows"]]
    assert runs == [
        ("unguided", 2, "none"),
        ("unguided", 1, "none"),
        ("guided", 2, "exponential"),
        ("guided", 1, "exponential"),
    ]
    assert all(KEYS <= set(r["table"]["mean"]) and r["speed"]["fps"] > 0 for r in summary["rows"])
    assert len(table.splitlines()) == 2 + 4


def test_claim3_scalings(inputs, tmp_path):
    claim3_scalings.main([*inputs, "--steps", "2", "--samples", "4", "--objects", "1", "--out", str(tmp_path)])
    summary, table = outputs(tmp_path, ["claim3_scalings.png", "claim3_rotation_samples.png"])
    scalings = ["constant", "linear", "exponential", "none"]
    assert list(summary["accuracy"]) == scalings and list(summary["diversity"]) == scalings
    assert all(KEYS <= set(summary["accuracy"][s]["table"]["mean"]) for s in scalings)
    (entry,) = summary["objects"]  # the tiny scene holds symmetric bowls
    for s in scalings:
        assert len(entry["scalings"][s]["yaw_deg"]) == 4
        assert 0 <= summary["diversity"][s]["resultant_length"] <= 1 and summary["diversity"][s]["objects"] == 1
    assert len(table.splitlines()) == 2 + 4


def test_claim4_convergence(inputs, tmp_path):
    """Three tiny training runs (4 steps each, validated every 2 on the tiny dataset), then the curves."""
    data = inputs[1]
    claim4_convergence.main(
        [
            "--budget",
            "4",
            "--pretrain-steps",
            "2",
            "--val-every",
            "2",
            "--out",
            str(tmp_path),
            *SMALL,
            f"val_dir={data}",
        ]
    )
    summary, table = outputs(tmp_path, ["claim4_convergence.png"])
    runs = summary["runs"]
    assert list(runs) == ["scratch", "joint", "pretrain_joint"]
    assert runs["scratch"]["curve"]["steps"] == [2, 4] and runs["joint"]["curve"]["steps"] == [2, 4]
    assert runs["pretrain_joint"]["curve"]["steps"] == [4]  # its joint stage's validation, after 2 pretrain steps
    assert runs["scratch"]["steps_to_scratch_best"] == runs["scratch"]["best_step"]
    assert summary["tag"] == "val/diffusion/10deg5cm" and len(table.splitlines()) == 2 + 3

    # --reuse re-reads the logs without training again
    before = sorted(p.name for p in (tmp_path / "runs" / "scratch" / "scratch" / "tb").iterdir())
    again = claim4_convergence.main(
        ["--budget", "4", "--pretrain-steps", "2", "--val-every", "2", "--reuse", "--out", str(tmp_path)]
    )
    assert sorted(p.name for p in (tmp_path / "runs" / "scratch" / "scratch" / "tb").iterdir()) == before
    assert again["runs"]["scratch"]["curve"]["steps"] == [2, 4]

    # the two-stage run's validation curves, stages one after the other, as a model card shows them
    two_stage = tmp_path / "runs" / "pretrain_joint"
    curves = plot_training.stage_curves([two_stage], "10deg5cm")
    assert curves["regression"][0] == [2, 4] and curves["diffusion"][0] == [4]
    # a run continued from it follows it on the step axis
    continued = plot_training.stage_curves([two_stage, two_stage], "10deg5cm")
    assert continued["regression"][0] == [2, 4, 6, 8] and continued["diffusion"][0] == [4, 8]
    plot_training.main([str(two_stage), str(two_stage), "--out", str(tmp_path / "training.png")])
    assert imread(tmp_path / "training.png").shape[1] >= 600
    with pytest.raises(SystemExit, match="no stage folder"):
        plot_training.stage_curves([two_stage, tmp_path], "10deg5cm")


def test_curve_analysis_on_hand_made_curves():
    curves = {
        "scratch": claim4_convergence.Curve([10, 20, 30], [0.1, 0.4, 0.3], [60.0, 120.0, 180.0]),
        "joint": claim4_convergence.Curve([10, 20, 30], [0.2, 0.3, 0.5], [60.0, 120.0, 180.0]),
        "pretrain_joint": claim4_convergence.Curve([20, 30], [0.45, 0.6], [100.0, 150.0]),
    }
    analysis = claim4_convergence.analyse(curves)
    assert (analysis["scratch"]["best"], analysis["scratch"]["best_step"]) == (0.4, 20)
    assert analysis["joint"]["steps_to_scratch_best"] == 30 and analysis["joint"]["seconds_to_scratch_best"] == 180
    assert analysis["pretrain_joint"]["steps_to_scratch_best"] == 20
    curves["joint"].values[-1] = 0.35
    assert claim4_convergence.analyse(curves)["joint"]["steps_to_scratch_best"] is None


def test_no_checkpoint_is_a_clear_error(inputs, monkeypatch):
    monkeypatch.setattr(checkpoint, "default_model_path", lambda: None)
    with pytest.raises(SystemExit, match="no --checkpoint given and no shipped model installed"):
        claim2_steps.main(inputs[:2])


def test_the_benchmarks_load_a_checkpoint_as_users_do(tmp_path):
    """With its category table (and confidence calibration), as PoseEstimator.from_checkpoint gives them."""
    table = CategoryTable((Category(7, "tote"), Category(9, "bracket")))
    save_checkpoint(tmp_path / "workshop.pt", PoseNet(), categories=table.as_entries())
    loaded = common.engine(tmp_path / "workshop.pt", torch.device("cpu"), SamplerSettings(), seed=0)
    assert loaded.categories == table


def test_compare_models_tables_what_evaluate_wrote(inputs, tmp_path, capsys):
    for name in ("old", "new"):
        evaluate.run([*inputs, "--json", str(tmp_path / name / "test.json")])
    capsys.readouterr()
    compare_models.main(
        ["side-by-side", f"old={tmp_path / 'old'}", f"new={tmp_path / 'new'}", "--sets", "test", "missing"]
    )
    table = capsys.readouterr().out.splitlines()
    written = json.loads((tmp_path / "new" / "test.json").read_text())["table"]["mean"]
    assert len(table) == 2 + 4 and table[3].startswith("| test | new | ")
    assert f"| {100 * written['5deg2cm']:.1f} |" in table[3] and table[5].count("–") == 7  # `missing` has no file
    compare_models.main(["per-category", str(tmp_path / "new" / "test.json")])
    assert "**mean**" in capsys.readouterr().out
