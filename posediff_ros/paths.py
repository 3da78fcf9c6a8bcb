"""Where the package's installed data lives: the default checkpoint and training config.

Checkpoints ship in the repository's `models/` folder and configs in `config/`, which
setup.py installs to `share/posediff_ros/models` and `share/posediff_ros/config`. The
node, the evaluator and the trainer share this lookup, so a colcon install, a pip install
and a checkout all find the same files.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE = "posediff_ros"
DEFAULT_MODEL = "posediff_default.pt"
DEFAULT_TRAIN_CONFIG = "train.yaml"


def share_dirs() -> list[Path]:
    """Candidate `share/posediff_ros` folders, most specific first.

    An ament index on AMENT_PREFIX_PATH (a sourced colcon install; found by hand so that
    ament_index_python is not needed), then the Python prefix (a pip install puts
    data_files there), then the source tree this module was imported from.
    """
    dirs = []
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        marker = Path(prefix) / "share" / "ament_index" / "resource_index" / "packages" / PACKAGE
        if prefix and marker.is_file():
            dirs.append(Path(prefix) / "share" / PACKAGE)
    dirs.append(Path(sys.prefix) / "share" / PACKAGE)
    dirs.append(Path(__file__).resolve().parent.parent)  # the repository root: models/ sits there too
    return dirs


def default_model_candidates() -> list[Path]:
    """Every place `default_model_path` looks, in order (for error messages)."""
    return [d / "models" / DEFAULT_MODEL for d in share_dirs()]


def default_model_path() -> Path | None:
    """The first existing `models/posediff_default.pt`, or None when no default model is installed."""
    return _first_file(default_model_candidates())


def default_train_config_candidates() -> list[Path]:
    """Every place `default_train_config_path` looks, in order (for messages)."""
    return [d / "config" / DEFAULT_TRAIN_CONFIG for d in share_dirs()]


def default_train_config_path() -> Path | None:
    """The first existing `config/train.yaml` (the training defaults, documented), or None."""
    return _first_file(default_train_config_candidates())


def _first_file(candidates: list[Path]) -> Path | None:
    return next((p for p in candidates if p.is_file()), None)
