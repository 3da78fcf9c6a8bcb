"""The whole network: PointNet++ encoder, regression head and score head."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from ..diffusion import ScoreFn, VESchedule
from .heads import RegressionHead, ScoreHead
from .inference import InferenceEncoder, InferenceSettings
from .pointnet2 import EncoderConfig, PointNet2Encoder


@dataclass
class ModelConfig:
    """Everything needed to rebuild the network; stored inside every checkpoint."""

    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    time_dim: int = 128
    pose_dim: int = 256
    head_hidden: int = 256
    regression_hidden: int = 512
    sigma_min: float = VESchedule.sigma_min  # the noise schedule's range (PoseNet.noise_schedule)
    sigma_max: float = VESchedule.sigma_max

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
    [r1 | r2 | t - c] (geometry.pose_to_vector). The network owns its VE noise schedule,
    `noise_schedule`, as EDM's preconditioning wrapper owns its sigma range: the score is
    the raw head output divided by sigma(t), so the schedule is part of the model's
    definition, and the training objective and the samplers take it from here.
    """

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.config = config or ModelConfig()
        self.noise_schedule = VESchedule(self.config.sigma_min, self.config.sigma_max)
        self.encoder = PointNet2Encoder(self.config.encoder)
        feature_dim = self.encoder.out_channels
        self.regression_head = RegressionHead(feature_dim, self.config.regression_hidden)
        self.score_head = ScoreHead(feature_dim, self.config.time_dim, self.config.pose_dim, self.config.head_hidden)
        # Whether the regression head was ever trained (a `scratch` model's is random): not a
        # weight but a fact about the weights, saved beside them and set by checkpoint.load_model.
        self.regression_head_trained = False

    def encode(self, points: torch.Tensor) -> torch.Tensor:
        """(B, N, 3) centred points -> (B, 1024) feature."""
        return self.encoder(points)

    def inference_encoder(self, device: torch.device, settings: InferenceSettings | None = None) -> InferenceEncoder:
        """`encode` as the engine runs it (model/inference.py): the same features, faster, from
        the weights as they are now (build a new one after changing them)."""
        return InferenceEncoder(self.encoder, device, settings)

    def regress(self, feature: torch.Tensor) -> torch.Tensor:
        """(B, 1024) -> (B, 9) directly regressed pose."""
        return self.regression_head(feature)

    def score(self, feature: torch.Tensor, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Score s(x_t, t | O) (B, 9) of noisy poses x (B, 9) at times t (B,)."""
        return self.score_head(feature, x, t) / self.noise_schedule.sigma(t).unsqueeze(-1)

    def inference_score(self) -> Callable[[torch.Tensor], ScoreFn]:
        """`score` as the engine's sampler runs it, from the weights as they are now: given the
        features (B, 1024), the score function (x, t) -> s (heads.MergedScoreHead)."""
        head, sigma = self.score_head.merged(), self.noise_schedule.sigma

        def conditioned(feature: torch.Tensor) -> ScoreFn:
            raw = head.conditioned(feature)
            return lambda x, t: raw(x, t) / sigma(t).unsqueeze(-1)

        return conditioned


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
