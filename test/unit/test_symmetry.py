"""Symmetry (posediff_ros/symmetry.py): the specs and their groups, the batch form, rotation
errors, the loss and the metrics under a symmetry, and the choice among equivalent poses.

Expected errors come from turns built here with `axis_angle_to_matrix`, independently of
`Symmetry.rotations()`; the NOCS case is compared with the formula used before discrete
symmetries existed (+y-axis angle where flagged, geodesic angle elsewhere), and the batched
`align_to_reference` with the one-object-at-a-time code it replaced.
"""

import math

import numpy as np
import pytest
import torch
from rotations import random_rotation

from posediff_ros.categories import NOCS_CATEGORIES, Category, CategoryTable
from posediff_ros.geometry import axis_angle_to_matrix, geodesic_angle, mean_rotation, pose_to_vector, vector_to_pose
from posediff_ros.metrics import pose_errors
from posediff_ros.objective import RegressionLoss
from posediff_ros.symmetry import (
    EVERY_AXIS,
    NO_AXIS,
    CategorySymmetries,
    Symmetry,
    SymmetryBatch,
    align_to_reference,
    instance_symmetry,
    nearest_turn,
    rotation_error,
    same_representatives,
)

AXES = torch.eye(3, dtype=torch.float64)


def turn(axis: int, angle: float) -> torch.Tensor:
    return axis_angle_to_matrix(AXES[axis] * angle)


def error(R_pred: torch.Tensor, R_true: torch.Tensor, spec) -> torch.Tensor:
    """rotation_error of one object whose symmetry is Symmetry.parse(spec), in degrees."""
    return torch.rad2deg(rotation_error(R_pred[None], R_true[None], SymmetryBatch.of([Symmetry.parse(spec)])))[0]


# --------------------------------------------------------------------------- specs and groups


@pytest.mark.parametrize(
    ("spec", "size", "axis"),
    [
        ("none", 1, None),
        ("y", 1, 1),
        ("z2", 2, None),
        ("y4", 4, None),
        ({"x": "half", "y": "any"}, 2, 1),  # a cylinder whose ends look alike
        ({"x": "half", "y": "half", "z": "half"}, 4, None),  # a box
        ({"x": "quarter", "y": "quarter", "z": "quarter"}, 24, None),  # a cube
    ],
)
def test_symmetry_groups(spec, size, axis):
    symmetry = Symmetry.parse(spec)
    group = symmetry.rotations()
    assert group.shape == (size, 3, 3) and symmetry.continuous_axis == axis
    np.testing.assert_allclose(group[0], np.eye(3))
    for g in group:  # proper rotations, closed under composition
        np.testing.assert_allclose(g @ g.T, np.eye(3), atol=1e-9)
        assert np.isclose(np.linalg.det(g), 1.0)
        for h in group:
            assert min(np.abs(g @ h - k).max() for k in group) < 1e-9
    assert Symmetry.parse(symmetry.as_spec()) == symmetry


def test_two_continuous_axes_are_every_rotation():
    assert Symmetry.parse({"x": "any", "y": "any"}).everything
    assert Symmetry.parse("any").as_spec() == "any"


@pytest.mark.parametrize("spec", ["w", "y0x", {"y": "third"}, {"q": "half"}, 3, {"y": True}])
def test_bad_symmetry_is_refused(spec):
    with pytest.raises(ValueError, match="symmetry"):
        Symmetry.parse(spec)


# --------------------------------------------------------------------------- rotation errors


R_TRUE = random_rotation(generator=torch.Generator().manual_seed(0), dtype=torch.float64)


@pytest.mark.parametrize(
    "spec, pred_turn, degrees",
    [
        ("z2", turn(2, math.pi), 0.0),  # a half turn about z is the same pose
        ("z2", turn(2, math.pi / 2), 90.0),  # a quarter turn is not: 90° from both equivalents
        ("z2", turn(2, 0.75 * math.pi), 45.0),  # 135° from R, 45° from R Rz(180°)
        ("z4", turn(2, math.pi / 2), 0.0),
        ("z4", turn(2, math.pi / 4), 45.0),
        ("z4", turn(0, math.pi), 180.0),  # turning z over is no z4 symmetry
        ("none", turn(2, math.pi), 180.0),
        ({"x": "half", "y": "half", "z": "half"}, turn(0, math.pi), 0.0),  # a box
        ({"x": "half", "y": "half", "z": "half"}, turn(1, math.pi), 0.0),
        ({"x": "half", "y": "half", "z": "half"}, turn(2, math.pi) @ turn(0, 0.2), math.degrees(0.2)),
        ({"x": "half", "y": "half", "z": "half"}, turn(2, math.pi / 2), 90.0),
        ({"x": "half", "y": "any"}, turn(0, math.pi), 0.0),  # a can upside down: +y flipped
        ({"x": "half", "y": "any"}, turn(0, math.pi) @ turn(1, 1.3), 0.0),
        ({"x": "half", "y": "any"}, turn(0, math.pi - 0.3), math.degrees(0.3)),
        ("y", turn(0, math.pi), 180.0),  # without the half turn, +y upside down is 180° off
        ("any", turn(0, 2.0) @ turn(1, 1.0), 0.0),  # a sphere
    ],
)
def test_the_error_is_the_smallest_over_equivalent_poses(spec, pred_turn, degrees):
    assert math.isclose(error(R_TRUE @ pred_turn, R_TRUE, spec).item(), degrees, abs_tol=1e-6)


def brute_force_error(R_pred: torch.Tensor, R_true: torch.Tensor, turns: list[torch.Tensor], axis: int | None):
    """min over the turns of the geodesic angle, or of the angle between the axis columns."""
    if axis is None:
        errors = [geodesic_angle(R_pred, R_true @ g) for g in turns]
    else:
        errors = [
            torch.arccos(torch.clamp((R_pred[:, :, axis] * (R_true @ g)[:, :, axis]).sum(-1), -1, 1)) for g in turns
        ]
    return torch.stack(errors).amin(0)


@pytest.mark.parametrize(
    "spec, turns, axis",
    [
        ("y4", [turn(1, k * math.pi / 2) for k in range(4)], None),
        ("x3", [turn(0, k * 2 * math.pi / 3) for k in range(3)], None),
        ({"x": 2, "z": 2}, [AXES, turn(0, math.pi), turn(1, math.pi), turn(2, math.pi)], None),
        ({"z": "half", "y": "any"}, [AXES, turn(2, math.pi)], 1),
        ({"y": "half", "x": "any"}, [AXES, turn(1, math.pi)], 0),
    ],
)
def test_the_error_matches_a_brute_force_minimum_on_random_poses(spec, turns, axis):
    generator = torch.Generator().manual_seed(1)
    R_pred, R_true = (random_rotation(200, generator=generator, dtype=torch.float64) for _ in range(2))
    symmetry = SymmetryBatch.of([Symmetry.parse(spec)] * 200)
    expected = brute_force_error(R_pred, R_true, turns, axis)
    torch.testing.assert_close(rotation_error(R_pred, R_true, symmetry), expected, atol=1e-6, rtol=0)


def test_a_batch_mixing_group_sizes_gives_each_object_its_own_error():
    """Padding the smaller groups with the identity changes no object's error."""
    specs = ["none", "z2", "y", {"x": 2, "y": 2, "z": 2}, "any", "z4"]
    generator = torch.Generator().manual_seed(2)
    R_pred, R_true = (random_rotation(len(specs), generator=generator, dtype=torch.float64) for _ in range(2))
    together = rotation_error(R_pred, R_true, SymmetryBatch.of([Symmetry.parse(s) for s in specs]))
    alone = [
        rotation_error(R_pred[i : i + 1], R_true[i : i + 1], SymmetryBatch.of([Symmetry.parse(s)]))
        for i, s in enumerate(specs)
    ]
    torch.testing.assert_close(together, torch.cat(alone), atol=1e-12, rtol=0)
    assert together[4] == 0.0  # the sphere


def y_axis_angle(R1: torch.Tensor, R2: torch.Tensor) -> torch.Tensor:
    """Angle between the +y axes (second columns) of R1 and R2 through atan2, (..., 3, 3) -> (...)."""
    a, b = R1[..., :, 1], R2[..., :, 1]
    return torch.atan2(torch.linalg.cross(a, b, dim=-1).norm(dim=-1), (a * b).sum(-1))


def old_rotation_error(R_pred: torch.Tensor, R_true: torch.Tensor, symmetric: torch.Tensor) -> torch.Tensor:
    """The error before discrete symmetries: +y-axis angle where flagged, geodesic angle elsewhere."""
    return torch.where(symmetric, y_axis_angle(R_pred, R_true), geodesic_angle(R_pred, R_true))


def test_flags_alone_ignore_the_turn_about_y_only():
    R0 = random_rotation(10, generator=torch.Generator().manual_seed(3))
    about_y = axis_angle_to_matrix(torch.tensor([0.0, 1.0, 0.0]) * torch.linspace(0.1, 3.0, 10).unsqueeze(-1))
    R1 = R0 @ about_y  # rotating in the object frame about its own +y
    flagged = SymmetryBatch.from_flags(torch.ones(10, dtype=torch.bool))
    assert torch.allclose(rotation_error(R1, R0, flagged), torch.zeros(10), atol=1e-5)
    assert (geodesic_angle(R1, R0) > 0.09).all()
    tilt = axis_angle_to_matrix(torch.tensor([[0.3, 0.0, 0.0]]))
    flags = SymmetryBatch.from_flags([True, False])
    err = rotation_error((R0[:1] @ tilt).expand(2, 3, 3), R0[:1].expand(2, 3, 3), flags)
    assert torch.allclose(err, torch.tensor([0.3, 0.3]), atol=1e-3)


def nocs_batch(n: int, seed: int, dtype: torch.dtype):
    generator = torch.Generator().manual_seed(seed)
    R_pred, R_true = (random_rotation(n, generator=generator, dtype=dtype) for _ in range(2))
    category = torch.randint(1, 7, (n,), generator=generator)
    # the data's flags: the category's own symmetry, or a mug whose handle is hidden
    hidden_handle = (category == 6) & (torch.rand(n, generator=generator) < 0.5)
    flags = torch.tensor([NOCS_CATEGORIES.by_id(int(c)).continuous_about_y for c in category]) | hidden_handle
    return R_pred, R_true, category, flags


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_nocs_errors_are_bit_for_bit_those_of_the_old_formula(dtype):
    R_pred, R_true, category, flags = nocs_batch(2000, seed=3, dtype=dtype)
    symmetry = CategorySymmetries(NOCS_CATEGORIES)(category, flags)
    assert symmetry.group.shape == (2000, 1, 3, 3)  # no discrete turn in NOCS: the fast path
    expected = old_rotation_error(R_pred, R_true, flags)
    assert torch.equal(rotation_error(R_pred, R_true, symmetry), expected)
    assert torch.equal(rotation_error(R_pred, R_true, SymmetryBatch.from_flags(flags)), expected)


def test_nocs_loss_and_metrics_are_those_of_the_old_formula():
    R_pred, R_true, category, flags = nocs_batch(64, seed=4, dtype=torch.float32)
    symmetry = CategorySymmetries(NOCS_CATEGORIES)(category, flags)
    t = torch.zeros(64, 3)
    pred, target = pose_to_vector(R_pred, t), pose_to_vector(R_true, t)
    loss = RegressionLoss()(pred, target, symmetry)
    expected = old_rotation_error(vector_to_pose(pred)[0], vector_to_pose(target)[0], flags).mean()
    assert torch.equal(loss["rotation"], expected)
    assert torch.equal(RegressionLoss()(pred, target, SymmetryBatch.from_flags(flags))["rotation"], expected)

    old_degrees = torch.rad2deg(old_rotation_error(R_pred.double(), R_true.double(), flags)).numpy()
    degrees, _ = pose_errors(R_pred.numpy(), t.numpy(), R_true.numpy(), t.numpy(), symmetry)
    np.testing.assert_array_equal(degrees, old_degrees)
    degrees, _ = pose_errors(
        R_pred.numpy(), t.numpy(), R_true.numpy(), t.numpy(), SymmetryBatch.from_flags(flags.numpy())
    )
    np.testing.assert_array_equal(degrees, old_degrees)  # flags alone, as the live demo has them


def test_the_loss_gradient_is_finite_at_and_away_from_equivalent_poses():
    specs = ["z2", {"x": 2, "y": 2, "z": 2}, {"x": "half", "y": "any"}, "y", "none", "any", "z4"]
    symmetry = SymmetryBatch.of([Symmetry.parse(s) for s in specs])
    R_true = random_rotation(len(specs), generator=torch.Generator().manual_seed(5))
    t = torch.zeros(len(specs), 3)
    flips = torch.stack(
        [turn(2, math.pi), turn(0, math.pi), turn(0, math.pi), turn(1, 0.5), AXES, AXES, turn(2, math.pi / 2)]
    )
    exact = pose_to_vector(R_true @ flips.float(), t)  # an equivalent pose of each: zero error
    away = exact + 0.3 * torch.randn(exact.shape, generator=torch.Generator().manual_seed(6))
    for pred in (exact, away):
        pred = pred.clone().requires_grad_(True)
        loss = RegressionLoss()(pred, pose_to_vector(R_true, t), symmetry)
        loss["total"].backward()
        assert torch.isfinite(pred.grad).all()
    assert loss["rotation"] > 0.01
    assert torch.count_nonzero(pred.grad[5, :6]) == 0  # the sphere's rotation costs nothing
    exact_loss = RegressionLoss()(exact, pose_to_vector(R_true, t), symmetry)
    assert exact_loss["rotation"] < 1e-3


def test_category_ids_and_flags_give_each_sample_its_symmetry():
    table = CategoryTable(
        [Category(3, "tote", Symmetry.parse("z2")), Category(7, "ball", Symmetry.parse("any")), Category(12, "mug")]
    )
    lookup = CategorySymmetries(table)
    symmetry = lookup(torch.tensor([12, 3, 7, 12, 3]), torch.tensor([False, False, False, True, True]))
    assert symmetry.group.shape == (5, 2, 3, 3)  # the table's largest group, whatever the batch
    assert symmetry.axis.tolist() == [NO_AXIS, NO_AXIS, EVERY_AXIS, 1, 1]  # flags add continuous +y
    torch.testing.assert_close(symmetry.group[1, 1], turn(2, math.pi), atol=1e-12, rtol=0)
    torch.testing.assert_close(symmetry.group[3], AXES.expand(2, 3, 3))  # a flagged mug: identity only
    torch.testing.assert_close(symmetry.group[4, 1], turn(2, math.pi), atol=1e-12, rtol=0)  # the tote keeps z2
    assert lookup(np.array([3, 3])).group.shape == (2, 2, 3, 3) and lookup([3]).axis.tolist() == [NO_AXIS]
    with pytest.raises(KeyError, match=r"unknown category ids \[5, 99\]; known: \[3, 7, 12\]"):
        lookup(torch.tensor([3, 5, 99]))


def test_a_flag_adds_continuous_symmetry_about_y_and_removes_none():
    assert instance_symmetry(Symmetry(), True) == Symmetry.parse("y")  # the NOCS mug
    assert instance_symmetry(Symmetry.parse("y"), True) == Symmetry.parse("y")
    assert instance_symmetry(Symmetry.parse("z2"), False) == Symmetry.parse("z2")
    assert instance_symmetry(Symmetry.parse({"x": "half"}), True) == Symmetry.parse({"x": "half", "y": "any"})
    assert instance_symmetry(Symmetry.parse("any"), True).everything


def test_metrics_take_the_symmetry_of_discretely_symmetric_instances():
    R_true = random_rotation(3, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    R_pred = R_true @ torch.stack([turn(2, math.pi), turn(2, math.pi), turn(2, math.pi / 2)])
    symmetry = SymmetryBatch.of([Symmetry.parse("z2"), Symmetry(), Symmetry.parse("z2")])
    t = np.zeros((3, 3))
    degrees, cm = pose_errors(R_pred.numpy(), t, R_true.numpy(), t + [0.03, 0.0, 0.04], symmetry)
    np.testing.assert_allclose(degrees, [0.0, 180.0, 90.0], atol=1e-6)
    np.testing.assert_allclose(cm, [5.0] * 3)


# --------------------------------------------------------------------------- equivalent poses


def test_the_nearest_turn_is_chosen_among_the_group():
    generator = torch.Generator().manual_seed(8)
    reference = random_rotation(50, generator=generator, dtype=torch.float64)
    box = Symmetry.parse({"x": 2, "y": 2, "z": 2})
    turns = torch.stack([AXES, turn(0, math.pi), turn(1, math.pi), turn(2, math.pi)])
    small = axis_angle_to_matrix(0.3 * torch.randn(50, 3, generator=generator, dtype=torch.float64))
    chosen = turns[torch.randint(0, 4, (50,), generator=generator)]
    R = reference @ small @ chosen  # near the reference up to one of the box's turns
    nearest = nearest_turn(R, reference, SymmetryBatch.of([box] * 50))
    torch.testing.assert_close(nearest, reference @ small, atol=1e-9, rtol=0)
    torch.testing.assert_close(
        rotation_error(nearest, R, SymmetryBatch.of([box] * 50)),
        torch.zeros(50, dtype=torch.float64),
        atol=1e-6,
        rtol=0,
    )
    # the identity group leaves rotations as they are
    assert nearest_turn(R, reference, SymmetryBatch.of([Symmetry.parse("y")] * 50)) is R


def turn_np(axis: int, angle: float) -> np.ndarray:
    return turn(axis, angle).numpy()


def test_samples_on_different_equivalent_poses_average_to_one_of_them():
    R = axis_angle_to_matrix(torch.tensor([0.4, -0.3, 0.2]))
    wobble = axis_angle_to_matrix(
        torch.tensor([[0.0, 0.0, 0.0], [0.05, 0.0, 0.0], [0.0, -0.05, 0.0], [0.0, 0.0, 0.05]])
    )
    half_turn_z = turn(2, math.pi).float()
    samples = (R @ wobble @ torch.stack([torch.eye(3), half_turn_z, torch.eye(3), half_turn_z]))[None]
    aligned = same_representatives(samples, SymmetryBatch.of([Symmetry.parse("z2")]))
    assert torch.rad2deg(geodesic_angle(mean_rotation(aligned)[0], R)) < 3.0
    assert torch.rad2deg(geodesic_angle(mean_rotation(samples)[0], R)) > 45.0  # what averaging alone gives
    assert same_representatives(samples, SymmetryBatch.of([Symmetry()])) is samples


def test_alignment_about_y_keeps_the_axis_and_follows_the_reference():
    R = axis_angle_to_matrix(torch.tensor([0.4, 1.0, -0.3])).numpy()
    reference = axis_angle_to_matrix(torch.tensor([0.1, 2.5, 0.0])).numpy()
    about_y = SymmetryBatch.of([Symmetry.parse("y")])
    aligned = align_to_reference(R[None], reference[None], about_y)[0]
    np.testing.assert_allclose(aligned.T @ aligned, np.eye(3), atol=1e-6)
    np.testing.assert_allclose(aligned[:, 1], R[:, 1], atol=1e-6)
    candidates = [R @ turn_np(1, a) for a in np.linspace(0, 2 * np.pi, 73)]
    best = max(candidates, key=lambda c: c[:, 0] @ reference[:, 0])
    assert aligned[:, 0] @ reference[:, 0] >= best[:, 0] @ reference[:, 0] - 1e-6
    again = align_to_reference(aligned[None], reference[None], about_y)[0]
    np.testing.assert_allclose(again, aligned, atol=1e-6)  # stable frame to frame


def test_alignment_under_a_flip_and_a_continuous_axis():
    """A can that is the same upside down (y: any, x: half): +y goes to the reference's side,
    then x is the one closest to the reference's; a sphere takes the reference; no symmetry keeps R."""
    reference = axis_angle_to_matrix(torch.tensor([0.2, 0.5, -0.1])).numpy()
    R = reference @ turn_np(0, np.pi) @ turn_np(1, 1.1)  # flipped, then turned about its own +y
    specs = [{"x": "half", "y": "any"}, "any", "none"]
    aligned = align_to_reference(
        np.stack([R] * 3), np.stack([reference] * 3), SymmetryBatch.of([Symmetry.parse(s) for s in specs])
    )
    np.testing.assert_allclose(aligned[0], reference, atol=1e-6)
    np.testing.assert_array_equal(aligned[1], reference)
    np.testing.assert_array_equal(aligned[2], R)


def align_one_at_a_time(R: np.ndarray, reference: np.ndarray, symmetry: Symmetry) -> np.ndarray:
    """The per-object NumPy code `align_to_reference` replaced (estimator.align_symmetric), kept
    here to prove that the batched version gives the same numbers."""
    if symmetry.none:
        return R
    if symmetry.everything:
        return np.array(reference, dtype=np.result_type(R, reference))
    batch = SymmetryBatch.of([symmetry])
    if batch.group.shape[-3] > 1:
        R64, reference64 = (torch.as_tensor(M, dtype=torch.float64)[None] for M in (R, reference))
        R = nearest_turn(R64, reference64, batch)[0].numpy().astype(R.dtype)
    axis = symmetry.continuous_axis
    if axis is None:
        return R
    a, b, c = R[:, axis], (axis + 2) % 3, (axis + 1) % 3
    v = reference[:, b] - (reference[:, b] @ a) * a
    if np.linalg.norm(v) < 1e-6:
        return R
    v = v / np.linalg.norm(v)
    spun = np.empty((3, 3), dtype=np.result_type(R, reference))
    spun[:, axis], spun[:, b], spun[:, c] = a, v, np.cross(v, a)
    return spun


MIXED_SPECS = [
    "none", "y", "z2", "x3", "y4", "any", "z", "x",
    {"x": "half", "y": "any"}, {"y": "half", "x": "any"}, {"x": 2, "y": 2, "z": 2}, {"x": 4, "y": 4, "z": 4},
]  # fmt: skip


@pytest.mark.parametrize(
    ("R_dtype", "reference_dtype"), [(np.float32, np.float64), (np.float32, np.float32), (np.float64, np.float64)]
)
def test_batched_alignment_is_bit_for_bit_the_one_object_at_a_time_code(R_dtype, reference_dtype):
    """Every object of a batch mixing all kinds of symmetry gets exactly the old per-object
    result: the same float operations (float64 turns rounded to R's dtype; dot products by
    np.vecdot, which sums as a 1-D `@` does), padding by the identity that never wins."""
    n = 3000
    generator = torch.Generator().manual_seed(11)
    R = random_rotation(n, generator=generator, dtype=torch.float64).numpy().astype(R_dtype)
    reference = random_rotation(n, generator=generator, dtype=torch.float64).numpy()
    near = torch.rand(n, generator=generator) < 0.3  # references close to R, as a track's are
    wobble = axis_angle_to_matrix(0.2 * torch.randn(n, 3, generator=generator, dtype=torch.float64)).numpy()
    reference[near.numpy()] = (R.astype(np.float64) @ wobble)[near.numpy()]
    reference[::7] = np.eye(3)  # a new object: the camera's axes
    reference = reference.astype(reference_dtype)
    reference[5, :, 0] = R[5, :, 1]  # x parallel to R's continuous axis: R stays as it is
    codes = torch.randint(0, len(MIXED_SPECS), (n,), generator=generator).tolist()
    codes[5] = MIXED_SPECS.index("y")
    symmetries = [Symmetry.parse(MIXED_SPECS[k]) for k in codes]
    aligned = align_to_reference(R, reference, SymmetryBatch.of(symmetries))
    assert aligned.dtype == np.result_type(R, reference)
    for i, symmetry in enumerate(symmetries):
        expected = align_one_at_a_time(R[i], reference[i], symmetry).astype(aligned.dtype)
        assert expected.tobytes() == aligned[i].tobytes(), (i, symmetry)
    np.testing.assert_array_equal(aligned[5], R[5])
