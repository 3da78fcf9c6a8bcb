"""VUS@n°m cm: Omni6DPose's volume under the accuracy surface, beside the n°m cm accuracies.

For one group of instances, the accuracy at thresholds (d°, c cm) is the fraction with
rotation error < d and translation error < c. VUS@n°m cm is the mean of that accuracy
over the thresholds 0 < d <= n, 0 < c <= m: the volume under the accuracy surface divided
by the area n·m, so 1 when every error is zero and 0 when none is inside (n°, m cm).
As Omni6DPose computes it (cutoop `eval_utils.DetectMatch.metrics`, `pose_auc_ranges`),
the integral is the midpoint rule on a 100 x 100 grid, d_i = (i + 1/2) n/100 and
c_j = (j + 1/2) m/100, with strict inequalities. The indicator of one instance is
separable, 1[r < d_i] 1[t < c_j], so the grid mean is the mean over instances of the two
per-axis pass fractions multiplied, computed here without building the grid.
Errors come from metrics.pose_errors (rotation in degrees, translation in cm); skipped
instances (180°, inf cm) and NaN count as failures. Tables are per category and the mean
over categories, as metrics.accuracy_table (docs/conventions.md §7).
"""

from __future__ import annotations

import numpy as np

VUS_LIMITS: tuple[tuple[float, float], ...] = ((5, 2), (5, 5), (10, 2), (10, 5))
"""(degrees, cm) upper limits reported by Omni6DPose (ROPE)."""
VUS_STEPS = 100
"""Midpoints per axis (cutoop: steps of 0.05° up to 5°, 0.1° up to 10°, 0.02 cm up to 2 cm, 0.05 cm up to 5 cm)."""


def vus_name(degrees: float, cm: float) -> str:
    return f"vus_{degrees:g}deg{cm:g}cm"


def pass_fraction(errors: np.ndarray, limit: float, steps: int = VUS_STEPS) -> np.ndarray:
    """(N,): the fraction of the `steps` midpoint thresholds in (0, limit) each error is below."""
    thresholds = (np.arange(steps) + 0.5) * (limit / steps)
    return np.mean(errors[:, None] < thresholds[None, :], axis=1)


def vus(
    rotation_deg: np.ndarray, translation_cm: np.ndarray, degrees: float, cm: float, steps: int = VUS_STEPS
) -> float:
    """VUS@`degrees`°`cm` cm of one group of instances, in [0, 1]."""
    rotation_deg = np.asarray(rotation_deg, float).reshape(-1)
    translation_cm = np.asarray(translation_cm, float).reshape(-1)
    if len(rotation_deg) != len(translation_cm) or len(rotation_deg) == 0:
        raise ValueError(
            f"VUS needs as many rotation as translation errors, at least one: got {len(rotation_deg)} and "
            f"{len(translation_cm)}"
        )
    if degrees <= 0 or cm <= 0 or steps < 1:
        raise ValueError(f"VUS limits must be positive and steps >= 1, not {degrees}°, {cm} cm, {steps} steps")
    return float(np.mean(pass_fraction(rotation_deg, degrees, steps) * pass_fraction(translation_cm, cm, steps)))


def vus_summary(
    rotation_deg: np.ndarray, translation_cm: np.ndarray, limits: tuple[tuple[float, float], ...] = VUS_LIMITS
) -> dict[str, float]:
    """{vus_name: value} of one group at each (degrees, cm) of `limits`."""
    return {vus_name(d, c): vus(rotation_deg, translation_cm, d, c) for d, c in limits}


def vus_table(
    rotation_deg: np.ndarray,
    translation_cm: np.ndarray,
    categories: list[str],
    limits: tuple[tuple[float, float], ...] = VUS_LIMITS,
) -> dict:
    """{"per_category": {name: {vus_name: value}}, "mean": the same averaged over categories}."""
    rotation_deg, translation_cm = np.asarray(rotation_deg, float), np.asarray(translation_cm, float)
    categories = np.asarray(categories)
    if len(categories) == 0 or len(categories) != len(rotation_deg):
        raise ValueError(f"VUS table: {len(categories)} category names for {len(rotation_deg)} instances")
    per_category = {
        name: vus_summary(rotation_deg[categories == name], translation_cm[categories == name], limits)
        for name in sorted(set(categories.tolist()))
    }
    mean = {vus_name(d, c): float(np.mean([s[vus_name(d, c)] for s in per_category.values()])) for d, c in limits}
    return {"per_category": per_category, "mean": mean}


def format_vus_table(table: dict) -> str:
    """The VUS table as aligned text (percent), one row per category and the mean last."""
    keys = list(table["mean"])
    rows = [f"{'category':<16}" + "".join(f"{k:>16}" for k in keys)]
    for name, values in list(table["per_category"].items()) + [("mean", table["mean"])]:
        rows.append(f"{name:<16}" + "".join(f"{100 * values[k]:>16.1f}" for k in keys))
    return "\n".join(rows)
