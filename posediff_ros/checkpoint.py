"""Checkpoint files: state dicts + the model's construction arguments + a format version.

Files are read with `torch.load(..., weights_only=True)`, so they hold only tensors and
plain Python containers, and the network is rebuilt from `model_config` before loading.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from .categories import NOCS_CATEGORIES, CategoryTable
from .model import ModelConfig, PoseNet
from .paths import default_model_candidates, default_model_path

FORMAT = "posediff_ros.checkpoint"
VERSION = 2
READABLE_VERSIONS = (1, 2)
"""Version 2 stores the encoder's shared-MLP weights as Linear matrices (C_out, C_in); version 1
stored the same numbers as 1x1 convolutions (C_out, C_in, 1, 1), which `SharedMLP` reshapes on
load (model/pointnet2.py). Nothing else differs."""


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, unreadable, foreign or does not fit the network."""


def checkpoint_file(given: str | Path | None, option: str) -> Path:
    """The checkpoint a tool runs: `given`, else the shipped model (paths.default_model_path).

    With neither, CheckpointError says that `option` (the option or parameter that names a
    checkpoint, e.g. "--checkpoint" or "model_path") was not given and where the shipped model
    was looked for; command-line tools exit with it, the node refuses to configure.
    """
    if given:
        return Path(given)
    shipped = default_model_path()
    if shipped is None:
        raise CheckpointError(
            f"no {option} given and no shipped model installed (looked for "
            + ", ".join(map(str, default_model_candidates()))
            + ")"
        )
    return shipped


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
        "regression_head_trained": model.regression_head_trained,
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
    if payload.get("version") not in READABLE_VERSIONS:
        raise CheckpointError(
            f"{path} has checkpoint version {payload.get('version')}; this posediff_ros reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}"
        )
    return payload


def regression_head_trained(payload: dict) -> bool:
    """Whether a checkpoint's regression head was trained; files from before the flag tell by
    their stage (only `scratch` training leaves the head untouched)."""
    return bool(payload.get("regression_head_trained", payload.get("stage") in ("pretrain", "joint")))


def checkpoint_categories(payload: dict) -> CategoryTable:
    """The category table a checkpoint was trained with (`categories` entries, written by
    `train`); files from before the table were all trained on the NOCS table."""
    entries = payload.get("categories")
    if entries is None:
        return NOCS_CATEGORIES
    try:
        return CategoryTable.from_entries(entries, source="the checkpoint's category table")
    except ValueError as error:
        raise CheckpointError(str(error)) from error


def usable_device(device: str | torch.device) -> torch.device:
    """`device` as a torch.device; CheckpointError saying why when this machine has no such CUDA device."""
    device = torch.device(device)
    if device.type != "cuda":
        return device
    if not torch.cuda.is_available():
        why = "this PyTorch is built without CUDA" if torch.version.cuda is None else "no CUDA GPU or driver found"
        raise CheckpointError(
            f"device '{device}' was requested but CUDA is not available ({why}); use "
            "device 'cpu', or 'auto', which runs on the CPU here and on CUDA where it is available"
        )
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise CheckpointError(
            f"device '{device}' was requested but only {torch.cuda.device_count()} CUDA device(s) are visible"
        )
    return device


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[PoseNet, dict]:
    """Rebuild the network from a checkpoint's config and load its weights (eval mode) onto `device`.

    The weights are read onto the CPU first and then moved: a checkpoint saved on a GPU
    loads anywhere, and a device problem is reported as one, not as an unreadable file.
    """
    device = usable_device(device)
    payload = load_checkpoint(path)
    try:
        model = PoseNet(ModelConfig.from_dict(payload["model_config"]))
        model.load_state_dict(payload["model"])
        model.regression_head_trained = regression_head_trained(payload)
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise CheckpointError(f"{path} does not fit the posediff_ros network: {error}") from error
    return model.to(device).eval(), payload
