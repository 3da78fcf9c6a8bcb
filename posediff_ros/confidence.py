"""A calibrated per-object confidence: the probability that a pose is within 10°5cm.

The signal is how far M poses sampled from pure noise (the paper's sampler: guided DDIM
from T_START in STEPS steps, whatever the engine's own settings) land from the returned
pose: the geometric mean of their mean rotation distance (under the object's symmetry) in
units of 10° and their mean translation distance in units of 5 cm. The encoder ran
already, so the M samples cost only score-head passes. Where the posterior has one clear
mode, noise-started samples fall on the estimate; where the model is unsure (a laptop's
front and back, a mug's handle), they scatter or settle elsewhere. On 1,159 instances of
the synthetic `val` split (shipped model, K=1, start=auto) this separated poses within
10°5cm from the others with AUROC 0.916 at M=8 (0.909 at M=4, 0.919 at M=16); the rotation
distance alone gave 0.901, the samples' spread about their own mean 0.894, the regression
head's disagreement with the refined pose 0.776, and the denoiser's residual at the
estimate 0.55-0.70 (models/README.md, "Confidence").

A monotone (isotonic) map fitted on training-distribution data turns the signal into a
probability. It ships inside the checkpoint under `PAYLOAD_KEY`, versioned; `calibrate`
fits it for a checkpoint. A checkpoint without one gives no score (None).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from .metrics import CORRECT_AT
from .symmetry import SymmetryBatch, rotation_error

PAYLOAD_KEY = "confidence"
VERSION = 1
SIGNAL = "noise_disagreement"
SAMPLES = 8
"""Noise-started samples per object (M): AUROC 0.909 / 0.916 / 0.919 at M = 4 / 8 / 16 on val."""
STEPS = 10
"""Their DDIM steps: AUROC 0.854 / 0.916 at 5 / 10 steps (M = 8) on val."""
T_START = 0.55


def noise_disagreement(
    R_samples: torch.Tensor, t_samples: torch.Tensor, R: torch.Tensor, t: torch.Tensor, symmetry: SymmetryBatch
) -> torch.Tensor:
    """The confidence signal (B,), 0 = every sample on the estimate; larger = less sure.

    sqrt(mean_k angle(R_k, R) / 10° * mean_k |t_k - t| / 5 cm), the angle under each object's
    symmetry (`symmetry.rotation_error`). R_samples (B, M, 3, 3), t_samples (B, M, 3) metres:
    poses sampled from noise; R (B, 3, 3), t (B, 3): the returned poses; symmetry (B,).
    The product makes either distance alone enough to doubt a pose; for an object that every
    rotation maps onto itself (symmetry `any`) the angle is 0, and so is the signal.
    """
    degrees, cm = CORRECT_AT
    angle = torch.rad2deg(rotation_error(R_samples, R.unsqueeze(1).expand_as(R_samples), symmetry.per_sample())).mean(1)
    distance = 100.0 * (t_samples - t.unsqueeze(1)).norm(dim=-1).mean(1)
    return torch.sqrt(angle / degrees * distance / cm)


@dataclass(frozen=True)
class Calibration:
    """A non-increasing, piecewise-linear map from the signal to P(within 10°5cm).

    `signal` (n,) increasing knots and `probability` (n,) non-increasing values there (the
    isotonic fit's blocks, at their mean signal); constant beyond the ends. The signal was
    measured with `samples` (M) samples of `steps` steps from `t_start`: the map holds only
    for them, so the engine measures it so.
    """

    signal: tuple[float, ...]
    probability: tuple[float, ...]
    samples: int = SAMPLES
    steps: int = STEPS
    t_start: float = T_START
    name: str = SIGNAL
    fitted_on: str = ""  # what data, for the record
    count: int = 0  # instances fitted

    def __call__(self, signal: np.ndarray) -> np.ndarray:
        """P(within 10°5cm) (B,) of signals (B,)."""
        return np.interp(np.asarray(signal, float), self.signal, self.probability)

    def as_payload(self) -> dict:
        return {"version": VERSION, **{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}}

    @classmethod
    def from_payload(cls, payload: dict) -> Calibration:
        """ValueError for a version, signal or shape this code does not know."""
        if payload.get("version") != VERSION or payload.get("name") != SIGNAL:
            raise ValueError(
                f"confidence calibration version {payload.get('version')} of signal {payload.get('name')!r}; "
                f"this posediff_ros reads version {VERSION} of {SIGNAL!r}"
            )
        fields = {k: v for k, v in payload.items() if k != "version"}
        calibration = cls(**{**fields, "signal": tuple(fields["signal"]), "probability": tuple(fields["probability"])})
        x, p = np.array(calibration.signal), np.array(calibration.probability)
        if len(x) == 0 or len(x) != len(p) or np.any(np.diff(x) <= 0) or np.any(np.diff(p) > 0):
            raise ValueError("confidence calibration knots must be increasing with non-increasing probabilities")
        return calibration


def sampler_options(calibration: Calibration | None) -> dict:
    """The SamplerSettings fields the signal is measured with: the calibration's, else the defaults."""
    if calibration is None:
        return {"steps": STEPS, "t_start": T_START}
    return {"steps": calibration.steps, "t_start": calibration.t_start}


def checkpoint_calibration(payload: dict) -> tuple[Calibration | None, str]:
    """A checkpoint's calibration, or None with the reason (absent, or of an unknown version)."""
    entry = payload.get(PAYLOAD_KEY)
    if entry is None:
        return None, "the checkpoint has no confidence calibration (fit one with calibrate_confidence)"
    try:
        return Calibration.from_payload(entry), ""
    except (TypeError, ValueError) as error:
        return None, f"the checkpoint's confidence calibration is unusable: {error}"


def fit_isotonic(signal: np.ndarray, positive: np.ndarray, **record) -> Calibration:
    """The least-squares non-increasing fit of `positive` (N,) bool on `signal` (N,) by pool
    adjacent violators, as a Calibration with a knot per block (at the block's mean signal)."""
    order = np.argsort(signal, kind="stable")
    x, y = np.asarray(signal, float)[order], np.asarray(positive, float)[order]
    blocks: list[list[float]] = []  # [sum x, sum y, count]
    for xi, yi in zip(x, y, strict=True):
        blocks.append([xi, yi, 1.0])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] <= blocks[-1][1] / blocks[-1][2]:
            last = blocks.pop()  # a non-decreasing pair violates the order (ties pooled too): merge
            blocks[-1] = [a + b for a, b in zip(blocks[-1], last, strict=True)]
    knots = np.array([b[0] / b[2] for b in blocks])
    values = np.array([b[1] / b[2] for b in blocks])
    keep = np.concatenate(([True], np.diff(knots) > 0))  # equal mean signals cannot both be knots
    return Calibration(tuple(knots[keep].tolist()), tuple(values[keep].tolist()), count=len(x), **record)
