"""A signal while the estimator is inside a frame: a clean exit 0, no error logged.

rclpy's own SIGINT handler shuts the context down from another thread at once, so a worker
still inside the network then published into a dead context ("publisher's context is
invalid"). The node lets Ctrl-C reach its main thread instead and stops the worker before
the context goes, so the frame is still published. SIGTERM (rclpy's handler, as `ros2
launch` escalates) shuts down at once: the frame is dropped, quietly. A frame here takes
seconds (256 samples, 80 steps), so the signal certainly arrives during inference.
"""

import importlib.util
import re
import signal

import pytest

if importlib.util.find_spec("rclpy") is None:
    pytest.skip("rclpy is not installed (run `make venv` or source a ROS 2 install)", allow_module_level=True)

from test_node_dds import Harness, synthetic_frames, topics_under, wait_until  # noqa: E402

NAME = "posediff_shutdown"


def stats(harness: Harness) -> dict[str, int]:
    """The newest frame counters this node put on /diagnostics ({} before the first)."""
    status = harness.node_status()
    return {} if status is None else {kv.key: int(kv.value) for kv in status.values if kv.key.startswith("frames_")}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_inference_exits_cleanly(untrained_params, start_node, signum):
    node = start_node(
        params=untrained_params(
            num_samples="256",
            steps="80",
            diagnostics_period="0.1",
        ),
        remap={**topics_under("/stop"), "__node": NAME},
    )
    harness = None
    try:
        harness = Harness("posediff_test_shutdown", "/stop", poses_topic="/stop/object_poses", node_name=NAME)
        harness.wait_connected()
        depth, labels, _ = synthetic_frames(count=1)[0]
        header = harness.publish(depth, labels)

        def in_flight(seconds: float) -> None:
            def busy(s: dict[str, int]) -> bool:  # a frame received and neither rejected, dropped nor done
                return s.get("frames_received", 0) > sum(
                    s.get(f"frames_{k}", 0) for k in ("rejected", "dropped", "processed")
                )

            wait_until(lambda: busy(stats(harness)), "a frame in the worker", seconds)

        harness.resend_until(header, in_flight)
        node.process.send_signal(signum)
        assert node.process.wait(timeout=60) == 0, "\n".join(node.lines)
        if signum == signal.SIGINT:  # the worker finished the frame before the context went
            wait_until(
                lambda: any(m.header.stamp == header.stamp for m in list(harness.received["poses"])),
                "the interrupted frame's poses; node output:\n" + "\n".join(node.lines),
                timeout=5,
            )
    finally:
        if harness:
            harness.close()
    problems = [line for line in node.lines if re.search(r"ERROR|frame failed|Traceback|context is invalid", line)]
    assert not problems, "\n".join(node.lines)
