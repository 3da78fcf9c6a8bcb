"""The two heads on the 1024-d point-cloud feature: direct regression and the score.

Both read and write the 9-d pose vectors of `geometry.pose_to_vector`: [r1 | r2 | t - c],
the first two columns of R and the translation relative to the centroid c, in metres.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ..geometry import POSE_DIM


class RegressionHead(nn.Module):
    """MLP feature -> 9-d pose, 1024 x 512 x 512 x 9 (paper supplement S.1)."""

    def __init__(self, feature_dim: int = 1024, hidden: int = 512):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(feature_dim, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, POSE_DIM),
        )

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        return self.mlp(feature)


class GaussianFourierTime(nn.Module):
    """t in [eps, 1] -> [sin(2 pi t W), cos(2 pi t W)] with fixed random W ~ N(0, scale^2)."""

    def __init__(self, dim: int = 128, scale: float = 30.0, seed: int = 0):
        super().__init__()
        frequencies = torch.randn(dim // 2, generator=torch.Generator().manual_seed(seed)) * scale
        self.register_buffer("frequencies", frequencies)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        angle = 2 * math.pi * t.unsqueeze(-1) * self.frequencies
        return torch.cat((angle.sin(), angle.cos()), dim=-1)


class ScoreHead(nn.Module):
    """(feature, noisy pose x_t, t) -> the network's raw output F; the score is F / sigma(t).

    Time: Gaussian Fourier features (128) then Linear+ReLU; pose: two Linear+ReLU (256);
    concatenated with the feature (1024 + 128 + 256 = 1408) and read out by three small
    MLPs (first column, second column, translation) whose last layers start at zero, so
    an untrained head predicts zero noise (GenPose's ScoreNet).
    """

    def __init__(self, feature_dim: int = 1024, time_dim: int = 128, pose_dim: int = 256, hidden: int = 256):
        super().__init__()
        self.time_embed = nn.Sequential(
            GaussianFourierTime(time_dim), nn.Linear(time_dim, time_dim), nn.ReLU(inplace=True)
        )
        self.pose_embed = nn.Sequential(
            nn.Linear(POSE_DIM, pose_dim), nn.ReLU(inplace=True), nn.Linear(pose_dim, pose_dim), nn.ReLU(inplace=True)
        )
        joint = feature_dim + time_dim + pose_dim
        self.readouts = nn.ModuleList(
            nn.Sequential(nn.Linear(joint, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 3)) for _ in range(3)
        )
        for readout in self.readouts:
            nn.init.zeros_(readout[-1].weight)
            nn.init.zeros_(readout[-1].bias)

    def forward(self, feature: torch.Tensor, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        joint = torch.cat((feature, self.time_embed(t), self.pose_embed(x)), dim=-1)
        return torch.cat([readout(joint) for readout in self.readouts], dim=-1)

    def merged(self) -> MergedScoreHead:
        """This head for inference, from its weights as they are now (build another after changing them)."""
        return MergedScoreHead(self)


class MergedScoreHead:
    """A ScoreHead whose three readouts run as one product per layer (the second layers as one
    block-diagonal matrix), with the feature's share of the first layer computed once per
    sampling instead of at every step: the same arithmetic in fewer, larger operations."""

    @torch.no_grad()
    def __init__(self, head: ScoreHead):
        firsts, seconds = [r[0] for r in head.readouts], [r[2] for r in head.readouts]
        self.feature_dim = firsts[0].in_features - head.time_embed[1].out_features - head.pose_embed[2].out_features
        weight = torch.cat([layer.weight for layer in firsts])  # (3 H, F + time + pose)
        self.feature_weight = weight[:, : self.feature_dim].T.contiguous()
        self.first_bias = torch.cat([layer.bias for layer in firsts])
        self.varying_weight = weight[:, self.feature_dim :].T.contiguous()
        self.readout_weight = torch.block_diag(*[layer.weight for layer in seconds]).T.contiguous()  # (3 H, 9)
        self.readout_bias = torch.cat([layer.bias for layer in seconds])
        self.time_embed, self.pose_embed = head.time_embed, head.pose_embed

    def conditioned(self, feature: torch.Tensor) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """ScoreHead.forward with the feature (B, F) fixed: (x, t) -> F (B, 9)."""
        fixed = torch.addmm(self.first_bias, feature, self.feature_weight)

        def raw(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            joint = torch.cat((self.time_embed(t), self.pose_embed(x)), dim=-1)
            hidden = torch.addmm(fixed, joint, self.varying_weight).relu_()
            return torch.addmm(self.readout_bias, hidden, self.readout_weight)

        return raw
