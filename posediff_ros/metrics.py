"""Pose-error metrics of docs/conventions.md §7: n°m cm accuracy per category and averaged.

Rotation error in degrees under the instance's symmetry (`geometry.rotation_error`: the
smallest over its discrete turns; for a continuous axis the angle between those axes),
translation error in cm (Euclidean). Accuracies are fractions in [0, 1] of instances
under both thresholds; the mean is over categories (the paper's mAP with ground-truth
masks), each category counting once whatever its number of instances.
"""

from __future__ import annotations

import numpy as np
import torch

from .geometry import SymmetryBatch, rotation_error

THRESHOLDS: tuple[tuple[float, float], ...] = ((5, 2), (5, 5), (10, 2), (10, 5))
"""(degrees, cm) pairs reported everywhere."""


def threshold_name(degrees: float, cm: float) -> str:
    return f"{degrees:g}deg{cm:g}cm"


def pose_errors(R_pred, t_pred, R_true, t_true, symmetry) -> tuple[np.ndarray, np.ndarray]:
    """Rotation errors (N,) in degrees and translation errors (N,) in cm.

    R_*: (N, 3, 3), t_*: (N, 3) metres, NumPy or torch. symmetry: a SymmetryBatch (N,)
    (`geometry.CategorySymmetries` of the instances' category ids and flags), or the
    per-instance `symmetric` flags (N,) alone: continuous about +y where set.
    """
    R_pred, R_true = (torch.as_tensor(np.asarray(R), dtype=torch.float64) for R in (R_pred, R_true))
    if isinstance(symmetry, SymmetryBatch):
        symmetry = symmetry.to("cpu")
    else:
        symmetry = torch.as_tensor(np.asarray(symmetry, dtype=bool))
    rotation = torch.rad2deg(rotation_error(R_pred, R_true, symmetry)).numpy()
    translation = 100.0 * np.linalg.norm(np.asarray(t_pred, float) - np.asarray(t_true, float), axis=-1)
    return rotation, translation


def summarize(rotation_deg: np.ndarray, translation_cm: np.ndarray) -> dict[str, float]:
    """Accuracies at THRESHOLDS and mean/median errors of one group of instances."""
    rotation_deg, translation_cm = np.asarray(rotation_deg), np.asarray(translation_cm)
    out = {threshold_name(d, c): float(np.mean((rotation_deg <= d) & (translation_cm <= c))) for d, c in THRESHOLDS}
    out.update(
        rotation_mean_deg=float(np.mean(rotation_deg)),
        translation_mean_cm=float(np.mean(translation_cm)),
        rotation_median_deg=float(np.median(rotation_deg)),
        translation_median_cm=float(np.median(translation_cm)),
        count=int(len(rotation_deg)),
    )
    return out


def accuracy_table(rotation_deg: np.ndarray, translation_cm: np.ndarray, categories: list[str]) -> dict:
    """{"per_category": {name: summary}, "mean": summary averaged over categories}."""
    categories = np.asarray(categories)
    if len(categories) == 0:
        raise ValueError("no instances to evaluate")
    per_category = {
        name: summarize(rotation_deg[categories == name], translation_cm[categories == name])
        for name in sorted(set(categories.tolist()))
    }
    mean = {key: float(np.mean([s[key] for s in per_category.values()])) for key in next(iter(per_category.values()))}
    mean["count"] = int(len(categories))
    return {"per_category": per_category, "mean": mean}


def format_table(table: dict) -> str:
    """The table as aligned text, one row per category and the mean over categories last."""
    keys = [threshold_name(d, c) for d, c in THRESHOLDS]
    header = f"{'category':<10}" + "".join(f"{k:>10}" for k in keys) + f"{'rot° mean':>10}{'cm mean':>9}{'count':>7}"
    rows = [header]
    for name, s in list(table["per_category"].items()) + [("mean", table["mean"])]:
        rows.append(
            f"{name:<10}"
            + "".join(f"{100 * s[k]:>10.1f}" for k in keys)
            + f"{s['rotation_mean_deg']:>10.2f}{s['translation_mean_cm']:>9.2f}{s['count']:>7d}"
        )
    return "\n".join(rows)
