"""Pose-error metrics of docs/conventions.md §7: n°m cm accuracy per category and averaged.

Rotation error in degrees under the instance's symmetry (`symmetry.rotation_error`: the
smallest over its discrete turns; for a continuous axis the angle between those axes),
translation error in cm (Euclidean). Accuracies are fractions in [0, 1] of instances
under both thresholds; the mean is over categories (the paper's mAP with ground-truth
masks), each category counting once whatever its number of instances.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.stats import rankdata

from .symmetry import SymmetryBatch, rotation_error

THRESHOLDS: tuple[tuple[float, float], ...] = ((5, 2), (5, 5), (10, 2), (10, 5))
"""(degrees, cm) pairs reported everywhere."""


def threshold_name(degrees: float, cm: float) -> str:
    return f"{degrees:g}deg{cm:g}cm"


def pose_errors(R_pred, t_pred, R_true, t_true, symmetry: SymmetryBatch) -> tuple[np.ndarray, np.ndarray]:
    """Rotation errors (N,) in degrees and translation errors (N,) in cm.

    R_*: (N, 3, 3), t_*: (N, 3) metres, NumPy or torch. symmetry: the instances' SymmetryBatch
    (N,) (`SymmetryBatch.of` their symmetries, or `SymmetryBatch.from_flags` of the
    per-instance `symmetric` flags alone).
    """
    R_pred, R_true = (torch.as_tensor(np.asarray(R), dtype=torch.float64) for R in (R_pred, R_true))
    rotation = torch.rad2deg(rotation_error(R_pred, R_true, symmetry.to("cpu"))).numpy()
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


# --------------------------------------------------------------------------- confidence

CORRECT_AT = (10, 5)
"""(degrees, cm): the threshold a confidence predicts (docs/conventions.md §8.2: P(within 10°5cm))."""
CALIBRATION_BINS = 10
COVERAGE = 0.9


def is_correct(rotation_deg: np.ndarray, translation_cm: np.ndarray) -> np.ndarray:
    """(N,) bool: within CORRECT_AT."""
    degrees, cm = CORRECT_AT
    return (np.asarray(rotation_deg) <= degrees) & (np.asarray(translation_cm) <= cm)


def auroc(score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of `score` (N,) separating `positive` (N,) bool from the rest:
    the chance that a random positive scores above a random negative (ties count half),
    by the Mann-Whitney rank sum. NaN when either class is empty."""
    score, positive = np.asarray(score, float), np.asarray(positive, bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)  # ties share their mean rank
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def reliability(probability: np.ndarray, positive: np.ndarray, bins: int = CALIBRATION_BINS) -> dict:
    """Equal-width bins of the predicted probability (N,) on [0, 1]: per bin the mean predicted
    probability, the observed fraction of positives and the count (empty bins: NaN, 0), and the
    expected calibration error, sum over bins of count / N * |observed - predicted|."""
    probability, positive = np.asarray(probability, float), np.asarray(positive, bool)
    index = np.clip((probability * bins).astype(int), 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore"):
        predicted = np.bincount(index, probability, bins) / count
        observed = np.bincount(index, positive.astype(float), bins) / count
    filled = count > 0
    ece = float(np.sum(count[filled] * np.abs(observed[filled] - predicted[filled])) / max(len(probability), 1))
    return {"predicted": predicted.tolist(), "observed": observed.tolist(), "count": count.tolist(), "ece": ece}


def accuracy_at_coverage(score: np.ndarray, positive: np.ndarray, coverage: float = COVERAGE) -> float:
    """Fraction of positives among the ceil(coverage * N) highest-scoring instances: the accuracy
    a robot gets when it rejects the least confident (1 - coverage) of the poses."""
    score, positive = np.asarray(score, float), np.asarray(positive, bool)
    kept = int(np.ceil(coverage * len(score)))
    if kept == 0:
        return float("nan")
    return float(positive[np.argsort(-score, kind="stable")[:kept]].mean())


def confidence_summary(score: np.ndarray, rotation_deg: np.ndarray, translation_cm: np.ndarray) -> dict:
    """How well a per-instance probability of being within CORRECT_AT ranks and is calibrated:
    AUROC, ECE with its reliability bins, the accuracy at COVERAGE and without rejection."""
    positive = is_correct(rotation_deg, translation_cm)
    return {
        "auroc": auroc(score, positive),
        "ece": (bins := reliability(score, positive))["ece"],
        "accuracy_at_coverage": accuracy_at_coverage(score, positive),
        "coverage": COVERAGE,
        "accuracy": float(positive.mean()) if len(positive) else float("nan"),
        "mean_score": float(np.mean(score)) if len(score) else float("nan"),
        "count": int(len(score)),
        "reliability": bins,
    }


# --------------------------------------------------------------------------- tracking jitter

JITTER_QUANTILES = {"median": 50, "p90": 90}


def error_pose_changes(
    R_pred: np.ndarray, t_pred: np.ndarray, R_true: np.ndarray, t_true: np.ndarray, symmetry: SymmetryBatch
) -> tuple[np.ndarray, np.ndarray]:
    """Frame-to-frame change of one object's pose error over T consecutive frames -> rotation (T-1,)
    in degrees and translation (T-1,) in mm.

    The error is taken in the true object frame, E = R_true^T R_pred and d = R_true^T (t_pred -
    t_true), so that a moving camera does not count, only the estimate moving against the object.
    The rotation change is rotation_error(E_k+1, E_k) under the object's symmetry (T,) (for a
    continuous axis, the angle its estimated axis turned), the translation change |d_k+1 - d_k|.
    R_*: (T, 3, 3), t_*: (T, 3) metres.
    """
    R_pred, R_true = (torch.as_tensor(np.asarray(R), dtype=torch.float64) for R in (R_pred, R_true))
    E = R_true.transpose(-1, -2) @ R_pred
    d = torch.einsum("tji,tj->ti", R_true, torch.as_tensor(np.asarray(t_pred, float) - np.asarray(t_true, float)))
    symmetry = symmetry.to("cpu").select(slice(1, None))
    rotation = torch.rad2deg(rotation_error(E[1:], E[:-1], symmetry)).numpy()
    translation = 1000.0 * (d[1:] - d[:-1]).norm(dim=-1).numpy()
    return rotation, translation


def jitter_table(rotation_deg: np.ndarray, translation_mm: np.ndarray, categories: list[str]) -> dict:
    """Median and p90 of the frame-to-frame error changes (N,) per category and the mean over
    categories: {"per_category": {name: {rotation_median_deg, ..., count}}, "mean": ...}."""
    categories = np.asarray(categories)
    if len(categories) == 0:
        return {"per_category": {}, "mean": {}}

    def quantiles(mask: np.ndarray) -> dict:
        out = {}
        for name, q in JITTER_QUANTILES.items():
            out[f"rotation_{name}_deg"] = float(np.percentile(rotation_deg[mask], q))
            out[f"translation_{name}_mm"] = float(np.percentile(translation_mm[mask], q))
        return out | {"count": int(mask.sum())}

    per_category = {name: quantiles(categories == name) for name in sorted(set(categories.tolist()))}
    mean = {key: float(np.mean([s[key] for s in per_category.values()])) for key in next(iter(per_category.values()))}
    mean["count"] = int(len(categories))
    return {"per_category": per_category, "mean": mean}
