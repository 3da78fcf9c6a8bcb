"""Depth-sensor noise and detector-like mask noise, each a small switchable dataclass.

Depth model (an active-stereo / structured-light sensor such as a RealSense D435 or a
Kinect, after Nguyen, Izadi & Lovell 2012 "Modeling Kinect sensor noise"):
  * axial Gaussian noise, sigma(z, theta) = sigma_base + sigma_quadratic (z - 0.4)^2
    + sigma_angle / sqrt(z) * theta^2 / (pi/2 - theta)^2, theta the angle of incidence
    (clipped at max_angle_deg so the term stays finite);
  * disparity quantisation: d = fx * baseline / z rounded to `subpixel` pixels;
  * dropout: at depth discontinuities (3x3 range above edge_threshold) with probability
    edge_dropout, on grazing surfaces with a probability rising linearly from 0 at
    grazing_start_deg to grazing_dropout at 90 degrees, everywhere with speckle_dropout,
    and outside [min_range, max_range].
Mask model (what an instance segmenter outputs, not the ideal silhouette): per instance,
with morph_prob an erosion or a dilation (into background only) by 1..max_radius pixels,
and with bleed_prob a "bleed" that grows the mask by bleed_radius pixels over one side
(a random half-plane through its centroid), overwriting whatever was there.
Pixel radii are meant for 640x480 images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class DepthNoise:
    enabled: bool = True
    sigma_base: float = 0.0012  # m
    sigma_quadratic: float = 0.0019  # m per m^2 of (z - 0.4)^2
    sigma_angle: float = 0.0001  # m * sqrt(m)
    max_angle_deg: float = 75.0
    baseline: float = 0.05  # m; 0 disables disparity quantisation
    subpixel: float = 0.125  # px
    edge_threshold: float = 0.02  # m
    edge_dropout: float = 0.6
    grazing_start_deg: float = 75.0
    grazing_dropout: float = 1.0
    speckle_dropout: float = 0.002
    min_range: float = 0.1  # m
    max_range: float = 6.0  # m

    def sigma(self, z: np.ndarray, cos_incidence: np.ndarray) -> np.ndarray:
        """Axial noise standard deviation (m) at depth z (m) and incidence cosine."""
        theta = np.minimum(np.arccos(np.clip(cos_incidence, 0.0, 1.0)), np.deg2rad(self.max_angle_deg))
        angle_term = self.sigma_angle / np.sqrt(np.maximum(z, 1e-3)) * theta**2 / (np.pi / 2 - theta) ** 2
        return self.sigma_base + self.sigma_quadratic * (z - 0.4) ** 2 + angle_term

    def quantisation_step(self, z: np.ndarray, fx: float) -> np.ndarray:
        """Depth step (m) of one disparity quantum at depth z: z^2 subpixel / (fx baseline)."""
        return z**2 * self.subpixel / (fx * self.baseline) if self.baseline > 0 else np.zeros_like(z)

    def __call__(self, depth: np.ndarray, cos_incidence: np.ndarray, fx: float, rng: np.random.Generator) -> np.ndarray:
        """Noisy copy of a clean (H, W) float32 depth image in metres (0 = no surface).

        fx: the sensor's focal length in pixels (of its full-resolution image; it sets the
        disparity quantisation).
        """
        if not self.enabled:
            return depth.copy()
        hit = depth > 0
        far = np.where(hit, depth, self.max_range * 2)  # a miss is a jump to "far away"
        jump = ndimage.maximum_filter(far, 3, mode="nearest") - ndimage.minimum_filter(far, 3, mode="nearest")
        u = rng.random(depth.shape)
        drop = (jump > self.edge_threshold) & (u < self.edge_dropout)
        cos_start = np.cos(np.deg2rad(self.grazing_start_deg))
        p_grazing = self.grazing_dropout * np.clip((cos_start - cos_incidence) / cos_start, 0.0, 1.0)
        drop |= rng.random(depth.shape) < p_grazing
        drop |= rng.random(depth.shape) < self.speckle_dropout
        z = depth + rng.standard_normal(depth.shape).astype(np.float32) * self.sigma(depth, cos_incidence)
        if self.baseline > 0:
            fb = fx * self.baseline
            disparity = np.round(fb / np.maximum(z, 1e-3) / self.subpixel) * self.subpixel
            z = fb / np.maximum(disparity, self.subpixel)
        keep = hit & ~drop & (z >= self.min_range) & (z <= self.max_range)
        return np.where(keep, z, 0.0).astype(np.float32)


def _disk(radius: int) -> np.ndarray:
    r = np.arange(-radius, radius + 1)
    return (r[:, None] ** 2 + r[None, :] ** 2) <= radius**2 + radius  # slightly rounder than a cross at r=1


@dataclass(frozen=True)
class MaskNoise:
    enabled: bool = True
    morph_prob: float = 0.6
    max_radius: int = 2  # px
    bleed_prob: float = 0.1
    bleed_radius: tuple[int, int] = (3, 8)  # px, inclusive range

    def __call__(self, labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Noisy copy of an (H, W) integer label image (0 = background)."""
        out = labels.copy()
        if not self.enabled:
            return out
        for label in np.unique(labels[labels > 0]):
            # Draw every instance's random numbers up front so that the stream of draws does
            # not depend on the geometry (keeps runs comparable when geometry changes).
            morph, radius, dilate = rng.random(), int(rng.integers(1, self.max_radius + 1)), rng.random() < 0.5
            bleed, bleed_r, angle = (
                rng.random(),
                int(rng.integers(self.bleed_radius[0], self.bleed_radius[1] + 1)),
                rng.uniform(0, 2 * np.pi),
            )
            pad = max(radius, bleed_r) + 1
            rows, cols = np.nonzero(out == label)
            if len(rows) == 0:  # swallowed by an earlier bleed
                continue
            r0, r1 = max(rows.min() - pad, 0), min(rows.max() + pad + 1, out.shape[0])
            c0, c1 = max(cols.min() - pad, 0), min(cols.max() + pad + 1, out.shape[1])
            crop = out[r0:r1, c0:c1]  # a view: edits land in `out`
            mask = crop == label
            if morph < self.morph_prob:
                if dilate:
                    crop[ndimage.binary_dilation(mask, _disk(radius)) & (crop == 0)] = label
                else:
                    # border_value=1: the image border is not an edge of the object.
                    crop[mask & ~ndimage.binary_erosion(mask, _disk(radius), border_value=1)] = 0
                mask = crop == label
            if bleed < self.bleed_prob and mask.any():
                rr, cc = np.nonzero(mask)
                yy, xx = np.mgrid[0 : crop.shape[0], 0 : crop.shape[1]]
                side = (yy - rr.mean()) * np.sin(angle) + (xx - cc.mean()) * np.cos(angle) > 0
                crop[ndimage.binary_dilation(mask, _disk(bleed_r)) & side] = label
        return out
