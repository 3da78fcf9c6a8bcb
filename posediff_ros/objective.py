"""The training objective of each stage as one module, so DistributedDataParallel wraps it.

pretrain: regression loss (paper eq. 5); joint: regression + score matching (eq. 7);
scratch: score matching only (GenPose, end to end).
"""

from __future__ import annotations

import torch
from torch import nn

from .diffusion import RegressionLoss, ScoreMatchingLoss, VESchedule
from .model import PoseNet


class TrainingObjective(nn.Module):
    def __init__(self, model: PoseNet, stage: str, translation_weight: float = 1.0, score_repeats: int = 20):
        super().__init__()
        if stage not in ("pretrain", "joint", "scratch"):
            raise ValueError(f"unknown training stage {stage!r}")
        self.model, self.stage = model, stage
        self.regression = RegressionLoss(translation_weight)
        schedule = VESchedule(model.config.sigma_min, model.config.sigma_max)
        self.score_matching = ScoreMatchingLoss(schedule, repeats=score_repeats)

    @property
    def uses_all_parameters(self) -> bool:
        return self.stage == "joint"

    def forward(self, points: torch.Tensor, target: torch.Tensor, symmetric: torch.Tensor) -> dict[str, torch.Tensor]:
        """points (B, N, 3) centred; target (B, 9) [r1 | r2 | t - c]; symmetric (B,) -> loss terms."""
        feature = self.model.encode(points)
        terms: dict[str, torch.Tensor] = {}
        total = feature.new_zeros((), dtype=torch.float32)
        if self.stage in ("pretrain", "joint"):
            regression = self.regression(self.model.regress(feature).float(), target, symmetric)
            terms["regression_rotation"] = regression["rotation"]
            terms["regression_translation"] = regression["translation"]
            total = total + regression["total"]
        if self.stage in ("joint", "scratch"):
            terms["score"] = self.score_matching(lambda f, x, t: self.model.score(f, x, t).float(), feature, target)
            total = total + terms["score"]
        terms["total"] = total
        return terms
