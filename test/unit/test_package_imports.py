"""Importing the package's entry points loads no renderer: Embree (embreex) and trimesh load
only when a scene is rendered or a mesh file is read."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("embreex", "trimesh")


def fresh_python(code: str) -> str:
    """The stdout of `code` run by a new interpreter (nothing imported yet) on this checkout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


@pytest.mark.parametrize("module", ["posediff_ros.data", "posediff_ros.train", "posediff_ros.evaluate"])
def test_importing_loads_no_renderer(module):
    code = f"import sys, {module}; print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)}))"
    loaded = fresh_python(code)
    assert loaded == "[]", f"import {module} loads {loaded}"


def test_rendering_loads_embree():
    code = (
        "import sys, numpy as np\n"
        "from posediff_ros.data.render import SceneRenderer\n"
        "from posediff_ros.data.scene import SceneConfig, sample_scene\n"
        "SceneRenderer(sample_scene(np.random.default_rng(0), SceneConfig()))\n"
        "print('embreex' in sys.modules)"
    )
    assert fresh_python(code) == "True"
