"""The category table: symmetry specs, the table file and its errors, checkpoints' tables."""

from pathlib import Path

import numpy as np
import pytest

from posediff_ros.categories import (
    ABOUT_Y,
    NOCS_CATEGORIES,
    CategoryTable,
    Symmetry,
    load_category_table,
    write_category_table,
)
from posediff_ros.checkpoint import CheckpointError, checkpoint_categories, load_checkpoint, save_checkpoint
from posediff_ros.model import PoseNet

CONFIG = Path(__file__).resolve().parents[2] / "config"


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


def test_shipped_nocs_file_is_the_default_table():
    table = load_category_table(CONFIG / "nocs_categories.yaml")
    assert table == NOCS_CATEGORIES
    assert [c.name for c in table if c.symmetry == ABOUT_Y] == ["bottle", "bowl", "can"]


def test_table_file_round_trip(tmp_path):
    table = CategoryTable.from_entries(
        [{"id": 7, "name": "tote", "symmetry": "z2"}, {"id": 9, "name": "bracket"}], source="test"
    )
    write_category_table(tmp_path / "t.yaml", table)
    assert load_category_table(tmp_path / "t.yaml") == table


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("categories: [{id: 1, name: a}, {id: 1, name: b}]", "ids must be unique; repeated: 1"),
        ("categories: [{id: 1, name: a}, {id: 2, name: a}]", "names must be unique; repeated: a"),
        ("categories: [{id: 0, name: a}]", "positive"),
        ("categories: [{id: 1}]", "entry 1 .* needs an id and a name"),
        ("categories: [{id: 1, name: a b}]", "must be a word"),
        ("categories: [{id: 1, name: a, symmetry: w}]", "entry 1 \\(a\\): symmetry"),
        ("categories: [{id: 1, name: a, colour: red}]", "unknown keys"),
        ("categories: []", "non-empty list"),
        ("names: [a]", "'categories:' list"),
        ("categories: [", "cannot be read"),
    ],
)
def test_bad_table_files_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as error:
        load_category_table(path)
    assert str(path) in str(error.value)


def test_checkpoint_carries_its_table(tmp_path):
    table = CategoryTable.from_entries([{"id": 7, "name": "tote", "symmetry": "z2"}])
    save_checkpoint(tmp_path / "m.pt", PoseNet(), categories=table.as_entries())
    assert checkpoint_categories(load_checkpoint(tmp_path / "m.pt")) == table
    assert checkpoint_categories({}) == NOCS_CATEGORIES  # files from before the table
    with pytest.raises(CheckpointError, match="ids must be unique"):
        checkpoint_categories({"categories": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]})
