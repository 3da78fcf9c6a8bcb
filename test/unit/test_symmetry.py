"""Rotation errors, the regression loss and the metrics under a category's symmetry group.

Expected values come from turns built here with `axis_angle_to_matrix`, independently of
`Symmetry.rotations()`; the NOCS case is compared with the formula used before discrete
symmetries existed (+y-axis angle where flagged, geodesic angle elsewhere).
"""

import math

import numpy as np
import pytest
import torch

from posediff_ros.categories import NOCS_CATEGORIES, Category, CategoryTable, Symmetry
from posediff_ros.geometry import (
    EVERY_AXIS,
    NO_AXIS,
    CategorySymmetries,
    SymmetryBatch,
    axis_angle_to_matrix,
    geodesic_angle,
    instance_symmetry,
    nearest_equivalent,
    pose_to_vector,
    random_rotation,
    rotation_error,
    vector_to_pose,
    y_axis_angle,
)
from posediff_ros.metrics import pose_errors
from posediff_ros.objective import RegressionLoss

AXES = torch.eye(3, dtype=torch.float64)


def turn(axis: int, angle: float) -> torch.Tensor:
    return axis_angle_to_matrix(AXES[axis] * angle)


def error(R_pred: torch.Tensor, R_true: torch.Tensor, spec) -> torch.Tensor:
    """rotation_error of one object whose symmetry is Symmetry.parse(spec), in degrees."""
    return torch.rad2deg(rotation_error(R_pred[None], R_true[None], SymmetryBatch.of([Symmetry.parse(spec)])))[0]


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


def old_rotation_error(R_pred: torch.Tensor, R_true: torch.Tensor, symmetric: torch.Tensor) -> torch.Tensor:
    """The error before discrete symmetries: +y-axis angle where flagged, geodesic angle elsewhere."""
    return torch.where(symmetric, y_axis_angle(R_pred, R_true), geodesic_angle(R_pred, R_true))


def nocs_batch(n: int, seed: int, dtype: torch.dtype):
    generator = torch.Generator().manual_seed(seed)
    R_pred, R_true = (random_rotation(n, generator=generator, dtype=dtype) for _ in range(2))
    category = torch.randint(1, 7, (n,), generator=generator)
    # the data's flags: the category's own symmetry, or a mug whose handle is hidden
    hidden_handle = (category == 6) & (torch.rand(n, generator=generator) < 0.5)
    flags = torch.tensor([NOCS_CATEGORIES.by_id(int(c)).symmetric for c in category]) | hidden_handle
    return R_pred, R_true, category, flags


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_nocs_errors_are_bit_for_bit_those_of_the_old_formula(dtype):
    R_pred, R_true, category, flags = nocs_batch(2000, seed=3, dtype=dtype)
    symmetry = CategorySymmetries(NOCS_CATEGORIES)(category, flags)
    assert symmetry.group.shape == (2000, 1, 3, 3)  # no discrete turn in NOCS: the fast path
    expected = old_rotation_error(R_pred, R_true, flags)
    assert torch.equal(rotation_error(R_pred, R_true, symmetry), expected)
    assert torch.equal(rotation_error(R_pred, R_true, flags), expected)  # flags alone, as before


def test_nocs_loss_and_metrics_are_those_of_the_old_formula():
    R_pred, R_true, category, flags = nocs_batch(64, seed=4, dtype=torch.float32)
    symmetry = CategorySymmetries(NOCS_CATEGORIES)(category, flags)
    t = torch.zeros(64, 3)
    pred, target = pose_to_vector(R_pred, t), pose_to_vector(R_true, t)
    loss = RegressionLoss()(pred, target, symmetry)
    expected = old_rotation_error(vector_to_pose(pred)[0], vector_to_pose(target)[0], flags).mean()
    assert torch.equal(loss["rotation"], expected)
    assert torch.equal(RegressionLoss()(pred, target, flags)["rotation"], expected)

    old_degrees = torch.rad2deg(old_rotation_error(R_pred.double(), R_true.double(), flags)).numpy()
    degrees, _ = pose_errors(R_pred.numpy(), t.numpy(), R_true.numpy(), t.numpy(), symmetry)
    np.testing.assert_array_equal(degrees, old_degrees)
    degrees, _ = pose_errors(R_pred.numpy(), t.numpy(), R_true.numpy(), t.numpy(), flags.numpy())
    np.testing.assert_array_equal(degrees, old_degrees)  # the bool flags callers pass today


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


def test_the_nearest_equivalent_pose_is_chosen_among_the_group():
    generator = torch.Generator().manual_seed(8)
    reference = random_rotation(50, generator=generator, dtype=torch.float64)
    box = Symmetry.parse({"x": 2, "y": 2, "z": 2})
    turns = torch.stack([AXES, turn(0, math.pi), turn(1, math.pi), turn(2, math.pi)])
    small = axis_angle_to_matrix(0.3 * torch.randn(50, 3, generator=generator, dtype=torch.float64))
    chosen = turns[torch.randint(0, 4, (50,), generator=generator)]
    R = reference @ small @ chosen  # near the reference up to one of the box's turns
    nearest = nearest_equivalent(R, reference, SymmetryBatch.of([box] * 50))
    torch.testing.assert_close(nearest, reference @ small, atol=1e-9, rtol=0)
    torch.testing.assert_close(
        rotation_error(nearest, R, SymmetryBatch.of([box] * 50)),
        torch.zeros(50, dtype=torch.float64),
        atol=1e-6,
        rtol=0,
    )
    # the identity group leaves rotations as they are
    assert nearest_equivalent(R, reference, SymmetryBatch.of([Symmetry.parse("y")] * 50)) is R
