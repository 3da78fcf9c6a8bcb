"""Checkpoint files: state dicts + the model's construction arguments + a format version.

Files are read with `torch.load(..., weights_only=True)`, so they hold only tensors and
plain Python containers, and the network is rebuilt from `model_config` before loading.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from .model import ModelConfig, PoseNet

FORMAT = "posediff_ros.checkpoint"
VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable, foreign or does not fit the network."""


def save_checkpoint(path: str | Path, model: PoseNet, **extra) -> None:
    """Write `model` (and any extra plain entries) to `path` atomically.

    The file is written beside its destination and renamed over it, so a crash never
    leaves a half-written checkpoint under the real name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "model_config": model.config.as_dict(),
        "model": model.state_dict(),
        **extra,
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a checkpoint is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read and validate a checkpoint; raises CheckpointError with the reason."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises several types for truncated/foreign files
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(error).__name__}: {error}); "
            "is it a posediff_ros checkpoint, and complete?"
        ) from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a posediff_ros checkpoint (no '{FORMAT}' format tag)")
    if payload.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {payload.get('version')}; this posediff_ros reads {VERSION}"
        )
    return payload


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[PoseNet, dict]:
    """Rebuild the network from a checkpoint's config and load its weights (eval mode)."""
    payload = load_checkpoint(path, map_location=device)
    try:
        model = PoseNet(ModelConfig.from_dict(payload["model_config"]))
        model.load_state_dict(payload["model"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{path} does not fit the posediff_ros network: {error}") from error
    return model.to(device).eval(), payload
