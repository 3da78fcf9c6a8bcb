"""The README's worked example, run as written on a tiny budget (issue #14 item 5).

The block between the `worked-example` markers is run by bash in a temporary folder that
holds meshes of the two categories (boxes for totes, L-brackets) and a link to `models/`.
Only the budget is cut (scene, frame and step counts, image size: each cut must still
match the README, so a changed example fails here). The last command, the node, is started as the
other DDS tests start it, with the README's model_path; one frame of the generated data goes
in over DDS and the poses must come out with the table's class_ids and TF frames.
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import trimesh

if importlib.util.find_spec("rclpy") is None:
    pytest.skip("rclpy is not installed (run `make venv` or source a ROS 2 install)", allow_module_level=True)

from test_node_dds import Harness, topics_under, wait_until  # noqa: E402
from test_user_categories import bracket  # noqa: E402

from posediff_ros.data.layout import SyntheticDataset  # noqa: E402
from posediff_ros.labels import LabelEncoding  # noqa: E402
from posediff_ros.ros.messages import track_name  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# README text -> the test's tiny budget. Images of 320 x 240 as in test_node_dds: a full-size
# frame is ten UDP fragments, which a loaded machine drops often enough to lose every resend.
BUDGET_CUTS = {
    "--scenes 400 --frames 4": "--scenes 1 --frames 1 --width 320 --height 240",
    "--scenes 20 --seed 1": "--scenes 1 --seed 1 --width 320 --height 240",
    "steps=4000": "steps=2 batch_size=4 workers=0 val_every=2 checkpoint_every=2 warmup_steps=1",
}
PREFIX = "posediff/"  # the node's default frame_prefix


def worked_example() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- worked-example:[^\n]*-->\n```bash\n(.*?)```\n<!-- worked-example: end -->", text, re.S)
    assert match, "README.md lost its worked-example block"
    return match.group(1)


def split_node_command(script: str) -> tuple[str, str]:
    """(everything before the node, the node's command) of the example."""
    start = script.index(".venv/bin/estimator")
    return script[:start], script[start:]


def make_meshes(folder: Path) -> None:
    (folder / "tote").mkdir(parents=True)
    (folder / "bracket").mkdir()
    trimesh.creation.box((0.3, 0.2, 0.4)).export(folder / "tote" / "large.obj")
    trimesh.creation.box((0.2, 0.15, 0.3)).export(folder / "tote" / "small.stl")
    bracket().export(folder / "bracket" / "l.ply")


def test_worked_example_from_meshes_to_class_ids_over_dds(tmp_path, start_node):
    script, node_command = split_node_command(worked_example())
    for text, cut in BUDGET_CUTS.items():
        assert text in script, f"the worked example no longer says {text!r}: update BUDGET_CUTS"
        script = script.replace(text, cut)
    script = script.replace(".venv/bin/", f"{Path(sys.executable).parent}/")
    make_meshes(tmp_path / "meshes")
    (tmp_path / "models").symlink_to(ROOT / "models")
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    evaluated = run.stdout.rsplit("\ncategory ", 1)[1].split("\nmean ")[0].splitlines()[1:]  # evaluate's rows
    assert evaluated and {row.split()[0] for row in evaluated} <= {"tote", "bracket"}, output

    model = re.search(r"model_path:=(\S+)", node_command).group(1)
    node = start_node(
        params={"model_path": str(tmp_path / model), "device": "cpu", "num_threads": "1", "diagnostics_period": "0.5"},
        remap=topics_under("/mine"),
    )
    harness = None
    try:
        frame = SyntheticDataset(tmp_path / "data" / "mine_val")[0]
        table = {1: "tote", 2: "bracket"}
        expected = {track_name(table[i.category], i.label, LabelEncoding.PANOPTIC) for i in frame.instances}
        harness = Harness("posediff_test_worked_example", "/mine", poses_topic="/mine/object_poses")
        harness.wait_connected()
        header = harness.publish(frame.depth, frame.mask.astype("uint16"), intrinsics=frame.intrinsics)
        try:
            poses = harness.poses_for(header, timeout=60)
        except AssertionError as error:
            status = harness.node_status()
            counters = {kv.key: kv.value for kv in status.values if kv.key.startswith("frames_")} if status else {}
            raise AssertionError(f"{error}; diagnostics {counters}; node output:\n" + "\n".join(node.lines)) from None
        published = {d.id: d.results[0].hypothesis.class_id for d in poses.detections}
        assert published and set(published) <= expected, (published, expected)
        assert all(name.rsplit("_", 1)[0] == class_id for name, class_id in published.items())
        wait_until(
            lambda: any(t.header.stamp == header.stamp for m in list(harness.received["tf"]) for t in m.transforms),
            "tf",
        )
        transforms = [t for m in list(harness.received["tf"]) for t in m.transforms]
        assert {t.child_frame_id for t in transforms if t.header.stamp == header.stamp} == {
            PREFIX + name for name in published
        }
    finally:
        if harness:
            harness.close()
