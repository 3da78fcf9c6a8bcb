"""The package's imports: its entry points load no renderer (Embree via embreex, and trimesh,
load only when a scene is rendered or a mesh file is read), and no module imports itself
through others at module level (docs/architecture.md: one home per concept, no cycles)."""

import ast
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


def module_imports(package: Path) -> dict[str, set[str]]:
    """Each module of `package` -> the package's modules it imports at module level (imports
    under `if TYPE_CHECKING:` and inside functions do not run at import time)."""
    names = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in names.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = set()
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom):
                base = ".".join(here.split(".")[: len(here.split(".")) - node.level + 1]) if node.level else ""
                target = ".".join(filter(None, (base, node.module)))
                graph[name] |= {t for t in [target, *(f"{target}.{a.name}" for a in node.names)] if t in names}
            elif isinstance(node, ast.Import):
                graph[name] |= {a.name for a in node.names if a.name in names}
        graph[name].discard(name)
    return graph


def test_the_package_has_no_import_cycle():
    graph = module_imports(ROOT / "posediff_ros")
    done, path = set(), []

    def visit(module: str) -> None:
        path.append(module)
        for imported in sorted(graph[module]):
            assert imported not in path, "import cycle: " + " -> ".join(path[path.index(imported) :] + [imported])
            if imported not in done:
                visit(imported)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module)
    assert "posediff_ros.estimator" in graph["posediff_ros.ros.parameters"]  # the graph is really read
