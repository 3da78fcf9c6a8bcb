"""The streaming training dataset: sample format, geometry, determinism, DataLoader workers."""

import itertools

import numpy as np
import torch
from torch.utils.data import DataLoader

from posediff_ros.data.noise import DepthNoise, MaskNoise
from posediff_ros.data.scene import SceneConfig
from posediff_ros.data.stream import SyntheticPoseStream
from posediff_ros.geometry import REAL275_INTRINSICS


def take(dataset, n):
    return list(itertools.islice(iter(dataset), n))


def in_box_fraction(sample, margin):
    x = (sample["points"] - sample["t"]) @ sample["R"]  # camera -> object frame
    return (x.abs() <= 0.5 * sample["size"] + margin).all(-1).float().mean().item()


def test_sample_format_and_geometry_without_noise():
    samples = take(
        SyntheticPoseStream(seed=0, depth_noise=DepthNoise(enabled=False), mask_noise=MaskNoise(enabled=False)), 30
    )
    for s in samples:
        assert s["points"].shape == (1024, 3) and s["points"].dtype == torch.float32
        assert s["R"].shape == (3, 3) and s["t"].shape == (3,) and s["size"].shape == (3,)
        assert s["R"].dtype == s["t"].dtype == s["size"].dtype == torch.float32
        assert s["category"].dtype == torch.int64 and 1 <= s["category"].item() <= 6
        assert s["symmetric"].dtype == torch.bool
        if s["category"].item() in (1, 2, 4):
            assert s["symmetric"].item()
        if s["category"].item() in (3, 5):
            assert not s["symmetric"].item()
        torch.testing.assert_close(s["R"] @ s["R"].T, torch.eye(3), atol=1e-5, rtol=0)
        assert in_box_fraction(s, 1e-3) == 1.0  # every point on the object
        assert 0.2 < s["points"][:, 2].mean() < 2.0  # uncentred, camera frame
    assert len({s["category"].item() for s in samples}) >= 3


def test_noisy_samples_mostly_on_the_object():
    samples = take(SyntheticPoseStream(seed=1), 30)
    fractions = [in_box_fraction(s, 0.01) for s in samples]
    assert np.median(fractions) > 0.97 and min(fractions) > 0.5


def test_same_seed_same_samples():
    a, b = take(SyntheticPoseStream(seed=3), 5), take(SyntheticPoseStream(seed=3), 5)
    c = take(SyntheticPoseStream(seed=4), 5)
    for x, y in zip(a, b, strict=True):
        assert all(torch.equal(x[k], y[k]) for k in x)
    assert not torch.equal(a[0]["points"], c[0]["points"])


def test_dataloader_workers_make_distinct_samples():
    loader = DataLoader(SyntheticPoseStream(seed=0), batch_size=6, num_workers=2)
    first, second = itertools.islice(iter(loader), 2)  # one batch from each worker
    assert first["points"].shape == (6, 1024, 3) and first["category"].shape == (6,)
    assert not torch.equal(first["points"], second["points"])
    assert not torch.equal(first["t"], second["t"])


def beyond_the_border(sample, intrinsics=REAL275_INTRINSICS):
    """Whether the object's 3D box reaches outside the image (the object may be cut off)."""
    corners = torch.cartesian_prod(*[torch.tensor([-0.5, 0.5])] * 3) * sample["size"]
    x = corners @ sample["R"].T + sample["t"]
    u = intrinsics.fx * x[:, 0] / x[:, 2] + intrinsics.cx
    v = intrinsics.fy * x[:, 1] / x[:, 2] + intrinsics.cy
    return bool((u < 0).any() or (u > intrinsics.width - 1).any() or (v < 0).any() or (v > intrinsics.height - 1).any())


def test_truncated_objects_are_sampled_among_occluders():
    config = SceneConfig(truncation_prob=1.0, occluder_prob=1.0)
    stream = SyntheticPoseStream(
        seed=2, config=config, depth_noise=DepthNoise(enabled=False), mask_noise=MaskNoise(enabled=False)
    )
    samples = take(stream, 40)
    truncated = [s for s in samples if beyond_the_border(s)]
    assert len(truncated) >= 8
    for s in truncated:  # the crop holds the visible part: every point on the object
        assert in_box_fraction(s, 1e-3) == 1.0
