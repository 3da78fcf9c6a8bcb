"""VUS@n°m cm (posediff_ros/vus.py) against hand-computable cases and the grid definition."""

import math

import numpy as np
import pytest

from posediff_ros.vus import VUS_LIMITS, format_vus_table, pass_fraction, vus, vus_name, vus_summary, vus_table


def grid_vus(rotation, translation, degrees, cm, steps=100):
    """The definition spelled out: accuracy at every midpoint of a steps x steps threshold grid, averaged."""
    ds = (np.arange(steps) + 0.5) * degrees / steps
    cs = (np.arange(steps) + 0.5) * cm / steps
    return np.mean([[np.mean((rotation < d) & (translation < c)) for c in cs] for d in ds])


@pytest.mark.parametrize(("degrees", "cm"), VUS_LIMITS)
def test_zero_errors_give_one(degrees, cm):
    assert vus(np.zeros(3), np.zeros(3), degrees, cm) == 1.0


@pytest.mark.parametrize(("rotation", "translation"), [(5.0, 0.0), (0.0, 2.0), (30.0, 10.0), (180.0, math.inf)])
def test_errors_at_or_beyond_the_limits_give_zero(rotation, translation):
    assert vus([rotation], [translation], 5, 2) == 0.0


def test_nan_errors_count_as_failures():
    assert vus([np.nan, 0.0], [0.0, 0.0], 5, 2) == 0.5


def test_uniform_grid_case():
    # 2.5° passes the 50 rotation midpoints above it; 0.5 cm passes 75 of the 100 translation midpoints below 2 cm.
    assert vus([2.5], [0.0], 5, 2) == pytest.approx(0.5, abs=1e-12)
    assert vus([2.5], [0.5], 5, 2) == pytest.approx(0.5 * 0.75, abs=1e-12)
    assert vus([0.0, 5.0], [0.0, 0.0], 10, 5) == pytest.approx(0.5 * (1 + 0.5), abs=1e-12)


def test_pass_fraction_counts_midpoints_strictly_below():
    assert pass_fraction(np.array([0.0, 0.02, 0.03, 4.97, 4.98, 5.0]), 5).tolist() == [1.0, 1.0, 0.99, 0.01, 0.0, 0.0]


def test_equals_the_grid_definition_and_approaches_the_integral():
    rng = np.random.default_rng(3)
    rotation, translation = rng.uniform(0, 12, 200), rng.uniform(0, 6, 200)
    for degrees, cm in VUS_LIMITS:
        value = vus(rotation, translation, degrees, cm)
        assert value == pytest.approx(grid_vus(rotation, translation, degrees, cm), abs=1e-12)
        integral = np.mean(np.clip(1 - rotation / degrees, 0, None) * np.clip(1 - translation / cm, 0, None))
        assert value == pytest.approx(integral, abs=0.01)


def test_table_is_per_category_and_the_unweighted_mean():
    table = vus_table([0.0, 0.0, 0.0, 50.0], [0.0, 0.0, 0.0, 0.0], ["bowl", "bowl", "bowl", "can"])
    key = vus_name(5, 2)
    assert table["per_category"]["bowl"][key] == 1.0
    assert table["per_category"]["can"][key] == 0.0
    assert table["mean"][key] == 0.5  # each category counts once, not each instance
    assert set(table["mean"]) == {vus_name(d, c) for d, c in VUS_LIMITS} == set(vus_summary([0], [0]))
    assert "mean" in format_vus_table(table) and "100.0" in format_vus_table(table)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="at least one"):
        vus([], [], 5, 2)
    with pytest.raises(ValueError, match="as many"):
        vus([1.0, 2.0], [1.0], 5, 2)
    with pytest.raises(ValueError, match="positive"):
        vus([1.0], [1.0], 0, 2)
    with pytest.raises(ValueError, match="category names"):
        vus_table([1.0], [1.0], [])


def test_matches_cutoop():
    from cutoop import eval_utils  # the Omni6DPose authors' package (requirements-dev.txt)

    rng = np.random.default_rng(1)
    n = 120
    labels = rng.integers(1, 4, n)
    rotation, translation = rng.uniform(0, 12, n), rng.uniform(0, 6, n)
    poses = np.repeat(np.eye(4)[None], n, axis=0)
    match = eval_utils.DetectMatch(
        gt_affine=poses, gt_size=np.ones((n, 3)), gt_sym_labels=[None] * n, gt_class_labels=labels,
        pred_affine=poses, pred_size=np.ones((n, 3)),
    )  # fmt: skip
    theirs = match.metrics(criterion=(np.zeros(n), rotation, translation)).class_means.pose_auc
    ours = vus_table(rotation, translation, [str(label) for label in labels])["mean"]
    for k, (degrees, cm) in enumerate(VUS_LIMITS):  # cutoop's default pose_auc_ranges, in this order
        assert ours[vus_name(degrees, cm)] == pytest.approx(theirs[k].auc, abs=1e-12)
