"""The training losses: the regression loss, and each stage's objective as one module,
so DistributedDataParallel wraps it.

pretrain: regression loss (paper eq. 5); joint: regression + score matching (eq. 7);
scratch: score matching only (GenPose, end to end).
"""

from __future__ import annotations

import torch
from torch import nn

from .diffusion import ScoreMatchingLoss
from .geometry import vector_to_pose
from .model import PoseNet
from .symmetry import SymmetryBatch, rotation_error


class RegressionLoss(nn.Module):
    """Geodesic rotation loss + squared L2 translation loss (paper eq. 3-5).

    The rotation term is `symmetry.rotation_error` under each object's symmetry: the minimum
    over its group of discrete turns, and for an object continuously symmetric about +y the
    angle between the +y axes only (supplement S.1). Poses are 9-d [r1 | r2 | t]; rotations go through
    Gram-Schmidt.
    """

    def __init__(self, translation_weight: float = 1.0):
        super().__init__()
        self.translation_weight = translation_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor, symmetry: SymmetryBatch) -> dict[str, torch.Tensor]:
        """pred, target (B, 9); symmetry (B,)."""
        R_pred, t_pred = vector_to_pose(pred)
        R_true, t_true = vector_to_pose(target)
        rotation = rotation_error(R_pred, R_true, symmetry).mean()
        translation = ((t_pred - t_true) ** 2).sum(-1).mean()
        return {
            "rotation": rotation,
            "translation": translation,
            "total": rotation + self.translation_weight * translation,
        }


class TrainingObjective(nn.Module):
    def __init__(self, model: PoseNet, stage: str, translation_weight: float = 1.0, score_repeats: int = 20):
        super().__init__()
        if stage not in ("pretrain", "joint", "scratch"):
            raise ValueError(f"unknown training stage {stage!r}")
        self.model, self.stage = model, stage
        self.regression = RegressionLoss(translation_weight)
        self.score_matching = ScoreMatchingLoss(model.noise_schedule, repeats=score_repeats)

    @property
    def uses_all_parameters(self) -> bool:
        return self.stage == "joint"

    def forward(self, points: torch.Tensor, target: torch.Tensor, symmetry: SymmetryBatch) -> dict[str, torch.Tensor]:
        """points (B, N, 3) centred; target (B, 9) [r1 | r2 | t - c]; symmetry (B,) -> loss terms.

        `symmetry`: `symmetry.CategorySymmetries` of the batch's category ids and flags, or
        `SymmetryBatch.from_flags` of the per-instance `symmetric` flags alone."""
        feature = self.model.encode(points)
        terms: dict[str, torch.Tensor] = {}
        total = feature.new_zeros((), dtype=torch.float32)
        if self.stage in ("pretrain", "joint"):
            regression = self.regression(self.model.regress(feature).float(), target, symmetry)
            terms["regression_rotation"] = regression["rotation"]
            terms["regression_translation"] = regression["translation"]
            total = total + regression["total"]
        if self.stage in ("joint", "scratch"):
            terms["score"] = self.score_matching(lambda f, x, t: self.model.score(f, x, t).float(), feature, target)
            total = total + terms["score"]
        terms["total"] = total
        return terms
