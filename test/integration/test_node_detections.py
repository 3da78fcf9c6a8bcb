"""Over DDS: a 2D detector's vision_msgs/Detection2DArray as the object source, and class-per-pixel images.

The node runs with `mask_source: detections` and the shipped COCO class map; the test
publishes depth, camera info and Detection2DArray (boxes around the rendered objects, COCO
class names, detector ids) with real rclpy. The poses must come back with the objects'
categories and the detections' ids, tracked by those ids; each kind of bad input must be
reported and the node go on. A second node takes `label_encoding: semantic` images.
"""

import math
import time
from pathlib import Path

import numpy as np
import pytest
from test_node_dds import TIMEOUT, Harness, K, connected, synthetic_frames, topics_under, wait_until

from posediff_ros.categories import NOCS_CATEGORIES
from posediff_ros.ros.images import array_to_image, intrinsics_to_camera_info
from posediff_ros.segment.simulated import mask_boxes

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"
COCO_NAMES = {"bottle": "bottle", "bowl": "bowl", "mug": "cup", "laptop": "laptop"}  # NOCS -> COCO (the map's keys)


@pytest.fixture(scope="module")
def node(untrained_params, start_module_node):
    return start_module_node(
        params=untrained_params(
            max_jump="100.0",
            mask_source="detections",
            class_map=str(REPO_CONFIG / "coco_classes.yaml"),
        ),
        remap={**topics_under("/det"), "detections": "/det/detections"},
        ready=r"ready: model.*detections '/det/detections'",
    )


class DetectorHarness(Harness):
    """The camera and a detector: depth, camera info and Detection2DArray on `<topics>/detections`."""

    def __init__(self, name: str, topics: str):
        super().__init__(name, topics, poses_topic=f"{topics}/object_poses")
        from rclpy.qos import qos_profile_sensor_data
        from vision_msgs.msg import Detection2DArray

        topic = f"{topics}/detections"
        self.detections_pub = self.node.create_publisher(Detection2DArray, topic, qos_profile_sensor_data)

    def wait_connected(self):
        wait_until(
            lambda: all(p.get_subscription_count() > 0 for p in (self.depth_pub, self.detections_pub, self.info_pub)),
            "node subscribed",
        )

    def publish_detections(self, depth, detections, header=None, detections_header=None):
        header = header or self.next_stamp()
        messages = [
            (self.info_pub, intrinsics_to_camera_info(K, header)),
            (self.depth_pub, array_to_image(np.rint(depth * 1000).astype(np.uint16), "16UC1", header)),
            (self.detections_pub, detection_array(detections_header or header, detections)),
        ]
        self.last_frame = (header, messages)
        for publisher, msg in messages:
            publisher.publish(msg)
        return header


def detection_array(header, detections: list[tuple[str, str, tuple[float, float, float, float]] | tuple]):
    """A Detection2DArray of (detection id, class_id or None for no results, (u, v, width, height))."""
    from vision_msgs.msg import Detection2D, Detection2DArray, ObjectHypothesisWithPose

    message = Detection2DArray(header=header)
    for detection_id, class_id, (u, v, width, height) in detections:
        d = Detection2D(header=header, id=detection_id)
        if class_id is not None:
            result = ObjectHypothesisWithPose()
            result.hypothesis.class_id, result.hypothesis.score = class_id, 0.9
            d.results = [result]
        d.bbox.center.position.x, d.bbox.center.position.y = float(u), float(v)
        d.bbox.size_x, d.bbox.size_y = float(width), float(height)
        message.detections.append(d)
    return message


def detector_output(labels, instances):
    """What a COCO detector that tracks would publish for the visible instances: ids det_<label>."""
    boxes = mask_boxes(labels.astype(np.int32))
    out = []
    for i in instances:
        name = NOCS_CATEGORIES.by_id(i.category).name
        b = boxes[i.label]
        out.append((f"det_{i.label}", COCO_NAMES.get(name, name), (b.u, b.v, b.width, b.height)))
    return out


@pytest.fixture(scope="module")
def ros(node):
    yield from connected(DetectorHarness("posediff_test_detector", "/det"))


@pytest.fixture(scope="module")
def frames():
    return synthetic_frames(count=2)


def test_poses_from_boxes_carry_the_category_and_the_detection_id(ros, frames):
    depth, labels, visible = frames[0]
    header = ros.publish_detections(depth, detector_output(labels, visible))
    poses = ros.poses_for(header)
    expected = {(f"det_{i.label}", NOCS_CATEGORIES.by_id(i.category).name) for i in visible}
    assert {(d.id, d.results[0].hypothesis.class_id) for d in poses.detections} == expected
    assert len(visible) >= 2  # the premise: several objects, at least one a COCO class with another name
    assert any(NOCS_CATEGORIES.by_id(i.category).name in COCO_NAMES for i in visible)


def test_detector_ids_are_the_tracks(ros, frames):
    """The next frame, with the same ids in another order: every object is tracked."""
    depth, labels, visible = frames[1]
    header = ros.publish_detections(depth, detector_output(labels, visible)[::-1])
    poses = ros.poses_for(header)
    assert {d.id for d in poses.detections} == {f"det_{i.label}" for i in visible}
    texts = [m.text for m in ros.markers_for(header) if m.ns == "labels"]
    assert texts and all(t.endswith("(tracked)") for t in texts), texts


BAD_DETECTIONS = {
    "outside the image": (lambda good: [*good, ("bad", "cup", (-500, -500, 20, 20))], r"lies outside the 320x240"),
    "empty box": (lambda good: [*good, ("bad", "cup", (100, 100, 0, 20))], r"is empty \(0 x 20 pixels\)"),
    "NaN box": (lambda good: [*good, ("bad", "cup", (math.nan, 100, 20, 20))], r"NaN or infinite"),
    "unknown class": (lambda good: [*good, ("bad", "person", (100, 100, 20, 20))], r"class 'person' is neither"),
    "duplicated id": (lambda good: [*good, (good[0][0], *good[0][1:])], r"occur more than once"),
    "no results": (lambda good: [*good, ("bad", None, (100, 100, 20, 20))], r"has no results"),
}


@pytest.mark.parametrize("case", list(BAD_DETECTIONS))
def test_bad_detections_are_reported_and_the_rest_used(node, ros, frames, case):
    make, pattern = BAD_DETECTIONS[case]
    depth, labels, visible = frames[0]
    start = len(node.lines)
    header = ros.publish_detections(depth, make(detector_output(labels, visible)))
    ros.resend_until(header, lambda seconds: node.wait_for_line(r"WARN.*" + pattern, start, timeout=seconds))
    assert ros.poses_for(header).detections  # the good boxes of the same frame
    assert node.process.poll() is None


def test_detections_of_another_frame_are_rejected(node, ros, frames):
    depth, labels, visible = frames[0]
    start = len(node.lines)
    header = ros.next_stamp()
    other = type(header)(stamp=header.stamp, frame_id="some_colour_optical_frame")
    ros.publish_detections(depth, detector_output(labels, visible), header, other)
    pattern = r"WARN.*detections are in frame 'some_colour_optical_frame' but the depth image in"
    ros.resend_until(header, lambda seconds: node.wait_for_line(pattern, start, seconds))
    assert ros.poses_for(ros.publish_detections(depth, detector_output(labels, visible))).detections


def test_detections_that_never_pair_are_reported(node, ros, frames):
    """Detections stamped 100 s after their depth images (another clock): nothing pairs within
    sync_slop, and the node says so."""
    depth, labels, visible = frames[0]
    start = len(node.lines)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and not any("have not paired" in x for x in node.lines[start:]):
        header = ros.next_stamp()
        late = type(header)(frame_id=header.frame_id)
        late.stamp.sec, late.stamp.nanosec = header.stamp.sec + 100, header.stamp.nanosec
        ros.publish_detections(depth, detector_output(labels, visible), header, late)
        time.sleep(0.2)
    line = node.wait_for_line(r"WARN.*'/det/depth' and '/det/detections' arrive but have not paired", start, 1.0)
    assert "stamps differ by 100.000 s" in line
    assert node.process.poll() is None  # (its detections queue now holds the future stamps, as message_filters')


# --------------------------------------------------------------------------- class-per-pixel images


@pytest.fixture(scope="module")
def semantic_node(untrained_params, start_module_node):
    return start_module_node(
        params=untrained_params(
            label_encoding="semantic",
        ),
        remap=topics_under("/sem"),
    )


def test_semantic_images_give_one_pose_per_object(semantic_node, frames):
    depth, labels, visible = frames[0]
    classes = (labels // 1000).astype(np.uint16)
    classes[:4, :4] = 42  # an id the table lacks
    ros = Harness("posediff_test_segmenter", "/sem", poses_topic="/sem/object_poses")
    try:
        ros.wait_connected()
        start = len(semantic_node.lines)
        poses = ros.poses_for(ros.publish(depth, classes))
        names = sorted(NOCS_CATEGORIES.by_id(i.category).name for i in visible)
        assert sorted(d.results[0].hypothesis.class_id for d in poses.detections) == names
        semantic_node.wait_for_line(r"WARN.*semantic image has class ids 42, which the category table lacks", start)
    finally:
        ros.close()
