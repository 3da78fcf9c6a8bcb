"""Launch files, RViz config and console scripts agree with the node (the parameter file: test_settings.py).

`launch` is not on PyPI: the launch files are compiled and checked for
`generate_launch_description` here, and built for real where `launch_ros` is installed.
"""

import ast
import importlib.util
import re
import runpy
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
LAUNCH_FILES = sorted((REPO / "launch").glob("*.launch.py"))


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_launch_file_defines_generate_launch_description(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    compile(tree, str(path), "exec")
    assert "generate_launch_description" in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    if importlib.util.find_spec("launch_ros") is None:
        pytest.skip("launch_ros is not installed: compiled only")
    from launch import LaunchDescription

    assert isinstance(runpy.run_path(str(path))["generate_launch_description"](), LaunchDescription)


def test_launch_files_present():
    assert {p.name for p in LAUNCH_FILES} == {"estimator.launch.py", "demo.launch.py"}


def test_rviz_config_shows_the_node_topics():
    rviz = yaml.safe_load((REPO / "config" / "posediff.rviz").read_text())
    displays = {d["Class"]: d for d in rviz["Visualization Manager"]["Displays"]}
    assert displays["rviz_default_plugins/MarkerArray"]["Topic"]["Value"] == "/posediff_estimator/markers"
    assert {"rviz_default_plugins/TF", "rviz_default_plugins/DepthCloud"} <= set(displays)


def console_scripts() -> list[str]:
    """setup.py's CONSOLE_SCRIPTS: "name = module:function" entries."""
    tree = ast.parse((REPO / "setup.py").read_text())
    return next(
        ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "CONSOLE_SCRIPTS"
    )


def test_console_scripts_registered():
    scripts = console_scripts()
    for entry in (
        "estimator = posediff_ros.ros.node:main",
        "synthetic_camera = posediff_ros.ros.synthetic_camera:main",
        "live_demo = posediff_ros.ros.live_demo:main",
    ):
        assert entry in scripts


# ----------------------------------------------------------------------------- cross-checks (no `launch` needed)


def calls(path: Path, name: str) -> list[ast.Call]:
    """Every call of `name` (a plain or dotted name ending in it) in the file."""
    tree = ast.parse(path.read_text())
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "id", getattr(n.func, "attr", None)) == name
    ]


def strings(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def declared(path: Path) -> set[str]:
    """The launch arguments a file declares: DeclareLaunchArgument("name", ...) or an ARGUMENTS dict's keys."""
    names = {c.args[0].value for c in calls(path, "DeclareLaunchArgument") if isinstance(c.args[0], ast.Constant)}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ARGUMENTS":
            names |= {key.value for key in node.value.keys}
    return names


def keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def test_every_argument_the_demo_passes_is_declared_by_the_estimator_launch():
    demo, estimator = REPO / "launch" / "demo.launch.py", REPO / "launch" / "estimator.launch.py"
    (include,) = calls(demo, "IncludeLaunchDescription")
    passed = {k.value for k in keyword(include, "launch_arguments").func.value.keys}  # {...}.items()
    assert passed and passed <= declared(estimator), passed - declared(estimator)
    for path in (demo, estimator):  # and every LaunchConfiguration("name") a file reads, it declares
        read = {c.args[0].value for c in calls(path, "LaunchConfiguration") if isinstance(c.args[0], ast.Constant)}
        assert read <= declared(path), (path.name, read - declared(path))


def node_topics() -> set[str]:
    """The estimator's relative topic names, as its code creates them (subscriptions,
    publishers, the synchronizer's inputs and the object sources' topics)."""
    code = "\n".join((REPO / "posediff_ros" / "ros" / f).read_text() for f in ("inputs.py", "outputs.py", "sources.py"))
    patterns = (
        r"create_(?:subscription|publisher)\(\s*\w+,\s*\"([\w/~]+)\"",
        r"\(\w+, \"(\w+)\"\)",  # (Image, "depth") of synchronize()
        r"msg_type, topic = \w+, \"(\w+)\"",
    )
    return {topic for pattern in patterns for topic in re.findall(pattern, code)}


def test_remappings_of_the_estimator_launch_are_the_node_topics():
    (node,) = [c for c in calls(REPO / "launch" / "estimator.launch.py", "Node") if "estimator" in strings(c)]
    remapped = {pair.elts[0].value for pair in keyword(node, "remappings").elts}
    assert remapped == {"depth", "mask", "detections", "camera_info", "object_poses"}
    assert remapped <= node_topics(), remapped - node_topics()


def test_every_executable_of_the_launch_files_is_a_console_script():
    scripts = {entry.split("=")[0].strip() for entry in console_scripts()}
    for path in LAUNCH_FILES:
        for node in calls(path, "Node"):
            if strings(keyword(node, "package")) == {"posediff_ros"}:
                executables = strings(keyword(node, "executable"))
                assert executables and executables <= scripts, (path.name, executables - scripts)
