"""The category table: the table file and its errors, checkpoints' tables (symmetry specs: test_symmetry.py)."""

from pathlib import Path

import pytest

from posediff_ros.categories import NOCS_CATEGORIES, CategoryTable, load_category_table, write_category_table
from posediff_ros.checkpoint import CheckpointError, checkpoint_categories, load_checkpoint, save_checkpoint
from posediff_ros.model import PoseNet

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_shipped_nocs_file_is_the_default_table():
    table = load_category_table(CONFIG / "nocs_categories.yaml")
    assert table == NOCS_CATEGORIES
    assert [c.name for c in table if c.continuous_about_y] == ["bottle", "bowl", "can"]


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
