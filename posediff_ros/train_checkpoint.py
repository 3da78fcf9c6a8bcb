"""A training run's checkpoints: the start weights of `init=`, and the training state that
last.pt and best.pt carry beside the model so that `--resume` continues exactly.

The files themselves are written and read by checkpoint.py; this module says what a run
puts in them (model, EMA, optimizer, scheduler, step, best score, RNG, config) and how it
takes it back.
"""

from __future__ import annotations

import torch

from .categories import CategoryTable
from .checkpoint import checkpoint_categories, load_checkpoint, regression_head_trained
from .ema import EMA
from .model import ModelConfig, PoseNet


def initial_weights(path: str, overrides: dict) -> tuple[ModelConfig, dict, bool, CategoryTable]:
    """The raw (non-EMA) weights of a checkpoint, or its EMA weights if it has no train state,
    and its model config with the run's `model.*` overrides applied on top: those that keep
    every weight's shape (e.g. the encoder's centre counts or radii) continue a model in a
    new configuration; the others fail when the weights are loaded. Also whether its
    regression head was trained, and the category table it was trained with."""
    payload = load_checkpoint(path)
    weights = payload["train"]["model"] if "train" in payload else payload["model"]
    values = dict(payload["model_config"])
    for key, value in overrides.items():
        merge = key == "encoder" and isinstance(value, dict) and isinstance(values.get(key), dict)
        values[key] = {**values[key], **value} if merge else value
    return ModelConfig.from_dict(values), weights, regression_head_trained(payload), checkpoint_categories(payload)


def training_state(
    model: PoseNet,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    ema: EMA,
    step: int,
    best: float,
    device: torch.device,
) -> dict:
    """What a resumable checkpoint's `train` entry holds besides the run's config and stage
    index: the raw weights, the optimizer, scheduler and EMA states, the step, the best
    validation score and the RNG states (torch's, and CUDA's on a GPU)."""
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "ema": ema.state_dict(),
        "step": step,
        "best": best,
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else [],
        },
    }


def restore_training_state(
    payload: dict,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    ema: EMA,
    device: torch.device,
) -> tuple[int, float]:
    """Load a resumable checkpoint's EMA weights and training state into the run's parts (the raw
    weights are the model's start weights) and set the RNG states; returns (step, best)."""
    train = payload["train"]
    ema.model.load_state_dict(payload["model"])
    ema.load_state_dict(train["ema"])
    optimizer.load_state_dict(train["optimizer"])
    match_state_shapes(optimizer)
    scheduler.load_state_dict(train["scheduler"])
    torch.set_rng_state(train["rng"]["torch"])
    if device.type == "cuda" and train["rng"]["cuda"]:
        torch.cuda.set_rng_state_all(train["rng"]["cuda"])
    return int(train["step"]), float(train["best"])


def match_state_shapes(optimizer: torch.optim.Optimizer) -> None:
    """Give each parameter's optimizer state (Adam's moments) the parameter's shape: a version-1
    checkpoint holds the encoder's 1x1-convolution moments (C_out, C_in, 1, 1) for what is now a
    Linear weight (checkpoint.py)."""
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            state = optimizer.state.get(parameter, {})
            for key, value in state.items():
                if torch.is_tensor(value) and value.shape != parameter.shape and value.numel() == parameter.numel():
                    state[key] = value.reshape(parameter.shape)
