"""Node processes for the DDS tests: one start / wait-until-ready / stop shape for all.

`start_node` (per test) and `start_module_node` (per module) are factories:
`start_node(params={...}, remap={...})` starts `python -m posediff_ros.ros.node`, waits
for its `ready` line and returns the NodeProcess (test_node_dds.py); every node a factory
started is stopped when its scope ends (SIGINT, then SIGKILL, see NodeProcess.stop).
"""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

STARTUP_TIMEOUT = 90.0  # seconds: loading torch and the model on a busy core


class NodeStarter:
    """Starts node processes and remembers them, to stop them all at the end of a scope."""

    def __init__(self):
        self.started = []

    def __call__(self, *ros_args: str, params=None, remap=None, ready: str | None = r"ready: model", kind=None):
        """A started node (`kind`: a NodeProcess subclass), after a line matching `ready` (None: no wait)."""
        from test_node_dds import NodeProcess

        node = (kind or NodeProcess)(*ros_args, params=params, remap=remap)
        self.started.append(node)
        if ready is not None:
            node.wait_for_line(ready, timeout=STARTUP_TIMEOUT)
        return node

    def stop_all(self) -> None:
        for node in reversed(self.started):
            node.stop()


def _nodes_of_a_scope() -> Iterator[NodeStarter]:
    starter = NodeStarter()
    try:
        yield starter
    finally:
        starter.stop_all()


@pytest.fixture
def start_node() -> Iterator[NodeStarter]:
    yield from _nodes_of_a_scope()


@pytest.fixture(scope="module")
def start_module_node() -> Iterator[NodeStarter]:
    yield from _nodes_of_a_scope()


@pytest.fixture(scope="module")
def untrained_checkpoint(tmp_path_factory) -> Path:
    """A checkpoint of an untrained PoseNet (random poses; the plumbing is what is tested)."""
    from posediff_ros.checkpoint import save_checkpoint
    from posediff_ros.model import PoseNet

    path = tmp_path_factory.mktemp("model") / "untrained.pt"
    save_checkpoint(path, PoseNet())
    return path


@pytest.fixture(scope="module")
def untrained_params(untrained_checkpoint) -> Callable[..., dict[str, str]]:
    """`untrained_params(**extra)`: node parameters for `untrained_checkpoint` on one CPU thread,
    with `extra` (name=value) added."""

    def params(**extra: str) -> dict[str, str]:
        return {"model_path": str(untrained_checkpoint), "device": "cpu", "num_threads": "1", **extra}

    return params
