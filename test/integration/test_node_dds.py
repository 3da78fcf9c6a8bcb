"""The estimator node as a user runs it: a separate process, real messages over DDS.

One node process (untrained checkpoint) serves the whole module. Each test sends the
frames it needs (the `first_frame` fixture: frame 0 under instance labels the node has not
seen, so its objects are new whatever ran before), so the tests pass alone and in any
order; a test that needs a node with no history starts its own. Images are 320x240 so that they fit Fast DDS' default
shared-memory segment. An untrained network gives random poses, so `max_jump` is set large to let
tracking engage; accuracy is checked only with the shipped model (skipped without it).
"""

import dataclasses
import importlib.util
import itertools
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("rclpy") is None:
    pytest.skip("rclpy is not installed (run `make venv` or source a ROS 2 install)", allow_module_level=True)

import rclpy  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from rclpy.context import Context  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.qos import QoSProfile, qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image, PointCloud2  # noqa: E402
from std_msgs.msg import Header  # noqa: E402
from tf2_msgs.msg import TFMessage  # noqa: E402
from vision_msgs.msg import Detection3DArray  # noqa: E402
from visualization_msgs.msg import Marker, MarkerArray  # noqa: E402

from posediff_ros.categories import NOCS_CATEGORIES  # noqa: E402
from posediff_ros.checkpoint import save_checkpoint  # noqa: E402
from posediff_ros.confidence import PAYLOAD_KEY, Calibration  # noqa: E402
from posediff_ros.data.render import SceneRenderer, render_frame  # noqa: E402
from posediff_ros.data.scene import SceneConfig, camera_trajectory, sample_scene  # noqa: E402
from posediff_ros.geometry import REAL275_INTRINSICS, Intrinsics, backproject  # noqa: E402
from posediff_ros.labels import LabelEncoding  # noqa: E402
from posediff_ros.model import PoseNet  # noqa: E402
from posediff_ros.paths import default_model_path  # noqa: E402
from posediff_ros.ros.images import array_to_image, intrinsics_to_camera_info  # noqa: E402
from posediff_ros.ros.live_demo import interrupt  # noqa: E402
from posediff_ros.ros.messages import track_name  # noqa: E402

FRAME_ID = "test_camera_optical_frame"
PREFIX = "test/"
K = Intrinsics(
    *(v / 2 for v in (REAL275_INTRINSICS.fx, REAL275_INTRINSICS.fy, REAL275_INTRINSICS.cx, REAL275_INTRINSICS.cy)),
    320,
    240,
)
TIMEOUT = 20.0  # seconds for anything that should happen within one or two frames
SCORE = 0.7  # every pose's, by the test checkpoint's calibration (untrained poses are random)
RESEND_AFTER = 5.0  # seconds without poses before a frame is sent again (see Harness.poses_for)


def topics_under(namespace: str) -> dict[str, str]:
    """Remappings of the node's inputs and poses into `namespace`, where a
    `Harness(name, namespace, poses_topic=namespace + "/object_poses")` meets them."""
    return {name: f"{namespace}/{name}" for name in ("depth", "mask", "camera_info", "object_poses")}


class NodeProcess:
    """`python -m <module>` (the estimator node) with its output collected line by line."""

    module = "posediff_ros.ros.node"

    def __init__(self, *ros_args: str, params: dict[str, str] | None = None, remap: dict[str, str] | None = None):
        """`ros_args` as given, then `-p name:=value` per parameter and `-r from:=to` per remapping."""
        ros_args = (
            *ros_args,
            *(arg for name, value in (params or {}).items() for arg in ("-p", f"{name}:={value}")),
            *(arg for name, value in (remap or {}).items() for arg in ("-r", f"{name}:={value}")),
        )
        env = dict(os.environ, RCUTILS_LOGGING_BUFFERED_STREAM="0", PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, "--ros-args", *ros_args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    def wait_for_line(self, pattern: str, start: int = 0, timeout: float = TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[start:]:
                if re.search(pattern, line):
                    return line
            if self.process.poll() is not None and not any(re.search(pattern, x) for x in self.lines[start:]):
                time.sleep(0.2)  # let the reader thread drain
                if not any(re.search(pattern, x) for x in self.lines[start:]):
                    break
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r}; output:\n" + "\n".join(self.lines[-30:]))

    def stop(self):
        """SIGINT (Ctrl-C: the node shuts down cleanly), then SIGKILL if it has not ended in 10 s."""
        interrupt(self.process)


def synthetic_frames(seed: int = 3, count: int = 3):
    """Consecutive frames of one scene with three objects: (depth m, labels, expected ids, instances)."""
    rng = np.random.default_rng(seed)
    config = SceneConfig(min_objects=3, max_objects=3, distance=(0.4, 0.6))
    scene = sample_scene(rng, config, "test")
    renderer = SceneRenderer(scene)
    frames = []
    for camera in camera_trajectory(rng, scene, count, config):
        f = render_frame(renderer, camera, K, rng)
        visible = [i for i in f.instances if len(backproject(f.depth, f.labels == i.label, K)) >= 50]
        frames.append((f.depth, f.labels.astype(np.uint16), visible))
    return frames


class Harness:
    """Publishers to the node, subscriptions to everything it publishes, in this process.

    `node_name`: the node whose status `diagnostic` reads (/diagnostics carries every node's).
    """

    def __init__(
        self, name: str, topics: str, poses_topic: str = "/object_poses", node_name: str = "posediff_estimator"
    ):
        self.node_name = node_name
        self.context = Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.depth_pub = self.node.create_publisher(Image, f"{topics}/depth", qos_profile_sensor_data)
        self.mask_pub = self.node.create_publisher(Image, f"{topics}/mask", qos_profile_sensor_data)
        self.info_pub = self.node.create_publisher(CameraInfo, f"{topics}/camera_info", qos_profile_sensor_data)
        self.received: dict[str, list] = {k: [] for k in ("poses", "tf", "markers", "diagnostics", "points", "overlay")}
        reliable = QoSProfile(depth=100)
        for key, msg_type, topic in (
            ("poses", Detection3DArray, poses_topic),
            ("tf", TFMessage, "/tf"),
            ("markers", MarkerArray, "/posediff_estimator/markers"),
            ("diagnostics", DiagnosticArray, "/diagnostics"),
            ("points", PointCloud2, "/posediff_estimator/points"),
            ("overlay", Image, "/posediff_estimator/overlay"),
        ):
            self.node.create_subscription(msg_type, topic, self.received[key].append, reliable)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()
        self.clock_ns = self.node.get_clock().now().nanoseconds
        self.last_frame: tuple[Header | None, list[tuple]] = (None, [])  # header, [(publisher, message)]

    def close(self):
        self.executor.shutdown(timeout_sec=2)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)

    def wait_connected(self):
        wait_until(
            lambda: all(p.get_subscription_count() > 0 for p in (self.depth_pub, self.mask_pub, self.info_pub)),
            "node subscribed",
        )

    def next_stamp(self) -> Header:
        """Headers 50 ms apart, starting at now (the node measures latency against its clock)."""
        self.clock_ns = max(self.clock_ns + 50_000_000, self.node.get_clock().now().nanoseconds)
        header = Header(frame_id=FRAME_ID)
        header.stamp.sec, header.stamp.nanosec = divmod(self.clock_ns, 1_000_000_000)
        return header

    def publish(
        self, depth, mask, header=None, info=True, depth_encoding="16UC1", mask_encoding="16UC1", intrinsics=K
    ) -> Header:
        header = header or self.next_stamp()
        if depth_encoding == "16UC1" and depth.dtype != np.uint16:
            depth = np.rint(depth * 1000).astype(np.uint16)
        messages = [
            (self.depth_pub, array_to_image(depth, depth_encoding, header)),
            (self.mask_pub, array_to_image(mask, mask_encoding, header)),
        ]
        if info:
            messages.insert(0, (self.info_pub, intrinsics_to_camera_info(intrinsics, header)))
        self.last_frame = (header, messages)
        for publisher, msg in messages:
            publisher.publish(msg)
        return header

    def resend_until(self, header: Header, wait: Callable[[float], object], timeout: float = TIMEOUT) -> None:
        """Call `wait(seconds)` (it raises AssertionError when its time is up) until it succeeds,
        sending the frame of `header`, the last one published, again every RESEND_AFTER seconds.

        Sensor-data QoS is best effort: a frame sent before the node's reader has matched this
        writer (discovery is not symmetric), or whose images are processed before their camera
        info arrived, is lost without a trace. A camera's next frame would recover; here the
        same frame (same stamp) is sent again.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                wait(min(RESEND_AFTER, deadline - time.monotonic()))
                return
            except AssertionError as error:
                if time.monotonic() >= deadline:
                    raise AssertionError(
                        f"{error} (gave up after {timeout} s, resending every {RESEND_AFTER} s)"
                    ) from None
                last, messages = self.last_frame
                if last is not None and last.stamp == header.stamp:
                    for publisher, msg in messages:
                        publisher.publish(msg)

    def poses_for(self, header, timeout: float = TIMEOUT) -> Detection3DArray:
        """The node's poses for a frame (resent while none arrive, see resend_until)."""

        def found():
            return next((m for m in list(self.received["poses"]) if m.header.stamp == header.stamp), None)

        self.resend_until(
            header,
            lambda seconds: wait_until(lambda: found() is not None, f"poses for stamp {header.stamp}", seconds),
            timeout,
        )
        return found()

    def markers_for(self, header) -> list[Marker]:
        wait_until(
            lambda: any(
                a.markers and a.markers[0].header.stamp == header.stamp for a in list(self.received["markers"])
            ),
            "markers",
        )
        return [m for a in list(self.received["markers"]) for m in a.markers if m.header.stamp == header.stamp]

    def node_status(self):
        """The newest DiagnosticStatus of `node_name` (None before the first)."""
        for message in reversed(list(self.received["diagnostics"])):
            for status in message.status:
                if status.name.startswith(f"{self.node_name}:"):
                    return status
        return None

    def diagnostic(self, key: str) -> str:
        wait_until(lambda: self.node_status() is not None, f"diagnostics of {self.node_name}")
        return {kv.key: kv.value for kv in self.node_status().values}[key]


def wait_until(condition, what: str, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "untrained.pt"
    save_checkpoint(path, PoseNet(), **{PAYLOAD_KEY: Calibration((0.0, 1.0), (SCORE, SCORE), samples=2).as_payload()})
    return path


def connected(harness: Harness) -> Iterator[Harness]:
    """A fixture's body: `harness` once the node's subscriptions see it, closed afterwards."""
    try:
        harness.wait_connected()
        yield harness
    finally:
        harness.close()


@pytest.fixture(scope="module")
def node(checkpoint, start_module_node):
    return start_module_node(
        params={
            "model_path": str(checkpoint),
            "device": "cpu",
            "num_threads": "1",
            "max_jump": "100.0",
            "min_score": str(SCORE - 0.1),
            "frame_prefix": str(PREFIX),
            "diagnostics_period": "0.2",
            "publish_points": "true",
            "publish_overlay": "true",
        },
        remap={"depth": "/test/depth", "mask": "/test/mask", "camera_info": "/test/camera_info"},
    )


@pytest.fixture(scope="module")
def ros(node):
    yield from connected(Harness("posediff_test_camera", "/test"))


@pytest.fixture(scope="module")
def frames():
    return synthetic_frames()


def instance_id(instance) -> str:
    return track_name(NOCS_CATEGORIES.by_id(instance.category).name, instance.label, LabelEncoding.PANOPTIC)


def expected_ids(instances) -> set[str]:
    return {instance_id(i) for i in instances}


_unseen_instances = itertools.count(900)  # instance numbers no synthetic scene uses (they count from 1)


def with_new_labels(frame):
    """`frame` with each object under a panoptic label the node has not seen: new objects to it."""
    depth, labels, instances = frame
    relabelled, renamed = labels.copy(), []
    for instance in instances:
        label = instance.label // 1000 * 1000 + next(_unseen_instances)
        relabelled[labels == instance.label] = label
        renamed.append(dataclasses.replace(instance, label=label))
    return depth, relabelled, renamed


@pytest.fixture(scope="module")
def first_frame(ros, frames) -> tuple[Header, Detection3DArray, list]:
    """frames[0] sent under new labels (`with_new_labels`) and its poses received:
    (header, poses, instances). Its objects are new to the node whatever ran before."""
    depth, labels, instances = with_new_labels(frames[0])
    header = ros.publish(depth, labels)
    return header, ros.poses_for(header), instances


# ----------------------------------------------------------------------------- frames


def test_no_camera_info_yet_is_reported(checkpoint, frames, start_node):
    """A node of its own, so no other test's camera info can have reached it first."""
    topics = {name: f"/noinfo/{name}" for name in ("depth", "mask", "camera_info", "object_poses")}
    node = start_node(params={"model_path": str(checkpoint), "device": "cpu", "num_threads": "1"}, remap=topics)
    harness = None
    try:
        harness = Harness("posediff_test_noinfo", "/noinfo", poses_topic=topics["object_poses"])
        harness.wait_connected()
        pattern = r"WARN.*frame skipped: no camera info received yet on '/noinfo/camera_info'"
        header = harness.publish(frames[0][0], frames[0][1], info=False)
        harness.resend_until(header, lambda seconds: node.wait_for_line(pattern, timeout=seconds))
        assert node.process.poll() is None
    finally:
        if harness is not None:
            harness.close()


def test_poses_arrive_for_a_frame(first_frame):
    header, poses, instances = first_frame
    assert poses.header.frame_id == FRAME_ID
    assert {d.id for d in poses.detections} == expected_ids(instances)
    for d in poses.detections:
        assert d.results[0].hypothesis.class_id == d.id.rsplit("_", 1)[0]
        assert d.bbox.center == d.results[0].pose.pose and d.header.stamp == header.stamp
        assert min(d.bbox.size.x, d.bbox.size.y, d.bbox.size.z) > 0
        assert np.reshape(d.results[0].pose.covariance, (6, 6))[0, 0] == pytest.approx(0.02**2)  # K = 1: fixed
        assert d.results[0].hypothesis.score == pytest.approx(SCORE)


def test_tf_frames_per_object(ros, first_frame):
    header, _, instances = first_frame
    wait_until(
        lambda: any(t.header.stamp == header.stamp for m in list(ros.received["tf"]) for t in m.transforms), "tf"
    )
    transforms = [t for m in list(ros.received["tf"]) for t in m.transforms if t.header.stamp == header.stamp]
    assert {t.child_frame_id for t in transforms} == {PREFIX + i for i in expected_ids(instances)}
    assert {t.header.frame_id for t in transforms} == {FRAME_ID}


def test_markers_and_debug_topics(ros, first_frame):
    header, _, instances = first_frame
    # (the node's earlier objects, absent from this frame, may be deleted in the same array)
    markers = [m for m in ros.markers_for(header) if m.action == Marker.ADD]
    labels = {i.label for i in instances}
    assert {(m.ns, m.id) for m in markers} == {(ns, label) for ns in ("boxes", "axes", "labels") for label in labels}
    assert all(m.header.frame_id == FRAME_ID for m in markers)
    assert all(m.text.endswith(f"(new) {SCORE:.2f}") for m in markers if m.ns == "labels")
    wait_until(lambda: ros.received["points"] and ros.received["overlay"], "points and overlay")
    points, overlay = ros.received["points"][-1], ros.received["overlay"][-1]
    assert points.header.frame_id == FRAME_ID and points.width > 100
    assert (overlay.width, overlay.height, overlay.encoding) == (320, 240, "rgb8")


def test_track_counts_in_diagnostics(ros, first_frame):
    """Every pose scores SCORE, above min_score and lose_score (0): none dropped, lost or restarted."""
    wait_until(lambda: ros.diagnostic("frames_processed") != "0", "a processed frame in diagnostics")
    assert ros.diagnostic("objects_below_min_score_total") == "0"
    assert ros.diagnostic("tracks_lost_total") == "0" and ros.diagnostic("tracks_restarted_total") == "0"


def rotations(poses: Detection3DArray) -> dict[str, np.ndarray]:
    from scipy.spatial.transform import Rotation

    return {
        d.id: Rotation.from_quat([getattr(d.results[0].pose.pose.orientation, a) for a in "xyzw"]).as_matrix()
        for d in poses.detections
    }


def test_second_frame_is_sampled_in_tracking_mode(ros, frames):
    first = ros.publish(*frames[0][:2])
    previous = ros.poses_for(first)  # the frame the next one is tracked from
    depth, labels, instances = frames[1]
    header = ros.publish(depth, labels)
    poses = ros.poses_for(header)
    texts = [m.text for m in ros.markers_for(header) if m.ns == "labels"]
    assert texts and all(t.endswith(f"(tracked) {SCORE:.2f}") for t in texts)
    wait_until(lambda: int(ros.diagnostic("objects_tracked")) == len(instances), "diagnostics: objects tracked")
    # Symmetric objects (bottle, can here) do not spin about their axis: the new x axis is
    # the previous one projected onto the plane normal to the new symmetry axis.
    before, after = rotations(previous), rotations(poses)
    symmetric = [instance_id(i) for i in instances if NOCS_CATEGORIES.by_id(i.category).continuous_about_y]
    assert symmetric
    for name in symmetric:
        x, y = before[name][:, 0], after[name][:, 1]
        expected = x - (x @ y) * y
        np.testing.assert_allclose(after[name][:, 0], expected / np.linalg.norm(expected), atol=1e-4)


def test_markers_deleted_when_an_object_goes(ros, frames):
    depth, labels, instances = frames[2]
    gone = instances[0].label
    ros.poses_for(ros.publish(depth, labels))  # every object shown, its markers published
    header = ros.publish(depth, np.where(labels == gone, 0, labels).astype(np.uint16))
    assert {d.id for d in ros.poses_for(header).detections} == expected_ids(instances[1:])
    deleted = {(m.ns, m.id) for m in ros.markers_for(header) if m.action == Marker.DELETE}
    assert deleted == {(ns, gone) for ns in ("boxes", "axes", "labels")}


def _patch(labels: np.ndarray, label: int, size: int) -> np.ndarray:
    """A mask with a single square of `label` where the depth is valid (image centre)."""
    mask = np.zeros_like(labels)
    mask[120 - size // 2 : 120 + (size + 1) // 2, 160 - size // 2 : 160 + (size + 1) // 2] = label
    return mask


BAD_INPUTS = {
    "depth encoding": (
        lambda d, m: dict(depth=np.zeros((240, 320, 3), np.uint8), mask=m, depth_encoding="rgb8"),
        r"depth image: encoding 'rgb8' is not supported",
    ),
    "mask encoding": (
        lambda d, m: dict(depth=d, mask=m.astype(np.float32), mask_encoding="32FC1"),
        r"mask image: encoding '32FC1' is not supported",
    ),
    "size mismatch": (lambda d, m: dict(depth=d, mask=m[:120, :160]), r"depth 320x240 and mask 160x120 differ"),
    "camera info size": (
        lambda d, m: dict(depth=d, mask=m, intrinsics=REAL275_INTRINSICS),
        r"images are 320x240 but the camera info is 640x480",
    ),
    "all-invalid depth": (lambda d, m: dict(depth=np.zeros_like(d), mask=m), r"no valid pixel"),
    "millimetre 32FC1": (
        lambda d, m: dict(depth=(d * 1000).astype(np.float32), mask=m, depth_encoding="32FC1"),
        r"looks like millimetres",
    ),
    "too few points": (
        lambda d, m: dict(depth=d, mask=_patch(m, 2000, 4)),
        r"label 2000 skipped: \d+ valid depth points, fewer than the minimum",
    ),
    "unknown category": (lambda d, m: dict(depth=d, mask=_patch(m, 9001, 20)), r"unknown category id 9"),
    "label below 1000": (lambda d, m: dict(depth=d, mask=_patch(m, 999, 20)), r"below 1000"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_logged_and_the_next_frame_processed(node, ros, frames, case):
    make, pattern = BAD_INPUTS[case]
    depth, labels, _ = frames[0]
    start = len(node.lines)
    ros.publish(**make(depth.astype(np.float32), labels))
    node.wait_for_line(r"WARN.*" + pattern, start)
    assert node.process.poll() is None
    header = ros.publish(depth, labels)
    assert ros.poses_for(header).detections


def test_timestamps_going_backwards_reset_tracks(node, ros, frames, first_frame):
    # first_frame: the node has processed a frame, so a later stamp 100 s earlier goes backwards.
    depth, labels, _ = frames[0]
    start = len(node.lines)
    header = ros.next_stamp()
    header.stamp.sec -= 100  # a bag that loops
    ros.publish(depth, labels, header=header)
    node.wait_for_line(r"WARN.*timestamps went backwards by \d+\.\d+ s .*tracks reset", start)
    texts = [m.text for m in ros.markers_for(header) if m.ns == "labels"]
    assert texts and all(t.endswith(f"(new) {SCORE:.2f}") for t in texts)
    ros.clock_ns = max(ros.clock_ns, ros.node.get_clock().now().nanoseconds)


def test_drops_frames_instead_of_falling_behind(ros, frames):
    dropped_before = int(ros.diagnostic("frames_dropped"))
    headers = []
    for i in range(10):  # 100 Hz, far faster than an untrained CPU engine (~0.2 s per frame)
        depth, labels, _ = frames[i % 3]
        headers.append(ros.publish(depth, labels))
        time.sleep(0.01)
    ros.poses_for(headers[-1])  # the newest frame is processed, not a backlog
    stamps = {h.stamp.sec * 10**9 + h.stamp.nanosec for h in headers}
    answered = [m for m in list(ros.received["poses"]) if m.header.stamp.sec * 10**9 + m.header.stamp.nanosec in stamps]
    assert len(answered) < len(headers)
    wait_until(lambda: int(ros.diagnostic("frames_dropped")) > dropped_before, "dropped frames in diagnostics")


# ----------------------------------------------------------------------------- start-up errors


@pytest.mark.parametrize("problem", ["missing", "corrupt"])
def test_bad_model_file_exits_with_a_clear_error(tmp_path, problem, start_node):
    path = tmp_path / "model.pt"
    if problem == "corrupt":
        path.write_bytes(b"not a checkpoint" * 100)
    process = start_node("-p", f"model_path:={path}", ready=None)
    assert process.process.wait(timeout=60) != 0
    line = process.wait_for_line(r"ERROR.*cannot start: .*model\.pt", timeout=5)
    assert ("does not exist" if problem == "missing" else "cannot be read") in line


# ----------------------------------------------------------------------------- accuracy


@pytest.mark.skipif(
    default_model_path() is None,
    reason="no shipped model (models/posediff_default.pt): accuracy needs a trained network",
)
def test_accuracy_with_the_shipped_model(start_node):
    from scipy.spatial.transform import Rotation

    start_node(params={"device": "cpu"}, remap={**topics_under("/acc"), "__node": "posediff_accuracy"})
    harness = None
    try:
        harness = Harness("posediff_test_accuracy", "/acc", poses_topic="/acc/object_poses")
        harness.wait_connected()
        rotation, translation = [], []
        for seed in range(4):
            for depth, labels, instances in synthetic_frames(seed=10 + seed, count=2):
                poses = harness.poses_for(harness.publish(depth, labels))
                by_id = {d.id: d.results[0].pose.pose for d in poses.detections}
                for i in instances:
                    pose = by_id.get(instance_id(i))
                    if pose is None:
                        continue
                    q = pose.orientation
                    R = Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()
                    cos = R[:, 1] @ i.R[:, 1] if i.symmetric else (np.trace(R @ i.R.T) - 1) / 2
                    rotation.append(np.degrees(np.arccos(np.clip(cos, -1, 1))))
                    translation.append(100 * np.linalg.norm([pose.position.x, pose.position.y, pose.position.z] - i.t))
        assert len(rotation) >= 10
        assert np.median(rotation) < 20.0 and np.median(translation) < 5.0, (rotation, translation)
    finally:
        if harness:
            harness.close()
