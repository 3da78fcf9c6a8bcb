import math

import torch
from rotations import random_rotation

from posediff_ros.diffusion import ScoreMatchingLoss, VESchedule
from posediff_ros.geometry import axis_angle_to_matrix, pose_to_vector
from posediff_ros.model import PoseNet
from posediff_ros.objective import RegressionLoss, TrainingObjective
from posediff_ros.symmetry import SymmetryBatch

NONE, ABOUT_Y = SymmetryBatch.from_flags([False] * 4), SymmetryBatch.from_flags([True] * 4)


def test_schedule_matches_the_baseline_numbers():
    schedule = VESchedule()
    sigma = schedule.sigma(torch.tensor([0.0, 0.15, 0.25, 0.55, 1.0]))
    assert torch.allclose(sigma, torch.tensor([0.01, 0.036, 0.084, 1.08, 50.0]), rtol=0.02)


def test_regression_loss_on_known_poses():
    R = random_rotation(4, generator=torch.Generator().manual_seed(0))
    t = torch.zeros(4, 3)
    loss = RegressionLoss()
    exact = loss(pose_to_vector(R, t), pose_to_vector(R, t), NONE)
    assert exact["total"] < 1e-5

    tilt = axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 6]))  # 30 deg about the object's z
    shift = torch.tensor([0.03, 0.0, -0.04])  # 5 cm
    pred = pose_to_vector(R @ tilt, t + shift)
    asym = loss(pred, pose_to_vector(R, t), NONE)
    assert math.isclose(asym["rotation"].item(), math.pi / 6, rel_tol=1e-3)
    assert math.isclose(asym["translation"].item(), 0.05**2, rel_tol=1e-4)
    assert math.isclose(asym["total"].item(), math.pi / 6 + 0.0025, rel_tol=1e-3)

    about_y = axis_angle_to_matrix(torch.tensor([0.0, 1.2, 0.0]))
    spun = loss(pose_to_vector(R @ about_y, t), pose_to_vector(R, t), ABOUT_Y)
    assert spun["rotation"] < 1e-5  # a turn about +y costs nothing for an object continuous about +y
    # a 30 deg turn about z moves +y by 30 deg
    tilted = loss(pose_to_vector(R @ tilt, t), pose_to_vector(R, t), ABOUT_Y)
    assert math.isclose(tilted["rotation"].item(), math.pi / 6, rel_tol=1e-3)


def point_mass_score(x0: torch.Tensor, schedule: VESchedule):
    """The exact score of data concentrated on x0: -(x - x0) / sigma^2."""

    def score(feature, x, t):
        return -(x - x0.repeat_interleave(len(x) // len(x0), 0)) / schedule.sigma(t).unsqueeze(-1) ** 2

    return score


def test_score_matching_loss_is_zero_for_the_exact_score_and_positive_otherwise():
    torch.manual_seed(0)
    schedule = VESchedule()
    x0 = torch.randn(8, 9)
    feature = torch.zeros(8, 1)
    loss = ScoreMatchingLoss(schedule, repeats=20)
    assert loss(point_mass_score(x0, schedule), feature, x0) < 1e-8
    # the zero score leaves the whole noise: E||z||^2 = 9
    zero = loss(lambda f, x, t: torch.zeros_like(x), feature, x0)
    assert 8.0 < zero.item() < 10.0


def test_each_stage_objective_sums_its_terms():
    """pretrain: regression only; joint: regression + score matching (eq. 7); scratch: score only."""
    torch.manual_seed(0)
    x0 = pose_to_vector(random_rotation(6), torch.zeros(6, 3))
    model = PoseNet()  # the layers are replaced by exact stand-ins below: regression off by 0.1, the exact score
    model.encode = lambda points: torch.zeros(len(points), 1)
    model.regress = lambda feature: x0 + 0.1
    model.score = point_mass_score(x0, model.noise_schedule)
    points, symmetry = torch.zeros(6, 16, 3), SymmetryBatch.from_flags(torch.zeros(6, dtype=torch.bool))

    joint = TrainingObjective(model, "joint")(points, x0, symmetry)
    assert joint["score"] < 1e-8
    expected = joint["regression_rotation"] + joint["regression_translation"] + joint["score"]
    assert torch.isclose(joint["total"], expected)
    assert math.isclose(joint["regression_translation"].item(), 0.03, rel_tol=1e-4)
    pretrain = TrainingObjective(model, "pretrain")(points, x0, symmetry)
    assert "score" not in pretrain and torch.isclose(pretrain["total"], joint["total"] - joint["score"])
    scratch = TrainingObjective(model, "scratch")(points, x0, symmetry)
    assert set(scratch) == {"score", "total"} and scratch["total"] < 1e-8
