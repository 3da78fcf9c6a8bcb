"""Shared test set-up: a ROS domain of this process's own, markers, rclpy and signal fixtures.

ROS tests talk over real DDS. So that concurrent pytest processes on one machine (the
workers of `pytest -n`, another checkout's run, anything on the default domain) never
see each other's topics, each process reserves a ROS_DOMAIN_ID of its own and DDS
discovery stays on the loopback interface. Both are set in os.environ here, before any
test creates a ROS context, so in-process nodes and spawned node processes (which
inherit os.environ) share them.
"""

import importlib.util
import os
import signal
import tempfile
from pathlib import Path

import pytest
from filelock import FileLock, Timeout

# DDS maps a domain id to UDP ports (7400 + 250 * id + ...): ids up to 101 keep a
# domain's ports below 32768, where Linux's ephemeral ports begin. 0, the usual
# default, is left to whatever else runs on the machine.
DOMAIN_IDS = range(1, 102)
DOMAIN_LOCKS = Path(tempfile.gettempdir()) / "posediff_ros_test_domains"


def reserve_domain_id() -> tuple[int, FileLock]:
    """The first free id in DOMAIN_IDS and its lock, held until this process exits.

    One lock file per id: a lock is an flock on an open file, so the operating system
    releases it when the process ends, however it ends, and a crashed run leaks no id.
    """
    DOMAIN_LOCKS.mkdir(exist_ok=True)
    for domain_id in DOMAIN_IDS:
        lock = FileLock(DOMAIN_LOCKS / f"{domain_id}.lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            continue
        return domain_id, lock
    raise RuntimeError(f"every ROS domain id in {DOMAIN_IDS} is taken by another test process")


_DOMAIN_ID, _DOMAIN_LOCK = reserve_domain_id()
os.environ["ROS_DOMAIN_ID"] = str(_DOMAIN_ID)
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"

INTEGRATION = Path(__file__).resolve().parent / "integration"


# A test that uses one of these talks over DDS.
ROS_FIXTURES = {"rclpy_context", "start_node", "start_module_node"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under test/integration is `slow` (`-m "not slow"` equals test/unit); a test
    that uses a ROS fixture is `ros` (tests that start ROS processes otherwise say so)."""
    for item in items:
        if INTEGRATION in item.path.parents:
            item.add_marker(pytest.mark.slow)
        if ROS_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.ros)


@pytest.fixture
def rclpy_context():
    """An initialised rclpy context of its own, shut down after the test.

    Skips the test when rclpy is not installed at all; when rclpy is installed
    but fails to import (e.g. its shared libraries are not found) the test
    fails, so a broken environment is not mistaken for a missing one.
    """
    if importlib.util.find_spec("rclpy") is None:
        pytest.skip("rclpy is not installed (run `make venv` or source a ROS 2 install)")
    import rclpy
    from rclpy.context import Context

    context = Context()
    rclpy.init(context=context)
    try:
        yield context
    finally:
        rclpy.try_shutdown(context=context)


@pytest.fixture(autouse=True)
def restore_signal_handlers():
    """Code run in this process may install its own SIGINT/SIGTERM handlers (`train.main`
    does): pytest's (and xdist's) are put back after every test."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)
