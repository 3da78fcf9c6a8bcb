"""The VE noise schedule, score matching, score scaling and the samplers.

The VE SDE of GenPose: sigma(t) = sigma_min (sigma_max / sigma_min)^t, t in [eps, 1]. The
network owns its schedule (`PoseNet.noise_schedule`); "schedule" means only this noise
schedule, and the time-dependent weight w_t on the score is its "scaling".

Samplers work on any score function `score_fn(x, t) -> s` with x (B, D) and t (B,), so
they are tested against analytic scores as well as run on the network. They share one
signature, `sampler(score_fn, x, schedule, t_start, **options) -> samples`, with options
of their own after the `*` (k-diffusion's convention); to count score evaluations, wrap
score_fn.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

ScoreFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

EPS = 1e-5
"""Smallest diffusion time, as GenPose."""


@dataclass(frozen=True)
class VESchedule:
    """sigma(t) = sigma_min (sigma_max / sigma_min)^t (the VE SDE of GenPose)."""

    sigma_min: float = 0.01
    sigma_max: float = 50.0

    def sigma(self, t: torch.Tensor) -> torch.Tensor:
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** t

    def dlog_sigma_dt(self) -> float:
        return math.log(self.sigma_max / self.sigma_min)


# --------------------------------------------------------------------------- score matching


class ScoreMatchingLoss(nn.Module):
    """Denoising score matching with lambda(t) = sigma^2 (paper eq. 2/6): E ||sigma s + z||^2.

    x_t = x_0 + sigma(t) z, so (x_t - x_0) / sigma^2 = z / sigma and lambda (s + z / sigma)^2
    = (sigma s + z)^2. Each pose gets `repeats` draws of (t, z) sharing one encoder pass
    (GenPose uses 20).
    """

    def __init__(self, schedule: VESchedule, repeats: int = 20, eps: float = EPS):
        super().__init__()
        self.schedule, self.repeats, self.eps = schedule, repeats, eps

    def forward(
        self,
        score_fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
        feature: torch.Tensor,
        x0: torch.Tensor,
    ) -> torch.Tensor:
        """score_fn(feature, x_t, t) -> s; feature (B, F); x0 (B, D) clean poses. Returns a scalar."""
        feature = feature.repeat_interleave(self.repeats, dim=0)
        x0 = x0.repeat_interleave(self.repeats, dim=0)
        t = torch.rand(x0.shape[0], device=x0.device, dtype=x0.dtype) * (1.0 - self.eps) + self.eps
        sigma = self.schedule.sigma(t).unsqueeze(-1)
        z = torch.randn_like(x0)
        s = score_fn(feature, x0 + sigma * z, t)
        return ((sigma * s + z) ** 2).sum(-1).mean()


# --------------------------------------------------------------------------- score scaling

SCALINGS = ("exponential", "linear", "constant", "none")


def guidance_weight(
    t: torch.Tensor, scaling: str = "exponential", w_min: float = 1.0, w_max: float = 4.0
) -> torch.Tensor:
    """Score-scaling weight w_t (paper eq. 9 and supplement eq. 5).

    exponential: w_min + (w_max - w_min) exp(-5 t); linear: w_max + (w_min - w_max) t;
    constant: w_max; none: 1 (plain sampling). t is the diffusion time in [0, 1].
    """
    if scaling == "exponential":
        return w_min + (w_max - w_min) * torch.exp(-5.0 * t)
    if scaling == "linear":
        return w_max + (w_min - w_max) * t
    if scaling == "constant":
        return torch.full_like(t, w_max)
    if scaling == "none":
        return torch.ones_like(t)
    raise ValueError(f"unknown score scaling {scaling!r}; choose one of {SCALINGS}")


class ScaledScore:
    """s_scaled(x, t) = w_t s(x, t) (paper eq. 8): wraps any score function for the samplers."""

    def __init__(self, score_fn: ScoreFn, scaling: str = "exponential", w_min: float = 1.0, w_max: float = 4.0):
        guidance_weight(torch.zeros(1), scaling, w_min, w_max)  # reject an unknown scaling now
        self.score_fn, self.scaling, self.w_min, self.w_max = score_fn, scaling, w_min, w_max

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        s = self.score_fn(x, t)
        if self.scaling == "none":
            return s
        return guidance_weight(t, self.scaling, self.w_min, self.w_max).unsqueeze(-1).to(s.dtype) * s


# --------------------------------------------------------------------------- samplers


def time_steps(steps: int, t_start: float, t_end: float = EPS, device=None) -> torch.Tensor:
    """`steps` diffusion times from t_start down to t_end, evenly spaced (geometric in sigma)."""
    if steps < 1:
        raise ValueError("steps must be >= 1")
    if steps == 1:
        return torch.tensor([t_start], device=device)
    return torch.linspace(t_start, t_end, steps, device=device)


@torch.no_grad()
def sample_ddim(
    score_fn: ScoreFn,
    x: torch.Tensor,
    schedule: VESchedule,
    t_start: float,
    *,
    steps: int,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """DDIM for the VE SDE (paper supplement eq. 4), from x at t_start down to sigma = 0.

    x_{i+1} = x_i + sigma_i^2 s - sqrt(sigma_{i+1}^2 - (eta sigma_{i+1})^2) sigma_i s
    + eta sigma_{i+1} eps, with s = score_fn(x_i, t_i); pass a ScaledScore for guidance.

    The scaled score enters both terms (eq. 8 substituted into the sampler). Eq. 4 read
    literally scales only the first term; on an analytic 8-mode mixture that reading
    collapses onto one mode at 100+ steps with the exponential scaling and diverges
    with the constant one, contradicting the paper's Table S1/S2 and Figure S3, while
    this form matches them (test_diffusion.py). The times run evenly from t_start to
    EPS in `steps` score evaluations and the last step lands on sigma = 0 (the denoised
    estimate), so no separate denoising pass is needed and no sigma_min-sized noise is
    left in the output.
    """
    ts = time_steps(steps, t_start, device=x.device)
    sigmas = schedule.sigma(ts)
    sigmas_next = torch.cat((sigmas[1:], sigmas.new_zeros(1)))
    # every step's coefficient at once: a few small operations per step fewer (one object's
    # 4-step refinement is bound by operator overhead, not arithmetic)
    coefficients = (sigmas**2 - torch.sqrt(sigmas_next**2 * (1.0 - eta**2)) * sigmas).to(x.dtype)
    for t, coefficient, sigma_next in zip(ts.expand(x.shape[0], -1).T, coefficients, sigmas_next, strict=True):
        x = x + coefficient * score_fn(x, t)
        if eta > 0 and sigma_next > 0:
            x = x + eta * sigma_next * torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return x


@torch.no_grad()
def sample_ode(
    score_fn: ScoreFn,
    x: torch.Tensor,
    schedule: VESchedule,
    t_start: float,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-5,
) -> torch.Tensor:
    """Probability-flow ODE with an adaptive RK45 solver (GenPose's sampler), then denoise.

    dx/dt = -sigma(t) sigma'(t) s(x, t) = -sigma^2 ln(sigma_max / sigma_min) s from t_start
    to EPS, then one Tweedie step x + sigma^2 s to sigma = 0 (GenPose has this step with a
    flipped sign). SciPy solves the whole batch as one system on the CPU, as GenPose does:
    the slow reference path.
    """
    from scipy.integrate import solve_ivp

    shape, device, dtype = x.shape, x.device, x.dtype

    def drift(t: float, y: np.ndarray) -> np.ndarray:
        xt = torch.as_tensor(y, device=device, dtype=dtype).reshape(shape)
        t_batch = torch.full((shape[0],), t, device=device, dtype=dtype)
        dx = -(schedule.sigma(t_batch).unsqueeze(-1) ** 2) * schedule.dlog_sigma_dt() * score_fn(xt, t_batch)
        return dx.reshape(-1).double().cpu().numpy()

    solution = solve_ivp(
        drift, (t_start, EPS), x.reshape(-1).double().cpu().numpy(), rtol=rtol, atol=atol, method="RK45"
    )
    x = torch.as_tensor(solution.y[:, -1], device=device, dtype=dtype).reshape(shape)
    t_end = torch.full((shape[0],), EPS, device=device, dtype=dtype)
    return x + schedule.sigma(t_end).unsqueeze(-1) ** 2 * score_fn(x, t_end)
