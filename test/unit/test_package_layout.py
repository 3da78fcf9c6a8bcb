"""The layout says what needs ROS: a module that imports rclpy, or any other ROS package,
lives in posediff_ros/ros/, and no module outside it imports one from there."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "posediff_ros"
ROS_PACKAGES = {
    "rclpy",
    "rcl_interfaces",
    "message_filters",
    "tf2_ros",
    "sensor_msgs_py",
    "launch",
    "launch_ros",
    "ament_index_python",
}


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the modules a file imports, relative imports resolved."""
    package = ["posediff_ros", *path.relative_to(PACKAGE).parent.parts]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    return names


def needs_ros(module: str) -> bool:
    top = module.split(".")[0]
    return top in ROS_PACKAGES or top.endswith("_msgs") or module.startswith("posediff_ros.ros")


def test_only_modules_under_ros_import_ros():
    outside = [p for p in sorted(PACKAGE.rglob("*.py")) if p.relative_to(PACKAGE).parts[0] != "ros"]
    assert len(outside) > 10
    offenders = {str(p.relative_to(PACKAGE)): sorted(filter(needs_ros, imported_modules(p))) for p in outside}
    assert not {path: modules for path, modules in offenders.items() if modules}, "move them to posediff_ros/ros/"


def test_the_check_resolves_relative_imports_and_sees_nested_ones():
    assert {"posediff_ros.geometry", "posediff_ros.data.layout"} <= imported_modules(PACKAGE / "data" / "generate.py")
    assert "rclpy" in imported_modules(PACKAGE / "ros" / "live_demo.py")  # imported inside a function there
    assert needs_ros("rclpy.node") and needs_ros("vision_msgs.msg") and needs_ros("posediff_ros.ros.node")
    assert not needs_ros("posediff_ros.estimator") and not needs_ros("numpy")
