"""What running the package on a real ROS 2 install showed: dependencies, launch files,
the stand-ins for ROS packages that PyPI lacks, devices, the training config, live_demo.

The real `launch`, `tf2_ros`, `message_filters` and `sensor_msgs_py` are not on PyPI.
Where one is importable (a ROS 2 install) a test compares against it; otherwise the test
checks the behaviour read in that package's source, as noted beside it.
"""

import ast
import importlib.util
import os
import re
import runpy
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from test_node_demo import run_live_demo

from posediff_ros.checkpoint import CheckpointError, load_model, save_checkpoint
from posediff_ros.model import PoseNet

REPO = Path(__file__).resolve().parents[2]
LAUNCH_FILES = sorted((REPO / "launch").glob("*.launch.py"))
needs_rclpy = pytest.mark.skipif(importlib.util.find_spec("rclpy") is None, reason="rclpy is not installed")

# Python module -> the rosdep key (the name of the ROS package) that installs it.
ROSDEP_KEYS = {
    "rclpy": "rclpy",
    "rcl_interfaces": "rcl_interfaces",
    "lifecycle_msgs": "lifecycle_msgs",  # the lifecycle test's service types; rclpy.lifecycle depends on it itself
    "std_msgs": "std_msgs",
    "sensor_msgs": "sensor_msgs",
    "geometry_msgs": "geometry_msgs",
    "visualization_msgs": "visualization_msgs",
    "vision_msgs": "vision_msgs",
    "diagnostic_msgs": "diagnostic_msgs",
    "tf2_msgs": "tf2_msgs",
    "tf2_ros": "tf2_ros_py",  # the key `tf2_ros` is the C++ package, which does not pull the Python one in
    "sensor_msgs_py": "sensor_msgs_py",
    "message_filters": "message_filters",
    "launch": "launch",
    "launch_ros": "launch_ros",
    "ament_index_python": "ament_index_python",
    "numpy": "python3-numpy",
    "yaml": "python3-yaml",
}
# Python module -> its name in requirements.txt (pip); torch is installed by hand (README).
PIP_NAMES = {
    "numpy": "numpy",
    "scipy": "scipy",
    "yaml": "pyyaml",
    "tqdm": "tqdm",
    "matplotlib": "matplotlib",
    "PIL": "pillow",
    "trimesh": "trimesh",
    "embreex": "embreex",
    "torch": None,
}
# Python module -> the optional pip package that provides it (setup.py extras_require).
OPTIONAL = {"OpenEXR": "openexr"}
DEVELOPMENT = {"pytest", "pytest-xdist", "hypothesis", "ruff"}


def imported_modules(*paths: Path) -> set[str]:
    """Top-level names of the third-party modules that the Python files under `paths` import."""
    folders = ("test", "benchmarks", "scripts")  # their modules import each other by file name
    local = {p.stem for folder in folders for p in (REPO / folder).rglob("*.py")} | {"posediff_ros"}
    names = set()
    for path in [f for p in paths for f in ([p] if p.is_file() else p.rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - local


def requirement_names(path: Path) -> set[str]:
    lines = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    return {re.split(r"[<>=!~;\[ ]", line)[0].lower() for line in lines if line and not line.startswith("-")}


# ----------------------------------------------------------------------------- package.xml, requirements


def test_exec_depends_are_the_keys_of_the_imported_modules():
    imported = imported_modules(REPO / "posediff_ros", *LAUNCH_FILES)
    unknown = imported - set(ROSDEP_KEYS) - set(PIP_NAMES) - set(OPTIONAL)
    assert not unknown, f"new dependencies {unknown}: declare them (package.xml or requirements.txt) and list them here"

    declared = {e.text for e in ET.parse(REPO / "package.xml").getroot().iter("exec_depend")}
    assert declared == {ROSDEP_KEYS[m] for m in imported if m in ROSDEP_KEYS}


def test_optional_dependencies_are_extras_of_setup_py():
    setup_text = (REPO / "setup.py").read_text()
    assert all(f"'{name}'" in setup_text for name in OPTIONAL.values()), "declare them in extras_require"


def test_runtime_requirements_hold_the_imports_and_no_development_tools():
    runtime = requirement_names(REPO / "requirements.txt")
    imported = imported_modules(REPO / "posediff_ros")
    assert {PIP_NAMES[m] for m in imported if PIP_NAMES.get(m)} <= runtime
    assert not runtime & DEVELOPMENT


def test_development_requirements_extend_the_runtime_ones_and_are_what_make_installs():
    text = (REPO / "requirements-dev.txt").read_text()
    assert re.search(r"^-r requirements\.txt$", text, re.MULTILINE)
    development = requirement_names(REPO / "requirements-dev.txt")
    assert DEVELOPMENT <= development
    test_imports = {name.lower() for name in imported_modules(REPO / "test") - set(ROSDEP_KEYS) - set(PIP_NAMES)}
    assert test_imports <= development  # (a distribution name is its module name here, in any case)
    assert '-r "$ROOT/requirements-dev.txt"' in (REPO / "scripts" / "setup_env.sh").read_text()
    assert re.search(r"^SETUP_INPUTS :=.*requirements-dev\.txt", (REPO / "Makefile").read_text(), re.MULTILINE)


# ----------------------------------------------------------------------------- launch files


def _name(call: ast.Call) -> str:
    return getattr(call.func, "id", getattr(call.func, "attr", ""))


def _keyword(call: ast.Call, name: str):
    return next((k.value for k in call.keywords if k.arg == name), None)


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _name(n) == name]


def declared_defaults(path: Path) -> dict[str, object]:
    """Launch arguments and their defaults: DeclareLaunchArgument('x', default_value=...) or
    an ARGUMENTS = {'x': (default, description)} table."""
    tree = ast.parse(path.read_text())
    defaults = {
        c.args[0].value: getattr(_keyword(c, "default_value"), "value", None)
        for c in _calls(tree, "DeclareLaunchArgument")
        if c.args and isinstance(c.args[0], ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "ARGUMENTS":
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                defaults[key.value] = getattr(value.elts[0], "value", None)
    return defaults


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_rviz_is_opt_in(path):
    assert declared_defaults(path)["rviz"] == "false"


@pytest.mark.parametrize("path", LAUNCH_FILES, ids=lambda p: p.name)
def test_every_node_of_the_package_shuts_the_launch_down_when_it_exits(path):
    nodes = [
        c
        for c in _calls(ast.parse(path.read_text()), "Node")
        if getattr(_keyword(c, "package"), "value", None) == "posediff_ros"
    ]
    assert nodes
    for node in nodes:
        on_exit = _keyword(node, "on_exit")
        assert isinstance(on_exit, ast.Call) and _name(on_exit) == "Shutdown", ast.unparse(node)


def test_rviz_node_only_after_rviz2_was_found():
    """launch_ros fails the launch on a Node of a missing package, after starting the nodes
    before it; so RViz is made only where the package lookup succeeded."""
    for path in LAUNCH_FILES:
        functions = [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef)]
        for function in functions:
            if not any(getattr(_keyword(c, "package"), "value", "") == "rviz2" for c in _calls(function, "Node")):
                continue
            lookups = [t for t in ast.walk(function) if isinstance(t, ast.Try) and _calls(t, "get_package_prefix")]
            handlers = [h for t in lookups for h in t.handlers if getattr(h.type, "id", "") == "PackageNotFoundError"]
            assert any(_calls(h, "LogInfo") for h in handlers), f"{path.name}: {function.name} does not look for rviz2"


def test_package_lookup_of_the_launch_file_is_ament_index_python_s(tmp_path, monkeypatch):
    """The lookup the launch file makes behaves as launch_ros relies on: found in an install, else
    PackageNotFoundError (launch_ros' own FindPackage/ExecutableInPackage call the same function)."""
    packages = pytest.importorskip("ament_index_python.packages")
    marker = tmp_path / "share" / "ament_index" / "resource_index" / "packages" / "posediff_ros"
    marker.parent.mkdir(parents=True)
    marker.touch()
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path))
    assert packages.get_package_prefix("posediff_ros") == str(tmp_path)
    with pytest.raises(packages.PackageNotFoundError):
        packages.get_package_prefix("rviz2")


def test_rviz_without_rviz2_is_one_message_with_the_real_launch(tmp_path, monkeypatch):
    pytest.importorskip("launch_ros", reason="launch_ros is not installed (a ROS 2 install has it)")
    from launch import LaunchContext
    from launch.actions import LogInfo

    rviz = runpy.run_path(str(REPO / "launch" / "estimator.launch.py"))["rviz"]
    context = LaunchContext()
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path))  # an install without rviz2
    context.launch_configurations["rviz"] = "false"
    assert not rviz(context)
    context.launch_configurations["rviz"] = "true"
    actions = rviz(context)
    assert len(actions) == 1 and isinstance(actions[0], LogInfo)


# ----------------------------------------------------------------------------- devices


def _unusable_cuda() -> tuple[str, str]:
    """A CUDA device this machine lacks, and what the error must say."""
    import torch

    if not torch.cuda.is_available():
        return "cuda", "CUDA is not available"
    return f"cuda:{torch.cuda.device_count()}", "CUDA device\\(s\\) are visible"


@pytest.fixture(scope="module")
def untrained(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "untrained.pt"
    save_checkpoint(path, PoseNet())
    return path


def test_a_missing_cuda_device_is_named_as_such(untrained):
    from posediff_ros.estimator import PoseEstimator

    device, says = _unusable_cuda()
    for load in (load_model, PoseEstimator.from_checkpoint):
        with pytest.raises(CheckpointError, match=says) as error:
            load(untrained, device)
        assert "cannot be read" not in str(error.value) and "'auto'" in str(error.value)


@needs_rclpy
def test_node_with_a_missing_cuda_device_says_so(untrained):
    device, says = _unusable_cuda()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "posediff_ros.ros.node",
            "--ros-args",
            "-p",
            f"model_path:={untrained}",
            "-p",
            f"device:={device}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1 and re.search(r"ERROR.*cannot start: .*" + says, output), output


# ----------------------------------------------------------------------------- training config


def test_train_reads_the_installed_config_by_default(tmp_path, monkeypatch, capsys):
    from posediff_ros.train import config_file
    from posediff_ros.train_config import load_config

    prefix = tmp_path / "install"
    (prefix / "share" / "ament_index" / "resource_index" / "packages").mkdir(parents=True)
    (prefix / "share" / "ament_index" / "resource_index" / "packages" / "posediff_ros").touch()
    installed = prefix / "share" / "posediff_ros" / "config" / "train.yaml"
    installed.parent.mkdir(parents=True)
    installed.write_text("steps: 123\n")
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
    assert config_file(None) == installed
    assert f"train: config {installed}" in capsys.readouterr().out
    assert load_config(config_file(None)).steps == 123
    assert config_file("mine.yaml") == "mine.yaml"


def test_train_finds_the_checkout_config_without_an_install(monkeypatch):
    from posediff_ros.paths import default_train_config_path

    monkeypatch.delenv("AMENT_PREFIX_PATH", raising=False)
    found = default_train_config_path()
    assert found is not None and found.read_text() == (REPO / "config" / "train.yaml").read_text()


# ----------------------------------------------------------------------------- live_demo --attach


def _detections(stamp_ns: int):
    from geometry_msgs.msg import Pose
    from vision_msgs.msg import Detection3D, Detection3DArray, ObjectHypothesisWithPose

    pose = Pose()
    pose.position.x, pose.position.z, pose.orientation.w = 0.1, 0.7, 1.0
    detection = Detection3D(id="mug_0")
    detection.results = [ObjectHypothesisWithPose()]
    detection.results[0].hypothesis.class_id = "mug"
    detection.results[0].pose.pose = pose
    detection.bbox.center = pose
    message = Detection3DArray(detections=[detection])
    message.header.stamp.sec, message.header.stamp.nanosec = divmod(stamp_ns, 1_000_000_000)
    return message


@needs_rclpy
def test_live_demo_attach_watches_running_nodes_and_starts_none(rclpy_context):
    """Ground truth and matching poses from this process stand in for a launched demo."""
    import rclpy
    from vision_msgs.msg import Detection3DArray

    node = rclpy.create_node("fake_demo", context=rclpy_context)
    truth = node.create_publisher(Detection3DArray, "/synthetic_camera/ground_truth", 10)
    poses = node.create_publisher(Detection3DArray, "/object_poses", 10)
    stop = threading.Event()

    def publish():
        while not stop.wait(0.2):
            message = _detections(node.get_clock().now().nanoseconds)
            truth.publish(message)
            poses.publish(message)

    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    try:
        returncode, lines, err = run_live_demo(["--attach"], window=8)
    finally:
        stop.set()
        publisher.join()
        node.destroy_node()
    assert returncode == 0, "\n".join(lines) + err
    assert not any("pid" in line for line in lines)
    final = re.search(
        r"stopped by SIGINT\. (\d+) frames \| objects (\d+) \(missed 0\) .*5°2cm 100% 10°5cm 100%", lines[-1]
    )
    assert final and int(final.group(1)) > 3, lines
