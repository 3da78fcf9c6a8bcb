"""The whole network: PointNet++ encoder, regression head and score head."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from .heads import RegressionHead, ScoreHead
from .pointnet2 import EncoderConfig, PointNet2Encoder


@dataclass
class ModelConfig:
    """Everything needed to rebuild the network; stored inside every checkpoint."""

    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    time_dim: int = 128
    pose_dim: int = 256
    head_hidden: int = 256
    regression_hidden: int = 512
    sigma_min: float = 0.01
    sigma_max: float = 50.0

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        d = dict(d)
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown model config keys {sorted(unknown)}")
        return cls(encoder=EncoderConfig(**d.pop("encoder", {})), **d)


class PoseNet(nn.Module):
    """Encoder + regression head + score head (paper Fig. 1).

    Inputs are centred points (see geometry.centre_points); poses are 9-d vectors
    [r1 | r2 | t - c]. The VE noise levels live here too because the score is the raw
    head output divided by sigma(t), which is part of the model's definition.
    """

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.config = config or ModelConfig()
        self.encoder = PointNet2Encoder(self.config.encoder)
        feature_dim = self.encoder.out_channels
        self.regression_head = RegressionHead(feature_dim, self.config.regression_hidden)
        self.score_head = ScoreHead(feature_dim, self.config.time_dim, self.config.pose_dim, self.config.head_hidden)
        # Whether the regression head was ever trained (a `scratch` model's is random): not a
        # weight but a fact about the weights, saved beside them and set by checkpoint.load_model.
        self.regression_head_trained = False

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        """VE noise level sigma(t) = sigma_min (sigma_max / sigma_min)^t."""
        c = self.config
        return c.sigma_min * (c.sigma_max / c.sigma_min) ** t

    def encode(self, points: torch.Tensor) -> torch.Tensor:
        """(B, N, 3) centred points -> (B, 1024) feature."""
        return self.encoder(points)

    def regress(self, feature: torch.Tensor) -> torch.Tensor:
        """(B, 1024) -> (B, 9) directly regressed pose."""
        return self.regression_head(feature)

    def score(self, feature: torch.Tensor, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Score s(x_t, t | O) (B, 9) of noisy poses x (B, 9) at times t (B,)."""
        return self.score_head(feature, x, t) / self.sigma(t).unsqueeze(-1)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
