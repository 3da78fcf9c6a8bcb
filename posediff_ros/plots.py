"""Evaluation figures: accuracy-vs-threshold curves, rotation samples on a Mollweide map, a
reliability diagram of the confidence and the tracking jitter.

Every function takes arrays and an output path and draws with matplotlib's Agg backend
(no display needed); nothing here runs the network, so the evaluator and the benchmarks
share these functions.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: works on headless machines and in CI

import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

ROTATION_RANGE_DEG = 60.0
TRANSLATION_RANGE_CM = 10.0
CURVE_TRANSLATION_CM = 5.0


def accuracy_curve(errors: np.ndarray, thresholds: np.ndarray, also_under: np.ndarray | None = None) -> np.ndarray:
    """Fraction of instances with error <= each threshold (and `also_under` True), (T,)."""
    ok = np.ones(len(errors), bool) if also_under is None else np.asarray(also_under, bool)
    return np.array([np.mean((errors <= x) & ok) for x in thresholds])


def plot_accuracy_curves(
    rotation_deg: np.ndarray,
    translation_cm: np.ndarray,
    categories: list[str],
    path: str | Path,
    title: str = "",
) -> None:
    """Three panels, per category and the mean over categories (the paper's averaging):
    rotation threshold 0..60° at translation <= 5 cm, the same with any translation, and
    translation threshold 0..10 cm with any rotation.

    rotation_deg, translation_cm: (N,) per-instance errors (skipped instances as 180° and
    inf, so they never count as correct); categories: (N,) names.
    """
    rotation_deg, translation_cm = np.asarray(rotation_deg, float), np.asarray(translation_cm, float)
    categories = np.asarray(categories)
    names = sorted(set(categories.tolist()))
    rot_x = np.linspace(0.0, ROTATION_RANGE_DEG, 121)
    trans_x = np.linspace(0.0, TRANSLATION_RANGE_CM, 101)
    panels = [
        (
            rot_x,
            "rotation threshold (°)",
            f"rotation, translation ≤ {CURVE_TRANSLATION_CM:g} cm",
            lambda m: accuracy_curve(rotation_deg[m], rot_x, translation_cm[m] <= CURVE_TRANSLATION_CM),
        ),
        (
            rot_x,
            "rotation threshold (°)",
            "rotation, any translation",
            lambda m: accuracy_curve(rotation_deg[m], rot_x),
        ),
        (
            trans_x,
            "translation threshold (cm)",
            "translation, any rotation",
            lambda m: accuracy_curve(translation_cm[m], trans_x),
        ),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), constrained_layout=True)
    for ax, (x, xlabel, panel_title, curve) in zip(axes, panels, strict=True):
        per_category = [curve(categories == name) for name in names]
        for name, y in zip(names, per_category, strict=True):
            ax.plot(x, 100 * y, lw=1.2, label=f"{name} ({np.count_nonzero(categories == name)})")
        ax.plot(x, 100 * np.mean(per_category, axis=0), "k", lw=2.5, label="mean")
        ax.set(xlabel=xlabel, ylabel="instances under threshold (%)", title=panel_title, ylim=(0, 100), xlim=(0, x[-1]))
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def relative_yaw_pitch_roll(R: np.ndarray, R_true: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Yaw, pitch, roll in radians of each rotation relative to the ground truth, (K,) each.

    R: (K, 3, 3) object -> camera samples; R_true: (3, 3). The relative rotation
    D = R_true^T R is expressed in the true object frame (D = I at the ground truth) and
    factored as D = Ry(yaw) Rx(pitch) Rz(roll) about the object's axes: yaw in (-pi, pi]
    about +y (the symmetry axis of bottles, bowls, cans and mugs, so a symmetric
    distribution spreads along the equator), pitch in [-pi/2, pi/2] about +x, roll in
    (-pi, pi] about +z. Equivalently (yaw, pitch) locate D's z axis on the sphere and roll
    is the spin about it.
    """
    D = np.einsum("ji,kjl->kil", np.asarray(R_true, float), np.asarray(R, float))
    yaw = np.arctan2(D[:, 0, 2], D[:, 2, 2])
    pitch = np.arcsin(np.clip(-D[:, 1, 2], -1.0, 1.0))
    roll = np.arctan2(D[:, 1, 0], D[:, 1, 1])
    return yaw, pitch, roll


def plot_rotation_samples(
    panels: dict[str, np.ndarray],
    R_true: np.ndarray,
    path: str | Path,
    title: str = "",
) -> None:
    """Paper Figure 2: sampled rotations on a Mollweide map, one panel per sampler setting.

    panels: {panel title: (K, 3, 3) sampled rotations}; R_true: (3, 3) ground truth.
    Longitude = yaw, latitude = pitch, colour = roll (see relative_yaw_pitch_roll), so the
    ground truth, marked with a ring, sits at the centre of every map.
    """
    fig = plt.figure(figsize=(6.5 * len(panels), 4.2), constrained_layout=True)
    scatter = None
    for i, (name, R) in enumerate(panels.items()):
        ax = fig.add_subplot(1, len(panels), i + 1, projection="mollweide")
        yaw, pitch, roll = relative_yaw_pitch_roll(R, R_true)
        scatter = ax.scatter(yaw, pitch, c=roll, cmap="twilight", vmin=-np.pi, vmax=np.pi, s=18, edgecolors="none")
        ax.scatter([0.0], [0.0], s=160, facecolors="none", edgecolors="red", linewidths=2, label="ground truth")
        ax.set_title(f"{name} (K={len(R)})", pad=14)
        ax.set_xlabel("yaw about +y (longitude)")
        ax.set_ylabel("pitch (latitude)")
        ax.grid(alpha=0.4)
        ax.tick_params(labelsize=7)
    colourbar = fig.colorbar(scatter, ax=fig.axes, shrink=0.7, ticks=[-np.pi, 0, np.pi])
    colourbar.ax.set_yticklabels(["-180°", "0°", "180°"])
    colourbar.set_label("roll")
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_reliability(reliability: dict, path: str | Path, title: str = "") -> None:
    """Reliability diagram: observed fraction within 10°5cm against the predicted probability per
    bin (metrics.reliability's dict: predicted, observed, count, ece), beside the diagonal, with
    the bins' instance counts below."""
    bins = len(reliability["count"])
    centres = (np.arange(bins) + 0.5) / bins
    predicted, observed = np.asarray(reliability["predicted"], float), np.asarray(reliability["observed"], float)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(5, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}, constrained_layout=True
    )
    top.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
    top.bar(centres, np.nan_to_num(observed), width=1 / bins, alpha=0.4, edgecolor="k", label="observed")
    top.plot(predicted, observed, "o-", color="C3", label="per bin (mean predicted)")
    top.set(ylabel="fraction within 10°5cm", xlim=(0, 1), ylim=(0, 1), title=f"ECE {reliability['ece']:.3f}")
    top.legend(loc="upper left", fontsize=8)
    bottom.bar(centres, reliability["count"], width=1 / bins, color="grey", edgecolor="k")
    bottom.set(xlabel="predicted probability (score)", ylabel="instances")
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_jitter(
    rotation_deg: np.ndarray, translation_mm: np.ndarray, categories: list[str], path: str | Path, title: str = ""
) -> None:
    """Tracking jitter: the distribution of the frame-to-frame change of the pose error, per
    category (box plots: median, quartiles, 5-95 %), rotation (°) and translation (mm)."""
    categories = np.asarray(categories)
    names = sorted(set(categories.tolist()))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for ax, values, label in (
        (axes[0], rotation_deg, "rotation change (°)"),
        (axes[1], translation_mm, "translation change (mm)"),
    ):
        ax.boxplot([np.asarray(values)[categories == n] for n in names], whis=(5, 95), showfliers=False)
        ax.set_xticks(range(1, len(names) + 1), [f"{n}\n({np.count_nonzero(categories == n)})" for n in names])
        ax.set(ylabel=label, title=f"{label.split()[0]}: frame-to-frame change of the pose error")
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_yscale("log")  # a flipped laptop's 180° beside a bottle's 1°
    if title:
        fig.suptitle(title)
    fig.savefig(path, dpi=100)
    plt.close(fig)
