"""Shared test set-up.

ROS tests talk over real DDS. So that concurrent test runs on one machine
(and anything else on the default domain) never see each other's topics,
each pytest run picks its own ROS_DOMAIN_ID, and DDS discovery stays on the
loopback interface. Both are set in os.environ here, before any test creates
a ROS context, so in-process nodes and spawned node processes (which inherit
os.environ) share them.
"""

import importlib.util
import os
import random

import pytest

# Fast DDS maps domains 0..232 to ports; stay clear of 0, the usual default.
os.environ["ROS_DOMAIN_ID"] = str(random.SystemRandom().randint(100, 215))
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"


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
