"""Samplers against an analytic score: an 8-mode mixture of Gaussians on a ring.

The exact score of the noised mixture is known in closed form, so these tests check the
samplers and the paper's claims about score scaling without any network: plain sampling
reproduces the distribution, constant scaling collapses it onto the strongest modes,
the exponential scaling keeps every mode while shrinking each mode's spread
(Figure 2 / S3), and under guidance 10 DDIM steps land where 500 do (Table S1).
"""

import math

import pytest
import torch

from posediff_ros.diffusion import ScaledScore, VESchedule, guidance_weight, sample_ddim, sample_ode

SCHEDULE = VESchedule()
MODES = 8
ANGLES = torch.arange(MODES) * 2 * math.pi / MODES
MEANS = torch.stack((ANGLES.cos(), ANGLES.sin()), -1)
WEIGHTS = torch.tensor([0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05])
STD = 0.08
T_START = 0.55
N = 4000


def mixture_score(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Exact score of sum_k w_k N(mu_k, (STD^2 + sigma(t)^2) I)."""
    variance = STD**2 + SCHEDULE.sigma(t).unsqueeze(-1) ** 2  # (B, 1)
    offset = x.unsqueeze(1) - MEANS  # (B, K, 2)
    responsibility = torch.softmax(WEIGHTS.log() - (offset**2).sum(-1) / (2 * variance), dim=-1)
    return -(responsibility.unsqueeze(-1) * offset).sum(1) / variance


def start(n: int = N, seed: int = 0, t_start: float = T_START) -> torch.Tensor:
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed)) * SCHEDULE.sigma(torch.tensor(t_start))


def summary(x: torch.Tensor) -> tuple[torch.Tensor, float, float]:
    """Fraction of samples nearest each mode, median distance to the nearest mode, outlier fraction."""
    distance = torch.cdist(x, MEANS)
    nearest = distance.min(1)
    fractions = torch.bincount(nearest.indices, minlength=MODES).float() / len(x)
    return fractions, nearest.values.median().item(), (nearest.values > 4 * STD).float().mean().item()


def ddim(scaling: str, steps: int, x: torch.Tensor | None = None, t_start: float = T_START) -> torch.Tensor:
    return sample_ddim(
        ScaledScore(mixture_score, scaling),
        start(t_start=t_start) if x is None else x,
        SCHEDULE,
        t_start,
        steps=steps,
    )


def test_guidance_weights_follow_the_papers_scalings():
    t = torch.tensor([0.0, 0.2, 1.0])
    assert torch.allclose(guidance_weight(t, "exponential"), 1 + 3 * torch.exp(-5 * t))
    assert torch.allclose(guidance_weight(t, "linear"), torch.tensor([4.0, 3.4, 1.0]))
    assert torch.allclose(guidance_weight(t, "constant"), torch.full((3,), 4.0))
    assert torch.allclose(guidance_weight(t, "none"), torch.ones(3))
    with pytest.raises(ValueError, match="unknown score scaling"):
        guidance_weight(t, "cosine")
    with pytest.raises(ValueError, match="unknown score scaling"):
        ScaledScore(mixture_score, "cosine")


def test_unguided_sampling_reproduces_the_distribution():
    # from t = 1 (sigma = 50 >> the ring), where N(0, sigma^2) is the noised data's law
    fractions, spread, _ = summary(ddim("none", 200, t_start=1.0))
    assert (fractions - WEIGHTS).abs().max() < 0.03
    # median distance of a 2-D Gaussian sample from its mean is STD * sqrt(2 ln 2) = 1.18 STD
    assert abs(spread - 1.18 * STD) < 0.15 * STD


def test_constant_scaling_collapses_onto_the_strongest_modes():
    fractions, spread, _ = summary(ddim("constant", 100))
    assert fractions[:2].sum() > 0.75  # the two heaviest modes hold 50 % of the mass
    assert fractions[6:].sum() < 0.5 * WEIGHTS[6:].sum()  # the weakest modes starve


def test_exponential_scaling_keeps_every_mode_and_shrinks_each():
    fractions, spread, outliers = summary(ddim("exponential", 100))
    assert (fractions > 0.6 * WEIGHTS).all(), fractions  # no mode is lost
    assert spread < 0.5 * 1.18 * STD  # each mode is sharper than the data's
    _, _, plain_outliers = summary(ddim("none", 10))
    assert outliers <= plain_outliers and outliers < 0.005


def test_few_ddim_steps_match_many_under_guidance():
    x = start(seed=1)
    few, many = ddim("exponential", 10, x.clone()), ddim("exponential", 500, x.clone())
    f_few, s_few, _ = summary(few)
    f_many, s_many, _ = summary(many)
    assert (f_few - f_many).abs().sum() < 0.06
    assert abs(s_few - s_many) < 0.3 * STD
    # the same noise mostly reaches the same mode
    assert (torch.cdist(few, MEANS).argmin(1) == torch.cdist(many, MEANS).argmin(1)).float().mean() > 0.9


def test_adaptive_ode_sampler_agrees_with_fine_ddim():
    x = start(500, seed=2)
    evaluations = 0

    def counted_score(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        nonlocal evaluations
        evaluations += 1
        return mixture_score(x, t)

    ode = sample_ode(ScaledScore(counted_score, "exponential"), x.clone(), SCHEDULE, T_START)
    fine = ddim("exponential", 500, x.clone())
    assert evaluations < 500
    assert (torch.cdist(ode, MEANS).argmin(1) == torch.cdist(fine, MEANS).argmin(1)).float().mean() > 0.95
    assert (ode - fine).norm(dim=-1).median() < 0.02


def test_stochastic_ddim_is_random_but_lands_on_the_modes():
    """eta > 0 in the paper's eq. 4 re-noises the denoised estimate by eta sigma_{i+1}; it is
    not an exact sampler of the data (it over-weights the heavy modes: 0.41 for a 0.30
    mode here), so only its randomness and its landing on the modes are checked."""

    def run(seed: int) -> torch.Tensor:
        return sample_ddim(
            ScaledScore(mixture_score, "none"),
            start(t_start=1.0),
            SCHEDULE,
            1.0,
            steps=200,
            eta=1.0,
            generator=torch.Generator().manual_seed(seed),
        )

    a, b = run(3), run(4)
    assert (a - b).norm(dim=-1).median() > 0.05
    fractions, spread, outliers = summary(a)
    assert (fractions > 0).all() and outliers < 0.01 and spread < 2 * STD
