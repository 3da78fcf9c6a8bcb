"""The point-cloud augmentations: pose consistency, the x/z tie, the taper's size, rates, purity."""

import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch
from rotations import random_rotation
from torch.utils.data import DataLoader, Dataset

from posediff_ros.categories import NOCS_CATEGORIES
from posediff_ros.data.augment import Augmentations, augment, augmented
from posediff_ros.data.noise import DepthNoise, MaskNoise
from posediff_ros.data.stream import SyntheticPoseStream
from posediff_ros.geometry import geodesic_angle
from posediff_ros.train_config import TrainConfig

NONE = Augmentations(scale_prob=0.0, taper_prob=0.0, jitter_prob=0.0, noise_prob=0.0)
ONLY = {
    "scale": replace(NONE, scale_prob=1.0),
    "taper": replace(NONE, taper_prob=1.0),
    "jitter": replace(NONE, jitter_prob=1.0),
    "noise": replace(NONE, noise_prob=1.0),
}
ALL = Augmentations(scale_prob=1.0, taper_prob=1.0, jitter_prob=1.0, noise_prob=1.0)


def box_sample(category: int, seed: int = 0, n: int = 256, symmetric: bool | None = None) -> dict:
    """A hand-made sample: the 8 box corners and points uniform in the box, random pose."""
    rng = np.random.default_rng(seed)
    size = rng.uniform(0.05, 0.3, 3)
    corners = np.array(list(itertools.product((-0.5, 0.5), repeat=3))) * size
    local = np.concatenate((corners, rng.uniform(-0.5, 0.5, (n - 8, 3)) * size))
    R = random_rotation(generator=torch.Generator().manual_seed(seed), dtype=torch.float64).numpy()
    t = rng.uniform(-0.3, 0.3, 3) + [0.0, 0.0, 1.0]
    if symmetric is None:
        symmetric = NOCS_CATEGORIES.by_id(category).continuous_about_y
    return {
        "points": torch.from_numpy(local @ R.T + t).float(),
        "R": torch.from_numpy(R).float(),
        "t": torch.from_numpy(t).float(),
        "size": torch.from_numpy(size).float(),
        "category": torch.tensor(category),
        "symmetric": torch.tensor(symmetric),
    }


@pytest.fixture(scope="module")
def samples() -> list[dict]:
    """Hand-made samples of every category (and a handle-less mug), and noise-free rendered ones."""
    stream = SyntheticPoseStream(
        seed=5, max_crop_pixels=1024, depth_noise=DepthNoise(enabled=False), mask_noise=MaskNoise(enabled=False)
    )
    made = [box_sample(c.id, seed=c.id) for c in NOCS_CATEGORIES] + [box_sample(6, seed=9, symmetric=True)]
    return made + list(itertools.islice(iter(stream), 12))


def object_frame(sample: dict) -> torch.Tensor:
    return (sample["points"].double() - sample["t"].double()) @ sample["R"].double()


def inside(sample: dict, margin) -> torch.Tensor:
    return (object_frame(sample).abs() <= 0.5 * sample["size"].double() + margin).all(-1)


@pytest.mark.parametrize("name", sorted(ONLY))
def test_each_augmentation_keeps_the_points_in_the_new_box(samples, name):
    for seed, sample in enumerate(samples):
        was_inside = inside(sample, 1e-6)
        assert was_inside.float().mean() > 0.95
        out = augment(sample, np.random.default_rng(seed), ONLY[name])
        radius = object_frame(sample).norm(dim=-1, keepdim=True)
        # The noise moves a point by at most a few sigma * |p - t| per axis.
        margin = 5 * ONLY[name].noise_range[1] * radius if name == "noise" else 1e-5
        assert inside(out, margin)[was_inside].all(), (name, seed)
        torch.testing.assert_close(out["R"] @ out["R"].T, torch.eye(3), atol=1e-5, rtol=0)
        assert torch.linalg.det(out["R"]) > 0


def test_scaling_scales_the_object_frame_and_ties_x_z_for_symmetric_objects(samples):
    untied = 0
    for seed, sample in enumerate(samples * 3):
        out = augment(sample, np.random.default_rng(seed), ONLY["scale"])
        factors = out["size"].double() / sample["size"].double()
        assert ((factors >= 0.8 - 1e-6) & (factors <= 1.2 + 1e-6)).all()
        torch.testing.assert_close(object_frame(out), object_frame(sample) * factors, atol=1e-5, rtol=0)
        assert torch.equal(out["R"], sample["R"]) and torch.equal(out["t"], sample["t"])
        if sample["symmetric"]:  # bottle, bowl, can, and a mug without a visible handle
            torch.testing.assert_close(factors[0], factors[2])
        else:
            untied += not torch.isclose(factors[0], factors[2])
    assert untied > 0


def test_jitter_moves_points_and_pose_rigidly_within_bounds(samples):
    config = ONLY["jitter"]
    for seed, sample in enumerate(samples):
        out = augment(sample, np.random.default_rng(seed), config)
        torch.testing.assert_close(object_frame(out), object_frame(sample), atol=1e-5, rtol=0)
        assert torch.equal(out["size"], sample["size"])
        angle = torch.rad2deg(geodesic_angle(out["R"].double(), sample["R"].double()))
        assert 0 < angle <= config.jitter_max_deg + 1e-3
        shift = (out["t"] - sample["t"]).abs()
        assert (shift <= config.jitter_max_m + 1e-6).all() and shift.max() > 0


def test_taper_only_bowls_and_mugs_and_size_is_the_deformed_box(samples):
    for seed, sample in enumerate(samples):
        out = augment(sample, np.random.default_rng(seed), ONLY["taper"])
        if NOCS_CATEGORIES.by_id(int(sample["category"])).name not in ("bowl", "mug"):
            assert all(torch.equal(out[k], sample[k]) for k in sample)
            continue
        factors = out["size"].double() / sample["size"].double()
        assert factors[1] == 1 and torch.isclose(factors[0], factors[2]) and 0.8 - 1e-6 <= factors[0] <= 1.2 + 1e-6
        assert torch.equal(out["R"], sample["R"]) and torch.equal(out["t"], sample["t"])
        before, after = object_frame(sample), object_frame(out)
        torch.testing.assert_close(after[:, 1], before[:, 1], atol=1e-5, rtol=0)
        # x and z of one point scale alike, by a factor linear in height.
        off_axis = (before[:, [0, 2]].abs() > 5e-3).all(-1)
        ratio = after[off_axis][:, [0, 2]] / before[off_axis][:, [0, 2]]
        torch.testing.assert_close(ratio[:, 0], ratio[:, 1], atol=1e-3, rtol=0)
        height = before[off_axis, 1] / sample["size"][1].double() + 0.5
        slope, offset = np.polyfit(height.numpy(), ratio[:, 0].numpy(), 1)
        torch.testing.assert_close(ratio[:, 0], torch.from_numpy(offset + slope * height.numpy()), atol=1e-3, rtol=0)
        if sample["points"].shape[0] == 256:  # hand-made: its corners reach the new box exactly
            torch.testing.assert_close(after[:8].abs().amax(0), 0.5 * out["size"].double(), atol=1e-5, rtol=0)


def test_rates_match_the_probabilities():
    sample = box_sample(2, n=16)  # a bowl, so the taper applies
    for name in ONLY:
        config = replace(ONLY[name], **{f"{name}_prob": 0.3})
        rng = np.random.default_rng(0)
        changed = [not torch.equal(augment(sample, rng, config)["points"], sample["points"]) for _ in range(2000)]
        assert abs(np.mean(changed) - 0.3) < 0.04, name  # 4 standard deviations


def test_input_not_mutated_and_types_kept(samples):
    sample = samples[-1]
    before = {k: v.clone() for k, v in sample.items()}
    out = augment(sample, np.random.default_rng(0), ALL)
    assert all(torch.equal(sample[k], before[k]) for k in sample)
    assert out is not sample and set(out) == set(sample)
    assert all(out[k].dtype == sample[k].dtype and out[k].shape == sample[k].shape for k in sample)
    as_numpy = {k: v.numpy().copy() for k, v in sample.items()}
    out_numpy = augment(as_numpy, np.random.default_rng(0), ALL)
    for k in sample:
        assert isinstance(out_numpy[k], np.ndarray) and out_numpy[k].dtype == as_numpy[k].dtype
        np.testing.assert_array_equal(out_numpy[k], out[k].numpy())
        np.testing.assert_array_equal(as_numpy[k], before[k].numpy())


def test_disabled_returns_the_sample_unchanged_and_draws_nothing(samples):
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    out = augment(samples[0], rng, replace(ALL, enabled=False))
    assert out is not samples[0] and all(torch.equal(out[k], samples[0][k]) for k in out)
    assert rng.bit_generator.state == state


def test_same_seed_same_result(samples):
    a, b = (augment(samples[0], np.random.default_rng(7), ALL) for _ in range(2))
    c = augment(samples[0], np.random.default_rng(8), ALL)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["points"], c["points"])


class Items(Dataset):
    def __init__(self, samples):
        self.samples = samples

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return self.samples[i % len(self.samples)]


def test_augmented_datasets(samples):
    assert TrainConfig().augment
    items = Items(samples[-8:])
    assert augmented(items, replace(ALL, enabled=False), seed=0) is items
    wrapped = augmented(items, ALL, seed=0)
    assert len(wrapped) == len(items)
    assert all(torch.equal(wrapped[3][k], wrapped[3][k]) for k in items[3])  # reproducible per index
    assert not torch.equal(wrapped[3]["points"], items[3]["points"])
    batch = next(iter(DataLoader(wrapped, batch_size=4, sampler=[0, 1, 2, 3])))
    assert batch["points"].shape == (4, 1024, 3)

    stream = SyntheticPoseStream(seed=5, max_crop_pixels=1024)
    first, second = (list(itertools.islice(iter(augmented(stream, ALL, seed=0)), 3)) for _ in range(2))
    plain = list(itertools.islice(iter(stream), 3))
    for a, b, p in zip(first, second, plain, strict=True):
        assert all(torch.equal(a[k], b[k]) for k in a)
        assert a["category"] == p["category"] and not torch.equal(a["points"], p["points"])
    batch = next(iter(DataLoader(augmented(stream, ALL, seed=0), batch_size=4)))
    assert batch["points"].shape == (4, 1024, 3)
