"""The ROS 2 environment: message types that match upstream, and DDS between processes.

The pub/sub tests run the publisher as a separate process: this file doubles
as its script (`python test_environment.py detections|image COUNT TOPIC`).
"""

import array
import importlib
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
FASTDDS_SHM_PROFILE = REPO / "config" / "fastdds_shm.xml"

# RIHS01 type hashes of the upstream definitions (ROS 2 Jazzy/Kilted). A field
# that differs gives another hash, and the topic then silently never connects
# to nodes built against the real packages.
UPSTREAM_TYPE_HASHES = {
    # vision_msgs 4.1.1
    ("vision_msgs.msg", "Detection3DArray"): "RIHS01_793f5eab9595ac1c0da07873cc859db42eae51f0ee76056db8562515d830e018",
    # vision_msgs 4.1.1 as built from the upstream fields (Detection2D, BoundingBox2D, vision_msgs'
    # own Pose2D and Point2D); the array's hash covers every message it references
    ("vision_msgs.msg", "Detection2DArray"): "RIHS01_214274120007f4a683866481336b70310268cfa107aebe9d594a6acf75bda968",
    # tf2_msgs (geometry2), as listed for ROS 2 Jazzy
    ("tf2_msgs.msg", "TFMessage"): "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087",
}

IMAGE_WIDTH, IMAGE_HEIGHT = 640, 480
MATCH_TIMEOUT_S = 10.0  # publisher: wait this long for the subscriber to match
RECEIVE_TIMEOUT_S = 25.0  # subscriber: give up after this long


# --- messages ------------------------------------------------------------------


def make_detections(i):
    """A Detection3DArray with one mug whose values depend on i."""
    from vision_msgs.msg import Detection3D, Detection3DArray, ObjectHypothesisWithPose

    hypothesis = ObjectHypothesisWithPose()
    hypothesis.hypothesis.class_id = "mug"
    hypothesis.hypothesis.score = 0.5
    hypothesis.pose.pose.position.z = 0.5 + i
    detection = Detection3D(id=f"mug_{i}", results=[hypothesis])
    detection.bbox.center = hypothesis.pose.pose
    detection.bbox.size.x, detection.bbox.size.y, detection.bbox.size.z = 0.1, 0.12, 0.09
    message = Detection3DArray(detections=[detection])
    message.header.frame_id = "camera_color_optical_frame"
    message.header.stamp.sec = i
    return message


def depth_pixels(i):
    """The 480x640 uint16 depth image (millimetres) sent as frame i."""
    ramp = np.arange(IMAGE_WIDTH * IMAGE_HEIGHT, dtype=np.uint32).reshape(IMAGE_HEIGHT, IMAGE_WIDTH)
    return ((ramp + 7 * i) % 65536).astype(np.uint16)


def make_image(i):
    """A 16UC1 depth image; data assigned from a NumPy buffer (fast), not from bytes."""
    from sensor_msgs.msg import Image

    pixels = depth_pixels(i).astype("<u2")
    message = Image(height=IMAGE_HEIGHT, width=IMAGE_WIDTH, encoding="16UC1", is_bigendian=0, step=IMAGE_WIDTH * 2)
    message.header.frame_id = "camera_depth_optical_frame"
    message.header.stamp.sec = i
    message.data = array.array("B", pixels.tobytes())
    return message


def qos_for(kind):
    from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

    if kind == "image":
        return qos_profile_sensor_data  # best effort, as camera drivers publish
    return QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)


def message_type(kind):
    from sensor_msgs.msg import Image
    from vision_msgs.msg import Detection3DArray

    return Image if kind == "image" else Detection3DArray


# --- the publisher process -------------------------------------------------------


def publish(kind, count, topic):
    """Wait for a subscriber, publish `count` messages at 15 Hz, then linger briefly."""
    import rclpy
    from rclpy.duration import Duration

    make = make_image if kind == "image" else make_detections
    rclpy.init()
    try:
        node = rclpy.create_node("posediff_test_publisher")
        publisher = node.create_publisher(message_type(kind), topic, qos_for(kind))
        deadline = time.monotonic() + MATCH_TIMEOUT_S
        while publisher.get_subscription_count() == 0:
            if time.monotonic() > deadline:
                sys.exit(f"publisher: no subscriber matched on {topic} in {MATCH_TIMEOUT_S} s")
            time.sleep(0.05)
        time.sleep(0.5)  # the match is seen here first; let the other side catch up
        for i in range(count):
            publisher.publish(make(i))
            time.sleep(1 / 15)
        if kind != "image":
            publisher.wait_for_all_acked(Duration(seconds=5))
        time.sleep(0.5)  # best effort has no acks: keep the samples alive a moment
        node.destroy_node()
    finally:
        rclpy.try_shutdown()


# --- helpers for the tests -------------------------------------------------------


def receive_from_publisher_process(context, kind, count, publisher_env=None):
    """Subscribe here, run the publisher as a child process, return what arrived."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    topic = f"posediff_test_{kind}_{os.getpid()}"
    node = rclpy.create_node("posediff_test_subscriber", context=context)
    received = []
    node.create_subscription(message_type(kind), topic, received.append, qos_for(kind))
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)

    env = dict(os.environ, PYTHONUNBUFFERED="1", **(publisher_env or {}))
    process = subprocess.Popen(
        [sys.executable, __file__, kind, str(count), topic],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + RECEIVE_TIMEOUT_S
        drain_until = None  # after the publisher exits, collect stragglers briefly
        while len(received) < count and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
            if drain_until is None and process.poll() is not None:
                drain_until = time.monotonic() + 1.0
            if drain_until is not None and time.monotonic() > drain_until:
                break
    finally:
        try:  # the publisher lingers briefly after its last message, then exits
            output, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        executor.shutdown()
        node.destroy_node()
    assert process.returncode == 0, f"publisher process failed:\n{output}"
    return received


# --- tests -----------------------------------------------------------------------


def test_engine_package_does_not_import_rclpy():
    """`import posediff_ros` must work without ROS: the engine is ROS-free."""
    if importlib.util.find_spec("posediff_ros") is None:
        pytest.skip("posediff_ros is not importable here")
    check = "import sys, posediff_ros; sys.exit('rclpy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"import posediff_ros imported rclpy:\n{result.stderr}"


@pytest.mark.parametrize(("module", "name"), sorted(UPSTREAM_TYPE_HASHES))
def test_type_hash_matches_upstream(rclpy_context, module, name):
    """The hash that DDS announces for our locally built types equals upstream's."""
    import rclpy

    msg_type = getattr(importlib.import_module(module), name)
    node = rclpy.create_node("posediff_type_hash_probe", context=rclpy_context)
    try:
        topic = f"posediff_type_hash_{name}"
        node.create_publisher(msg_type, topic, 1)
        announced = [str(info.topic_type_hash) for info in node.get_publishers_info_by_topic(topic)]
    finally:
        node.destroy_node()
    assert announced == [UPSTREAM_TYPE_HASHES[module, name]]


def test_detection3darray_between_processes(rclpy_context):
    count = 5
    received = receive_from_publisher_process(rclpy_context, "detections", count)
    assert len(received) == count
    for i, message in enumerate(sorted(received, key=lambda m: m.header.stamp.sec)):
        expected = make_detections(i)
        assert message.header.frame_id == expected.header.frame_id
        assert message.detections[0].id == f"mug_{i}"
        result = message.detections[0].results[0]
        assert result.hypothesis.class_id == "mug"
        assert result.pose.pose.position.z == pytest.approx(0.5 + i)
        assert message.detections[0].bbox.size.y == pytest.approx(0.12)


def test_depth_image_best_effort_between_processes_with_shm_profile(rclpy_context):
    """640x480 16UC1 images over best effort arrive when the publisher uses the SHM profile."""
    count = 30
    received = receive_from_publisher_process(
        rclpy_context, "image", count, publisher_env={"FASTDDS_DEFAULT_PROFILES_FILE": str(FASTDDS_SHM_PROFILE)}
    )
    # Best effort promises nothing, but with the profile all arrive (without
    # it about half, or none, do); allow a little slack on a busy machine.
    assert len(received) >= 0.9 * count, f"only {len(received)} of {count} images arrived"
    message = received[-1]
    assert (message.width, message.height, message.encoding) == (IMAGE_WIDTH, IMAGE_HEIGHT, "16UC1")
    assert message.step == IMAGE_WIDTH * 2 and not message.is_bigendian
    pixels = np.frombuffer(message.data, dtype="<u2").reshape(IMAGE_HEIGHT, IMAGE_WIDTH)
    np.testing.assert_array_equal(pixels, depth_pixels(message.header.stamp.sec))


if __name__ == "__main__":
    publish(sys.argv[1], int(sys.argv[2]), sys.argv[3])
