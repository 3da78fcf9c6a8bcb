"""A tiny end-to-end training run: both losses fall, and sampled poses get better.

The object is a fixed asymmetric point cloud (three blobs of different sizes, so no
rotation maps it onto itself) under random rotations of up to 90 degrees and small translations;
a small PointNet++ keeps the run to seconds on a CPU.
"""

import numpy as np
import torch

from posediff_ros.diffusion import ScaledScore, sample_ddim
from posediff_ros.geometry import axis_angle_to_matrix, centre_points, geodesic_angle, pose_to_vector, vector_to_pose
from posediff_ros.model import EncoderConfig, ModelConfig, PoseNet
from posediff_ros.objective import TrainingObjective
from posediff_ros.symmetry import SymmetryBatch

NUM_POINTS = 128
MAX_ANGLE = np.pi / 2  # rotations up to 90 degrees keep the run short
SMALL = ModelConfig(
    encoder=EncoderConfig(
        centres=[32, 16, 8],
        radii=[[0.04], [0.08], [0.16]],
        neighbours=[[16], [16], [16]],
        mlps=[[[16, 32]], [[32, 64]], [[64, 128]], [[128, 256]]],
    ),
    time_dim=32,
    pose_dim=64,
    head_hidden=64,
    regression_hidden=128,
)


def make_object(rng: np.random.Generator) -> np.ndarray:
    """Points of three anisotropic blobs at asymmetric positions, metres, (NUM_POINTS, 3)."""
    centres = np.array([[0.05, 0.0, 0.0], [0.0, 0.03, 0.0], [-0.02, -0.01, 0.02]])
    scales = np.array([[0.02, 0.006, 0.006], [0.005, 0.015, 0.005], [0.008, 0.008, 0.008]])
    counts = [64, 40, 24]
    return np.concatenate(
        [c + rng.normal(size=(n, 3)) * s for c, s, n in zip(centres, scales, counts, strict=True)]
    ).astype(np.float32)


def make_batch(batch: int, generator: torch.Generator, rng: np.random.Generator):
    axis = torch.nn.functional.normalize(torch.randn(batch, 3, generator=generator), dim=-1)
    R = axis_angle_to_matrix(axis * torch.rand(batch, 1, generator=generator) * MAX_ANGLE)
    t = torch.randn(batch, 3, generator=generator) * 0.02 + torch.tensor([0.0, 0.0, 0.6])
    local = torch.as_tensor(np.stack([make_object(rng) for _ in range(batch)]))
    points = local @ R.transpose(1, 2) + t.unsqueeze(1)
    centred, centroid = centre_points(points)
    return centred, pose_to_vector(R, t - centroid)


def sampled_rotation_error(model: PoseNet, points: torch.Tensor, target: torch.Tensor, seed: int) -> float:
    model.eval()
    schedule, t_start = model.noise_schedule, 0.55
    with torch.no_grad():
        feature = model.encode(points)
        x = torch.randn(len(points), 9, generator=torch.Generator().manual_seed(seed)) * schedule.sigma(
            torch.tensor(t_start)
        )
        x = sample_ddim(ScaledScore(lambda x, t: model.score(feature, x, t)), x, schedule, t_start, steps=10)
    model.train()
    return torch.rad2deg(geodesic_angle(vector_to_pose(x)[0], vector_to_pose(target)[0])).median().item()


def test_tiny_joint_training_reduces_losses_and_pose_error():
    torch.manual_seed(0)
    generator, rng = torch.Generator().manual_seed(1), np.random.default_rng(2)
    model = PoseNet(SMALL)
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    val_points, val_target = make_batch(64, torch.Generator().manual_seed(99), np.random.default_rng(99))
    no_symmetry = SymmetryBatch.from_flags(torch.zeros(32, dtype=torch.bool))

    # Stage 1: regression pre-training.
    regression = TrainingObjective(model, "pretrain")
    pretrain = []
    for _ in range(150):
        points, target = make_batch(32, generator, rng)
        loss = regression(points, target, no_symmetry)["total"]
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        pretrain.append(loss.item())
    assert np.mean(pretrain[-20:]) < 0.6 * np.mean(pretrain[:20])

    # Stage 2: joint training.
    error_before = sampled_rotation_error(model, val_points, val_target, seed=5)
    joint = TrainingObjective(model, "joint")
    score_losses = []
    for _ in range(250):
        points, target = make_batch(32, generator, rng)
        terms = joint(points, target, no_symmetry)
        optimiser.zero_grad()
        terms["total"].backward()
        optimiser.step()
        score_losses.append(terms["score"].item())
    error_after = sampled_rotation_error(model, val_points, val_target, seed=5)
    assert np.mean(score_losses[-25:]) < 0.7 * np.mean(score_losses[:25])
    assert error_after < 0.5 * error_before, (error_before, error_after)
