"""Exponential moving average of a model's weights (the weights that are evaluated and shipped)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """ema <- d ema + (1 - d) weights, with d = min(decay, (1 + n) / (10 + n)) after n updates.

    The warm-up keeps the average from being dominated by the random initial weights in
    short runs; buffers (BatchNorm statistics) are copied, not averaged.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999):
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay = decay
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for averaged, current in zip(self.model.parameters(), model.parameters(), strict=True):
            averaged.lerp_(current.detach(), 1.0 - d)
        for averaged, current in zip(self.model.buffers(), model.buffers(), strict=True):
            averaged.copy_(current)

    def state_dict(self) -> dict:
        return {"updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.updates = int(state["updates"])
