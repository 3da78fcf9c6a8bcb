import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from rotations import random_rotation

from posediff_ros.geometry import (
    POSE_DIM,
    Intrinsics,
    TooFewPoints,
    axis_angle_to_matrix,
    backproject,
    centre_points,
    geodesic_angle,
    matrix_to_rotation_6d_columns,
    mean_rotation,
    pose_to_vector,
    rotation_6d_columns_to_matrix,
    sample_labelled_points,
    sample_points,
    vector_to_pose,
)

vectors = st.lists(st.floats(-10, 10, allow_nan=False), min_size=6, max_size=6)


def is_rotation(R: torch.Tensor, atol=1e-5) -> bool:
    eye = torch.eye(3).expand_as(R)
    return torch.allclose(R.transpose(-1, -2) @ R, eye, atol=atol) and torch.allclose(
        torch.det(R), torch.ones(R.shape[:-2]), atol=atol
    )


def test_6d_round_trip_on_rotations():
    R = random_rotation(4, 5, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(rotation_6d_columns_to_matrix(matrix_to_rotation_6d_columns(R)), R, atol=1e-5)


def test_pose_vector_round_trip():
    R = random_rotation(4, 5, generator=torch.Generator().manual_seed(0))
    t = torch.randn(4, 5, 3, generator=torch.Generator().manual_seed(1))
    x = pose_to_vector(R, t)
    assert x.shape == (4, 5, POSE_DIM)
    assert torch.equal(x[..., :6], matrix_to_rotation_6d_columns(R)) and torch.equal(x[..., 6:], t)
    R_back, t_back = vector_to_pose(x)
    assert torch.allclose(R_back, R, atol=1e-5) and torch.equal(t_back, t)
    # any 6 numbers decode to a rotation (Gram-Schmidt), as the network's raw output does
    assert is_rotation(vector_to_pose(x + 0.3)[0])


@settings(max_examples=200, deadline=None)
@given(vectors)
def test_gram_schmidt_gives_a_rotation_whose_first_column_follows_a1(v):
    x = torch.tensor(v, dtype=torch.float64)
    a1, a2 = x[:3], x[3:]
    if min(a1.norm(), a2.norm()) < 1e-3 or torch.linalg.cross(a1, a2).norm() <= 1e-3 * a1.norm() * a2.norm():
        return  # degenerate input: Gram-Schmidt is undefined there
    R = rotation_6d_columns_to_matrix(x)
    assert is_rotation(R.unsqueeze(0).float())
    assert torch.allclose(R[:, 0], a1 / a1.norm(), atol=1e-6)
    # b2 lies in the plane of a1 and a2, on a2's side
    assert R[:, 1] @ a2 > 0 and abs(torch.linalg.cross(a1, a2) @ R[:, 1]) < 1e-6 * a1.norm() * a2.norm() + 1e-9


def test_geodesic_angle_matches_the_rotation_angle():
    axis = torch.nn.functional.normalize(torch.randn(100, 3, generator=torch.Generator().manual_seed(1)), dim=-1)
    angle = torch.linspace(0.01, math.pi - 0.01, 100)
    R0 = random_rotation(100, generator=torch.Generator().manual_seed(2))
    R1 = axis_angle_to_matrix(axis * angle.unsqueeze(-1)) @ R0
    assert torch.allclose(geodesic_angle(R1, R0), angle, atol=1e-3)
    assert torch.allclose(geodesic_angle(R0, R0), torch.zeros(100), atol=1e-5)


def test_mean_rotation_of_a_spread_balanced_about_a_rotation_is_that_rotation():
    R0 = random_rotation(generator=torch.Generator().manual_seed(4))
    axis = torch.nn.functional.normalize(torch.randn(3, generator=torch.Generator().manual_seed(5)), dim=0)
    spread = axis_angle_to_matrix(torch.stack([axis * 0.2, -axis * 0.2, axis * 0.05, -axis * 0.05]))
    assert geodesic_angle(mean_rotation(spread @ R0), R0) < 1e-5


def test_backprojection_of_a_hand_computed_pixel():
    K = Intrinsics(fx=500.0, fy=400.0, cx=320.0, cy=240.0, width=640, height=480)
    depth = np.zeros((480, 640), np.float32)
    mask = np.zeros((480, 640), bool)
    depth[100, 420] = 2.0  # row v=100, column u=420
    mask[100, 420] = True
    depth[0, 0], mask[0, 0] = np.nan, True  # invalid depth is dropped
    mask[5, 5] = True  # zero depth is dropped
    points = backproject(depth, mask, K)
    # x = (420 - 320) * 2 / 500 = 0.4, y = (100 - 240) * 2 / 400 = -0.7
    np.testing.assert_allclose(points, [[0.4, -0.7, 2.0]], rtol=1e-6)


def test_backprojection_rejects_size_mismatch():
    K = Intrinsics(500, 500, 2, 2, 4, 4)
    with pytest.raises(ValueError, match="differ in size"):
        backproject(np.ones((4, 4), np.float32), np.ones((4, 5), bool), K)


def test_sampling_rules():
    rng = np.random.default_rng(0)
    many = np.arange(3000 * 3, dtype=np.float32).reshape(3000, 3)
    out = sample_points(many, rng, 1024, 50)
    assert out.shape == (1024, 3) and len(np.unique(out[:, 0])) == 1024  # without replacement
    few = np.arange(300 * 3, dtype=np.float32).reshape(300, 3)
    out = sample_points(few, rng, 1024, 50)
    counts = np.unique(out[:, 0], return_counts=True)[1]
    assert out.shape == (1024, 3) and len(counts) == 300 and set(counts) <= {3, 4}  # tiled, each used 3-4 times
    with pytest.raises(TooFewPoints, match="49 valid depth points"):
        sample_points(few[:49], rng, 1024, 50)


def test_sampling_every_object_of_a_frame_at_once_follows_the_same_rules():
    """Objects of 3000, 300 and 49 valid pixels (one with holes of NaN and zero depth) and one
    with no valid depth: a subset without replacement, tiling, and the two skipped."""
    K = Intrinsics(500.0, 500.0, 50.0, 40.0, 100, 80)
    depth = np.linspace(0.5, 1.5, 100 * 80, dtype=np.float32).reshape(80, 100)  # every pixel its own point
    labels = np.zeros((80, 100), np.int32)
    labels[:30] = 7  # 3000 pixels
    labels[30:33] = 2002  # 300 pixels
    labels[33, :49] = 5
    labels[34, :10] = 9
    depth[34, :10] = np.nan
    labels[35, :5], depth[35, :5] = 5, 0.0  # invalid pixels of label 5 do not count
    out = sample_labelled_points(depth, labels, K, np.random.default_rng(0), 1024, 50)
    assert out.labels.tolist() == [5, 7, 9, 2002] and out.counts.tolist() == [49, 3000, 0, 300]
    assert out.sampled.tolist() == [False, True, False, True] and out.clouds.shape == (2, 1024, 3)
    many, few = out.clouds[:, :, 2]  # depth tells the pixel
    assert len(np.unique(many)) == 1024 and np.isin(many, depth[:30]).all()
    counts = np.unique(few, return_counts=True)[1]
    assert len(counts) == 300 and set(counts) <= {3, 4} and np.isin(few, depth[30:33]).all()
    np.testing.assert_allclose(
        out.clouds[1], backproject(depth, labels == 2002, K)[np.searchsorted(depth[30:33].ravel(), few)]
    )


def test_centring():
    points = torch.randn(2, 5, 100, 3) + 7.0
    centred, centroid = centre_points(points)
    assert torch.allclose(centred.mean(-2), torch.zeros(2, 5, 3), atol=1e-5)
    assert torch.allclose(centred + centroid.unsqueeze(-2), points)
