"""Over DDS: the managed (lifecycle) estimator driven through its transitions by a client node.

The node process (`python -m posediff_ros.ros.managed`) starts unconfigured; the test calls
its lifecycle services (lifecycle_msgs ChangeState and GetState, as `ros2 lifecycle set`
does) and checks each state: nothing is subscribed or published before activation and
after deactivation, poses come while active, the model is loaded once by configure and
kept through deactivate, and cleanup frees it.
"""

import time

import pytest
from test_node_dds import TIMEOUT, Harness, NodeProcess, synthetic_frames, topics_under, wait_until

NODE = "/posediff_estimator"
QUIET = 3.0  # seconds in which an inactive node must publish nothing


class ManagedNodeProcess(NodeProcess):
    module = "posediff_ros.ros.managed"


@pytest.fixture(scope="module")
def node(untrained_params, start_module_node):
    return start_module_node(
        params=untrained_params(
            diagnostics_period="0.2",
        ),
        remap=topics_under("/managed"),
        ready=None,  # unconfigured: it loads the model on `configure`
        kind=ManagedNodeProcess,
    )


class LifecycleClient:
    """`ros2 lifecycle get/set` as service calls from the test's own node."""

    def __init__(self, harness: Harness):
        from lifecycle_msgs.srv import ChangeState, GetState

        self.harness = harness
        self.change = harness.node.create_client(ChangeState, f"{NODE}/change_state")
        self.get = harness.node.create_client(GetState, f"{NODE}/get_state")
        assert self.change.wait_for_service(timeout_sec=60) and self.get.wait_for_service(timeout_sec=60)

    def state(self) -> str:
        from lifecycle_msgs.srv import GetState

        return self._call(self.get, GetState.Request()).current_state.label

    def set(self, transition: str) -> bool:
        from lifecycle_msgs.msg import Transition
        from lifecycle_msgs.srv import ChangeState

        request = ChangeState.Request()
        request.transition.id = getattr(Transition, f"TRANSITION_{transition.upper()}")
        return self._call(self.change, request).success

    @staticmethod
    def _call(client, request, timeout: float = 60.0):
        future = client.call_async(request)  # the harness' executor thread completes it
        wait_until(future.done, f"{client.srv_name} answered", timeout)
        return future.result()


def quiet(harness: Harness, frame) -> None:
    """Send frames for QUIET seconds; assert that the node published nothing at all meanwhile."""
    before = {key: len(messages) for key, messages in harness.received.items()}
    deadline = time.monotonic() + QUIET
    while time.monotonic() < deadline:
        harness.publish(*frame)
        time.sleep(0.2)
    time.sleep(0.5)
    assert {key: len(messages) for key, messages in harness.received.items()} == before


def test_lifecycle_transitions_over_dds(node):
    depth, labels, _ = synthetic_frames(count=1)[0]
    harness = Harness("posediff_test_lifecycle", "/managed", poses_topic="/managed/object_poses")
    try:
        client = LifecycleClient(harness)
        assert client.state() == "unconfigured"
        assert harness.depth_pub.get_subscription_count() == 0

        assert client.set("configure") and client.state() == "inactive"
        node.wait_for_line(r"configured: model")
        assert harness.depth_pub.get_subscription_count() == 0
        quiet(harness, (depth, labels))

        assert client.set("activate") and client.state() == "active"
        harness.wait_connected()
        assert harness.poses_for(harness.publish(depth, labels)).detections

        assert client.set("deactivate") and client.state() == "inactive"
        wait_until(lambda: harness.depth_pub.get_subscription_count() == 0, "inputs unsubscribed")
        quiet(harness, (depth, labels))

        assert client.set("activate") and client.state() == "active"  # the model was kept
        harness.wait_connected()
        assert harness.poses_for(harness.publish(depth, labels), timeout=TIMEOUT).detections
        assert sum("configured: model" in line for line in node.lines) == 1

        assert client.set("deactivate") and client.set("cleanup") and client.state() == "unconfigured"
        node.wait_for_line(r"cleaned up: model freed")
        assert client.set("configure") and client.state() == "inactive"  # and it can be configured again
        assert node.process.poll() is None
    finally:
        harness.close()
