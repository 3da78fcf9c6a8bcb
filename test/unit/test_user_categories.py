"""Categories of the user's own table from the user's meshes (issue #14): generate_dataset,
the training stream, `train` writing the table into its checkpoints, the demo, and the mesh checks."""

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
import trimesh

from posediff_ros import demo
from posediff_ros.categories import NOCS_CATEGORIES, Category, CategoryTable, write_category_table
from posediff_ros.checkpoint import checkpoint_categories, load_checkpoint, save_checkpoint
from posediff_ros.data.generate import main as generate_dataset
from posediff_ros.data.layout import SyntheticDataset, dataset_categories
from posediff_ros.data.mesh_checks import MeshError
from posediff_ros.data.scene import SceneConfig, sample_scene
from posediff_ros.data.shapes import load_category_meshes, load_mesh
from posediff_ros.data.stream import SyntheticPoseStream
from posediff_ros.model import PoseNet
from posediff_ros.symmetry import Symmetry
from posediff_ros.train import main as train
from posediff_ros.train_config import TrainConfig
from posediff_ros.train_data import run_categories, training_frames

TABLE = CategoryTable((Category(7, "tote", Symmetry.parse("z2")), Category(9, "bracket")))
TOTE = (0.3, 0.2, 0.4)
SMALL_IMAGES = ["--width", "160", "--height", "120", "--no-depth-noise", "--no-mask-noise"]


def bracket() -> trimesh.Trimesh:
    """An L-bracket of two overlapping closed plates (y up), 12 x 10 x 5 cm."""
    base = trimesh.creation.box((0.12, 0.02, 0.05)).apply_translation((0.0, 0.01, 0.0))
    wall = trimesh.creation.box((0.02, 0.1, 0.05)).apply_translation((-0.05, 0.05, 0.0))
    return trimesh.util.concatenate([base, wall])


@pytest.fixture
def meshes(tmp_path) -> Path:
    root = tmp_path / "meshes"
    (root / "tote").mkdir(parents=True)
    (root / "bracket").mkdir()
    trimesh.creation.box(TOTE).export(root / "tote" / "big.obj")
    trimesh.creation.box((0.2, 0.15, 0.3)).export(root / "tote" / "small.stl")
    bracket().export(root / "bracket" / "l.ply")
    (root / "tote" / "notes.txt").write_text("not a mesh: ignored")
    return root


@pytest.fixture
def table_file(tmp_path) -> Path:
    path = tmp_path / "categories.yaml"
    write_category_table(path, TABLE)
    return path


def test_generated_dataset_holds_the_table_and_its_categories(tmp_path, meshes, table_file):
    out = tmp_path / "data"
    generate_dataset(
        ["--out", str(out), "--scenes", "2", "--categories", str(table_file), "--meshes", str(meshes), *SMALL_IMAGES]
    )
    assert dataset_categories(out) == TABLE
    dataset = SyntheticDataset(out)
    assert dataset.categories == TABLE
    instances = [i for frame in dataset for i in frame.instances]
    assert instances and {i.category for i in instances} <= {7, 9}
    assert not any(i.symmetric for i in instances)  # z2 and none: not continuous about +y
    sizes = {(0.3, 0.2, 0.4), (0.2, 0.15, 0.3), (0.12, 0.1, 0.05)}
    assert all(tuple(np.round(i.size, 6)) in sizes for i in instances)


def test_stream_draws_the_table_and_mixes_meshes_into_procedural_names(meshes):
    library = load_category_meshes(TABLE, meshes)
    stream = SyntheticPoseStream(seed=1, config=SceneConfig(table=TABLE), views_per_scene=1, library=library)
    samples = list(itertools.islice(stream, 12))
    assert {int(s["category"]) for s in samples} == {7, 9}
    mixed = CategoryTable((Category(4, "can", Symmetry.parse("y")), Category(7, "tote", Symmetry.parse("z2"))))
    config = SceneConfig(table=mixed, user_mesh_prob=0.0)
    objects = [o for i in range(8) for o in sample_scene(np.random.default_rng(i), config, "val", library).objects]
    assert {o.category_id for o in objects} == {4, 7}
    assert all(bool(o.shape.family) == (o.shape.category == "can") for o in objects)  # cans stay procedural


def test_a_category_without_generator_or_meshes_is_refused(tmp_path, meshes, capsys):
    (meshes / "bracket" / "l.ply").unlink()
    with pytest.raises(ValueError, match=f"category 'bracket' has no procedural generator and no meshes in {meshes}"):
        load_category_meshes(TABLE, meshes)
    with pytest.raises(ValueError, match="category 'tote' has no procedural generator and no meshes"):
        load_category_meshes(TABLE, None)
    table = tmp_path / "t.yaml"
    write_category_table(table, TABLE)
    with pytest.raises(SystemExit) as exit_info:
        generate_dataset(
            ["--out", str(tmp_path / "o"), "--categories", str(table), "--meshes", str(meshes), *SMALL_IMAGES]
        )
    assert exit_info.value.code == 2 and "category 'bracket' has no procedural generator" in capsys.readouterr().err


def test_a_mesh_folder_of_an_unknown_name_is_refused(meshes):
    (meshes / "crate").mkdir()
    with pytest.raises(ValueError, match=r"mesh folder .*crate is not named after a category.*\(tote, bracket\)"):
        load_category_meshes(TABLE, meshes)
    with pytest.raises(ValueError, match=r"bracket is not .*\(bottle, bowl, camera, can, laptop, mug\)"):
        load_category_meshes(NOCS_CATEGORIES, meshes)  # the table file forgotten


def test_bad_meshes_are_refused_with_the_file_and_the_remedy(tmp_path):
    empty = tmp_path / "empty.obj"
    empty.write_text("v 0 0 0\nv 1 0 0\n")
    with pytest.raises(MeshError, match=r"empty\.obj has no triangles.*export the object's surface"):
        load_mesh(empty, "tote")
    broken = tmp_path / "broken.ply"
    broken.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 10\nproperty float x\nend_header\n\x00")
    with pytest.raises(MeshError, match=r"broken\.ply cannot be read .*export it as OBJ, PLY or STL"):
        load_mesh(broken, "tote")
    millimetres = tmp_path / "mm.stl"
    trimesh.creation.box((300.0, 200.0, 400.0)).export(millimetres)
    with pytest.raises(MeshError, match=r"mm\.stl is 400 m across.*looks like millimetres; pass --mesh-scale 0\.001"):
        load_mesh(millimetres, "tote")
    assert np.allclose(load_mesh(millimetres, "tote", scale=0.001).size, TOTE)
    metres = tmp_path / "m.obj"
    trimesh.creation.box(TOTE).export(metres)
    with pytest.raises(MeshError, match=r"m\.obj is 0\.0004 m across.*looks like metres; pass --mesh-scale 1"):
        load_mesh(metres, "tote", scale=0.001)
    box = trimesh.creation.box(TOTE)
    lidless = tmp_path / "open.obj"
    trimesh.Trimesh(box.vertices, box.faces[2:]).export(lidless)  # one side missing
    with pytest.raises(MeshError, match=r"open\.obj is not closed: .*close them"):
        load_mesh(lidless, "tote")


def test_a_triangle_soup_and_overlapping_parts_count_as_closed(tmp_path):
    soup = tmp_path / "soup.stl"  # STL repeats every vertex per triangle
    trimesh.creation.box(TOTE).export(soup)
    assert np.allclose(load_mesh(soup, "tote").size, TOTE)
    path = tmp_path / "bracket.obj"
    bracket().export(path)
    assert np.allclose(load_mesh(path, "bracket").size, (0.12, 0.1, 0.05))


SMALL_RUN = [
    "model.encoder={centres: [32, 16, 8], radii: [[0.04], [0.08], [0.16]], neighbours: [[8], [8], [8]], "
    "mlps: [[[16, 16]], [[16, 32]], [[32, 32]], [[32, 64]]]}",
    "model.time_dim=16",
    "model.pose_dim=16",
    "model.head_hidden=16",
    "model.regression_hidden=16",
    "batch_size=2",
    "workers=0",
    "score_repeats=1",
    "val_samples=4",
    "log_every=1",
    "stage=pretrain",
]


def test_train_writes_the_table_into_its_checkpoints_and_fine_tunes_across_tables(tmp_path, meshes, table_file, capsys):
    own = tmp_path / "own"
    train([f"out={own}", "steps=2", "val_every=2", f"categories={table_file}", f"meshes={meshes}", *SMALL_RUN])
    for name in ("last.pt", "best.pt", "model.pt"):
        assert checkpoint_categories(load_checkpoint(own / "pretrain" / name)) == TABLE
    metrics = load_checkpoint(own / "pretrain" / "model.pt")["metrics"]
    assert set(metrics["regression"]["per_category"]) <= {"tote", "bracket"}
    assert "train: categories tote (7, symmetry z: half), bracket (9" in capsys.readouterr().out
    nocs = tmp_path / "nocs"
    train([f"out={nocs}", "steps=1", "val_every=1", f"init={own / 'pretrain' / 'model.pt'}", *SMALL_RUN])
    assert checkpoint_categories(load_checkpoint(nocs / "pretrain" / "model.pt")) == NOCS_CATEGORIES
    assert "fine-tuning" in capsys.readouterr().out


def test_train_refuses_a_table_it_cannot_render(tmp_path, table_file, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train([f"out={tmp_path}", "steps=1", f"categories={table_file}", *SMALL_RUN])
    assert exit_info.value.code == 2
    assert "category 'tote' has no procedural generator and no meshes" in capsys.readouterr().err


def test_the_run_table_defaults_to_the_dataset_s_own_and_must_cover_it(tmp_path, meshes, table_file):
    out = tmp_path / "data"
    generate_dataset(
        ["--out", str(out), "--scenes", "1", "--categories", str(table_file), "--meshes", str(meshes), *SMALL_IMAGES]
    )
    config = TrainConfig(data="disk", data_dir=str(out), val_dir=str(out))
    assert run_categories(config, training_frames(config)[1]) == TABLE
    nocs_file = Path(__file__).parents[2] / "config" / "nocs_categories.yaml"
    with pytest.raises(ValueError, match=r"data_dir .* has categories \['7: tote', '9: bracket'\] that the run's"):
        config = TrainConfig(data="disk", data_dir=str(out), categories=str(nocs_file))
        run_categories(config, training_frames(config)[1])


def test_meshes_without_a_stream_to_render_them_are_refused(tmp_path):
    with pytest.raises(ValueError, match="meshes applies to data=stream"):
        TrainConfig(data="disk", data_dir=str(tmp_path), val_dir=str(tmp_path), meshes=str(tmp_path))
    with pytest.raises(ValueError, match="mesh_scale must be positive"):
        TrainConfig(mesh_scale=0.0)


def test_demo_renders_the_checkpoint_s_categories_from_meshes(tmp_path, meshes, capsys):
    checkpoint = tmp_path / "mine.pt"
    save_checkpoint(checkpoint, PoseNet(), categories=TABLE.as_entries())
    demo.main(["--checkpoint", str(checkpoint), "--frames", "1", "--meshes", str(meshes), "--device", "cpu"])
    printed = capsys.readouterr().out
    rows = [line.split() for line in printed.splitlines() if re.match(r"\s*\d{4,} ", line)]
    assert rows and {row[1] for row in rows} <= {"tote", "bracket"}, printed
    with pytest.raises(SystemExit, match="category 'tote' has no procedural generator"):
        demo.main(["--checkpoint", str(checkpoint), "--frames", "1", "--device", "cpu"])
