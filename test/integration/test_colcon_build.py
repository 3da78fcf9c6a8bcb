"""`colcon build` of posediff_ros installs what `ros2 run` and `ros2 launch` need.

The build runs on a copy of the package's files in a temporary directory, so
the repository gets no build/, install/ or log/ folders, and colcon sees
neither .venv nor the interfaces/ packages.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_node_launch import console_scripts

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "posediff_ros"

# What setup.py reads; everything else in the repository is left out.
PACKAGE_FILES = ["setup.py", "setup.cfg", "package.xml", "resource", PACKAGE, "launch", "config", "models"]

# Prefer the colcon next to this Python (.venv/bin), else one on PATH.
COLCON = shutil.which("colcon", path=str(Path(sys.executable).parent)) or shutil.which("colcon")

pytestmark = pytest.mark.skipif(COLCON is None, reason="colcon is not installed (`make venv` installs it into .venv)")


def copy_package(destination):
    """Copy the files the build uses; add a model file if the repository has none yet."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in PACKAGE_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, destination / name)
    models = destination / "models"
    if not any(path.is_file() for path in models.rglob("*")):
        (models / "example").mkdir(parents=True, exist_ok=True)
        (models / "example" / "README.md").write_text("placeholder for the install test\n")


def test_colcon_build_installs_executables_and_share_files(tmp_path):
    source = tmp_path / "src" / PACKAGE
    source.mkdir(parents=True)
    copy_package(source)

    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(
        [
            COLCON,
            "--log-base",
            str(tmp_path / "log"),
            "build",
            "--base-paths",
            str(tmp_path / "src"),
            "--build-base",
            str(tmp_path / "build"),
            "--install-base",
            str(tmp_path / "install"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, f"colcon build failed:\n{result.stdout}\n{result.stderr}"

    prefix = tmp_path / "install" / PACKAGE
    share = prefix / "share" / PACKAGE

    for script in console_scripts():  # every one, where `ros2 run posediff_ros <name>` looks
        name = script.split("=")[0].strip()
        executable = prefix / "lib" / PACKAGE / name
        assert executable.is_file() and os.access(executable, os.X_OK), f"ros2 run posediff_ros {name}: not installed"
    assert (share / "package.xml").is_file()
    assert (prefix / "share" / "ament_index" / "resource_index" / "packages" / PACKAGE).is_file()
    if (source / PACKAGE / "__init__.py").is_file():
        installed = prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
        assert (installed / PACKAGE / "__init__.py").is_file(), "the Python package is not installed"

    # Every launch, config and model file is installed under share/posediff_ros/<same path>.
    files = [
        path
        for folder in ("launch", "config", "models")
        if (source / folder).is_dir()
        for path in (source / folder).rglob("*")
        if path.is_file()
    ]
    assert any(path.parts[-2] == "config" for path in files) and any("models" in path.parts for path in files)
    for path in files:
        relative = path.relative_to(source)
        assert (share / relative).is_file(), f"{relative} is not installed"
