"""The baseline's (GenPose's) point-cloud augmentations of per-object training samples.

`augment` takes an `objects.training_sample` dict and returns a new one whose points, R, t
and size stay consistent (docs/conventions.md §3: `X_cam = R @ X_obj + t`, t the box centre, size the
box extents). Each augmentation is applied independently with its probability:

  1. anisotropic scaling of the object about its box centre along its own axes, x and z
     tied for objects symmetric about +y (they must stay round);
  2. the box-cage taper (bowls and mugs): x and z scaled by a factor that varies linearly
     with height y, from `bottom` at y = -h/2 to `top` at y = +h/2;
  3. a small rigid jitter of points and pose together about the box centre;
  4. per-point Gaussian noise with a standard deviation proportional to each point's
     distance from the box centre.

The shape deformations (1, 2) come first, then the rigid motion, then the noise, which acts
like sensor noise on the final object. Mask erosion/dilation, the baseline's fifth
augmentation, is `noise.MaskNoise` at render time. `augmented` wraps a dataset so its
samples are augmented on the fly (training only; validation data is never wrapped).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from ..categories import NOCS_CATEGORIES, CategoryTable
from ..geometry import axis_angle_to_matrix

AUGMENT = 11  # keeps augmentation seeds apart from the data sources' own seeds


@dataclass(frozen=True)
class Augmentations:
    """Switch, probabilities and ranges (GenPose's defaults: p = 0.3 each, 0.8-1.2, 15°/5 cm)."""

    enabled: bool = True
    scale_prob: float = 0.3
    scale_range: tuple[float, float] = (0.8, 1.2)
    """Per-axis box scale factor, uniform; one factor for x and z of objects continuous about +y."""
    taper_prob: float = 0.3
    taper_range: tuple[float, float] = (0.8, 1.2)
    """x-z scale factors at the bottom (y = -h/2) and top (y = +h/2), each uniform, independent."""
    taper_categories: tuple[str, ...] = ("bowl", "mug")
    jitter_prob: float = 0.3
    jitter_max_deg: float = 15.0
    """Rotation about a uniformly random axis by an angle uniform in [0, jitter_max_deg]."""
    jitter_max_m: float = 0.05
    """Translation uniform in ±jitter_max_m metres per camera axis."""
    noise_prob: float = 0.3
    noise_range: tuple[float, float] = (0.01, 0.03)
    """sigma, uniform per sample: each point moves by N(0, (sigma * |p - t|)^2) per axis."""


def augment(
    sample: dict, rng: np.random.Generator, config: Augmentations, categories: CategoryTable = NOCS_CATEGORIES
) -> dict:
    """A new sample dict with augmented points, R, t and size; the input is not mutated.

    sample: `objects.training_sample` entries, torch tensors or numpy arrays: points (N, 3)
    camera frame metres (uncentred), R (3, 3) object -> camera, t (3,) metres box centre in
    the camera frame, size (3,) metres, category (NOCS id), symmetric. The four arrays come
    back in the input's type and dtype; other entries are shared with the input.
    All randomness comes from `rng`; with `config.enabled` False nothing is drawn.
    """
    out = dict(sample)
    if not config.enabled:
        return out
    # Work in float64 numpy, converting at the boundary once.
    points, R, t, size = (np.array(_numpy(sample[key]), dtype=np.float64) for key in ("points", "R", "t", "size"))
    category = categories.by_id(int(sample["category"]))
    local = (points - t) @ R  # (N, 3) object frame, centred on the box
    # Points are rebuilt from `local` only when something moved them, so that a sample no
    # augmentation touched keeps its exact values rather than a float round trip's.
    moved = False
    if rng.random() < config.scale_prob:
        factors = rng.uniform(*config.scale_range, size=3)
        # A surface of revolution stays one only when x and z scale alike; this covers a
        # mug seen without its handle too (its sample is flagged symmetric), whose visible
        # body would otherwise show an ellipse that gives away the rotation about y.
        if category.continuous_about_y or bool(sample["symmetric"]):
            factors[2] = factors[0]
        local *= factors
        size *= factors
        moved = True
    if category.name in config.taper_categories and rng.random() < config.taper_prob:
        bottom, top = rng.uniform(*config.taper_range, size=2)
        # 0 at the base, 1 at the top; clipped so that stray points off the object (mask
        # noise) get an end's factor and never one outside [bottom, top].
        height = np.clip(local[:, 1] / size[1] + 0.5, 0.0, 1.0)
        local[:, [0, 2]] *= (bottom + (top - bottom) * height)[:, None]
        # The deformed box is a frustum whose widest section is the base or the top, so its
        # bounding box scales x and z by max(bottom, top); y and the centre are unchanged.
        # This bounds the tapered object; it is tight when the object is widest at that end.
        size[[0, 2]] *= max(bottom, top)
        moved = True
    if rng.random() < config.jitter_prob:
        # The points keep their object-frame shape, but the camera now sees the same visible
        # surface from a slightly different direction than it was rendered from: keep it small.
        axis = rng.normal(size=3)
        angle = np.deg2rad(rng.uniform(0.0, config.jitter_max_deg))
        delta = axis_angle_to_matrix(torch.from_numpy(axis / np.linalg.norm(axis) * angle)).numpy()
        R = delta @ R
        t = t + rng.uniform(-config.jitter_max_m, config.jitter_max_m, size=3)
        moved = True
    if moved:
        points = local @ R.T + t  # object frame back to the (jittered) camera frame
    if rng.random() < config.noise_prob:
        sigma = rng.uniform(*config.noise_range)
        points += rng.normal(size=points.shape) * (sigma * np.linalg.norm(local, axis=1, keepdims=True))
    for key, value in (("points", points), ("R", R), ("t", t), ("size", size)):
        out[key] = _like(value, sample[key])
    return out


def _numpy(value) -> np.ndarray:
    return value.numpy(force=True) if isinstance(value, torch.Tensor) else np.asarray(value)


def _like(value: np.ndarray, reference):
    """`value` in the type and dtype of `reference` (a torch tensor or a numpy array)."""
    if isinstance(reference, torch.Tensor):
        return torch.from_numpy(value).to(reference.dtype)
    return value.astype(np.asarray(reference).dtype)


def augmented(
    dataset: Dataset, config: Augmentations, seed: int, categories: CategoryTable = NOCS_CATEGORIES
) -> Dataset:
    """`dataset` with its samples augmented on the fly; `dataset` itself when disabled.

    DataLoader tells iterable from map-style datasets by type, so this picks the matching
    wrapper. Augmentation randomness is drawn apart from the dataset's own, so switching it
    off leaves the underlying samples as they were, and it is reproducible in the same way:
    per item index (`FrameObjects` items already encode the epoch), or per (worker, the
    wrapped stream's `epoch`) for an iterable dataset such as `SyntheticPoseStream`.
    """
    if not config.enabled:
        return dataset
    if isinstance(dataset, IterableDataset):
        return _AugmentedStream(dataset, config, seed, categories)
    return _AugmentedItems(dataset, config, seed, categories)


class _AugmentedItems(Dataset):
    def __init__(self, dataset: Dataset, config: Augmentations, seed: int, categories: CategoryTable):
        self.dataset, self.config, self.seed, self.categories = dataset, config, seed, categories

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, item: int) -> dict:
        rng = np.random.default_rng([self.seed, AUGMENT, item])
        return augment(self.dataset[item], rng, self.config, self.categories)


class _AugmentedStream(IterableDataset):
    def __init__(self, dataset: IterableDataset, config: Augmentations, seed: int, categories: CategoryTable):
        super().__init__()
        self.dataset, self.config, self.seed, self.categories = dataset, config, seed, categories

    def __iter__(self):
        info = get_worker_info()
        worker = info.id if info is not None else 0
        rng = np.random.default_rng([self.seed, AUGMENT, worker, getattr(self.dataset, "epoch", 0)])
        for sample in self.dataset:
            yield augment(sample, rng, self.config, self.categories)
