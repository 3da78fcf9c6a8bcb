"""The confidence: its metrics, its signal, its calibration in the checkpoint and the command
that fits it; and that measuring it never changes a pose."""

import itertools
import warnings

import numpy as np
import pytest
import torch
from test_estimator import PointMassNet, frame

from posediff_ros.calibrate import run as calibrate
from posediff_ros.checkpoint import save_checkpoint
from posediff_ros.confidence import PAYLOAD_KEY, Calibration, checkpoint_calibration, fit_isotonic, noise_disagreement
from posediff_ros.data import generate
from posediff_ros.estimator import PoseEstimator, SamplerSettings
from posediff_ros.geometry import REAL275_INTRINSICS, axis_angle_to_matrix
from posediff_ros.metrics import accuracy_at_coverage, auroc, reliability
from posediff_ros.model import PoseNet
from posediff_ros.paths import default_model_path
from posediff_ros.symmetry import ABOUT_Y, NO_SYMMETRY, SymmetryBatch
from posediff_ros.tracking import TrackingSettings


def test_auroc_is_the_chance_that_a_positive_outranks_a_negative():
    rng = np.random.default_rng(0)
    score = rng.integers(0, 5, 60).astype(float)  # many ties
    positive = rng.random(60) < 0.4
    pairs = [1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(score[positive], score[~positive])]
    assert auroc(score, positive) == pytest.approx(np.mean(pairs))
    assert auroc(score, positive) == pytest.approx(1 - auroc(-score, positive))
    assert np.isnan(auroc(score, np.ones(60, bool)))


def test_calibration_error_and_accuracy_at_coverage():
    rng = np.random.default_rng(1)
    p = rng.random(200_000)
    calibrated = reliability(p, rng.random(len(p)) < p)
    assert calibrated["ece"] < 0.01
    np.testing.assert_allclose(calibrated["observed"], calibrated["predicted"], atol=0.01)
    overconfident = reliability(np.ones(1000), np.arange(1000) % 2 == 0)
    assert overconfident["ece"] == pytest.approx(0.5)
    assert overconfident["count"][-1] == 1000

    score = np.arange(10.0)
    positive = score >= 1  # only the least confident is wrong
    assert accuracy_at_coverage(score, positive, 0.9) == 1.0
    assert accuracy_at_coverage(score, positive, 1.0) == 0.9
    assert accuracy_at_coverage(-score, positive, 0.9) == pytest.approx(8 / 9)


def test_the_signal_is_one_at_ten_degrees_and_five_centimetres_and_ignores_symmetric_turns():
    R = axis_angle_to_matrix(torch.tensor([[0.1, 0.2, 0.3]]))
    t = torch.tensor([[0.0, 0.0, 0.5]])
    tilted = axis_angle_to_matrix(torch.tensor([[float(np.deg2rad(10.0)), 0.0, 0.0]])) @ R
    shifted = t + torch.tensor([0.05, 0.0, 0.0])
    none = SymmetryBatch.of([NO_SYMMETRY])
    signal = noise_disagreement(tilted[:, None].expand(1, 4, 3, 3), shifted[:, None].expand(1, 4, 3), R, t, none)
    assert float(signal) == pytest.approx(1.0, rel=1e-4)

    spun = R @ axis_angle_to_matrix(torch.tensor([[0.0, 1.2, 0.0]]))  # about the object's +y
    on_pose = noise_disagreement(spun[:, None], shifted[:, None], R, t, SymmetryBatch.of([ABOUT_Y]))
    assert float(on_pose) == pytest.approx(0.0, abs=1e-3)
    assert float(noise_disagreement(spun[:, None], shifted[:, None], R, t, none)) > 0.5


def test_isotonic_fit_is_monotone_and_follows_the_data():
    rng = np.random.default_rng(2)
    signal = rng.random(5000) * 2
    truth = 1.0 / (1.0 + np.exp(6 * (signal - 1)))  # P(right) falls with the signal
    calibration = fit_isotonic(signal, rng.random(5000) < truth)
    assert np.all(np.diff(calibration.signal) > 0) and np.all(np.diff(calibration.probability) <= 0)
    grid = np.linspace(0.1, 1.9, 10)
    np.testing.assert_allclose(calibration(grid), 1.0 / (1.0 + np.exp(6 * (grid - 1))), atol=0.08)
    assert calibration(-1.0) == calibration.probability[0] and calibration(9.0) == calibration.probability[-1]


def test_calibration_in_the_checkpoint(tmp_path):
    calibration = Calibration((0.1, 0.5, 2.0), (0.9, 0.5, 0.1), fitted_on="test", count=3)
    assert Calibration.from_payload(calibration.as_payload()) == calibration
    save_checkpoint(tmp_path / "calibrated.pt", PoseNet(), **{PAYLOAD_KEY: calibration.as_payload()})
    engine = PoseEstimator.from_checkpoint(tmp_path / "calibrated.pt", "cpu")
    assert engine.confidence == calibration and engine.confidence_samples == calibration.samples
    other = PoseEstimator.from_checkpoint(
        tmp_path / "calibrated.pt", "cpu", settings=SamplerSettings(sampler="ode", steps=3, w_max=2.0)
    )
    measured_as_fitted = (calibration.samples, calibration.steps, calibration.t_start, "ddim", 4.0)
    s = other.confidence_settings
    assert (s.num_samples, s.steps, s.t_start, s.sampler, s.w_max) == measured_as_fitted
    depth, labels, _ = frame()
    scores = [o.score for o in engine.estimate(depth, labels, REAL275_INTRINSICS).objects]
    assert all(0.1 <= s <= 0.9 for s in scores)

    save_checkpoint(tmp_path / "old.pt", PoseNet())
    old = PoseEstimator.from_checkpoint(tmp_path / "old.pt", "cpu")
    with pytest.warns(UserWarning, match="no confidence calibration"):
        first = old.estimate(depth, labels, REAL275_INTRINSICS)
    assert {(o.score, o.signal) for o in first.objects} == {(None, None)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once
        old.estimate(depth, labels, REAL275_INTRINSICS)

    newer = {**calibration.as_payload(), "version": 99}
    assert checkpoint_calibration({PAYLOAD_KEY: newer})[0] is None
    save_checkpoint(tmp_path / "newer.pt", PoseNet(), **{PAYLOAD_KEY: newer})
    with pytest.warns(UserWarning, match="unusable.*version 99"):
        PoseEstimator.from_checkpoint(tmp_path / "newer.pt", "cpu").estimate(depth, labels, REAL275_INTRINSICS)


def test_measuring_the_confidence_leaves_the_poses_as_they_were():
    torch.manual_seed(0)
    model = PoseNet()
    depth, labels, _ = frame()
    calibration = Calibration((0.0, 1.0), (1.0, 0.0))
    plain, scored = (
        PoseEstimator(model, seed=3, confidence=c, tracking=TrackingSettings(lose_score=0.0))
        for c in (None, calibration)
    )
    for _ in range(2):  # a fresh frame, then a tracked one
        a, b = (e.estimate(depth, labels, REAL275_INTRINSICS).objects for e in (plain, scored))
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x.R, y.R)
            np.testing.assert_array_equal(x.t, y.t)
            assert x.score is None and 0.0 <= y.score <= 1.0


def test_a_sure_model_agrees_with_itself():
    rotations = axis_angle_to_matrix(torch.tensor([[0.0, 0.0, 0.0], [0.3, -0.5, 0.2]]))
    sure = PoseEstimator(PointMassNet(rotations), confidence_samples=8)
    depth, labels, _ = frame()
    signals = [o.signal for o in sure.estimate(depth, labels, REAL275_INTRINSICS).objects]
    assert max(signals) < 0.05
    torch.manual_seed(0)
    unsure = PoseEstimator(PoseNet(), confidence_samples=8)  # untrained: samples scatter
    assert min(o.signal for o in unsure.estimate(depth, labels, REAL275_INTRINSICS).objects) > 0.5


def test_calibrate_confidence_writes_a_calibrated_checkpoint(tmp_path, capsys):
    data = tmp_path / "val"
    generate.main(
        ["--out", str(data), "--scenes", "6", "--frames", "1", "--split", "val"]
        + ["--width", "320", "--height", "240", "--seed", "4"]
    )
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "in.pt", PoseNet(), stage="joint", note="kept")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the input has no calibration yet
        calibration = calibrate(
            ["--checkpoint", str(tmp_path / "in.pt"), "--data", str(data)]
            + ["--out", str(tmp_path / "out.pt"), "--samples", "4"]
        )
    assert "AUROC" in capsys.readouterr().out
    engine = PoseEstimator.from_checkpoint(tmp_path / "out.pt", "cpu")
    assert engine.confidence == calibration and calibration.samples == 4 and calibration.count >= 20
    payload = torch.load(tmp_path / "out.pt", weights_only=True)
    assert (payload["stage"], payload["note"]) == ("joint", "kept")


def test_the_shipped_model_is_calibrated():
    """A new shipped model needs `calibrate_confidence` (models/README.md), or its poses have no score."""
    path = default_model_path()
    if path is None:
        pytest.skip("no shipped model in this checkout")
    calibration, why = checkpoint_calibration(torch.load(path, weights_only=True))
    assert calibration is not None, why
    assert calibration.count >= 1000 and calibration.probability[0] > 0.9 > 0.1 > calibration.probability[-1]
