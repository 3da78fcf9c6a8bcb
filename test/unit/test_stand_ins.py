"""The stand-ins for packages PyPI lacks behave as upstream documents and implements them.

ros/sync.py stands in for message_filters' ApproximateTimeSynchronizer (ros2/message_filters,
src/message_filters/__init__.py): per input a queue keyed by stamp, trimmed from the oldest
to queue_size after each insert; on each arrival, for every other input its stamps within
`slop` (inclusive), closest first, ties in queue order; the first combination, in that
order, whose spread is strictly below `slop` and whose stamps are all still queued is
signalled and leaves the queues. Each test runs against the stand-in and, on a ROS 2
install, against message_filters itself, so a drift fails here.

ros/clouds.py stands in for sensor_msgs_py.point_cloud2.create_cloud_xyz32 and ros/tf.py for
tf2_ros.TransformBroadcaster (topic /tf, QoS depth 100 reliable volatile).
"""

import importlib.util
import sys

import numpy as np
import pytest

if importlib.util.find_spec("rclpy") is None:
    pytest.skip("rclpy is not installed (run `make venv` or source a ROS 2 install)", allow_module_level=True)

from sensor_msgs.msg import Image, PointField  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from posediff_ros.ros import sync as stand_in  # noqa: E402
from posediff_ros.ros.clouds import _cloud_xyz32, xyz_cloud  # noqa: E402

IMPLEMENTATIONS = {
    "stand-in": (stand_in._SimpleFilter, stand_in._ApproximateTimeSynchronizer),
}
if importlib.util.find_spec("message_filters") is not None:
    import message_filters

    IMPLEMENTATIONS["message_filters"] = (message_filters.SimpleFilter, message_filters.ApproximateTimeSynchronizer)


@pytest.fixture(params=list(IMPLEMENTATIONS))
def synchronizer(request):
    """make(inputs, queue_size, slop) -> (sources, received tags); sources[i].send(ms, tag)."""
    simple_filter, approximate = IMPLEMENTATIONS[request.param]

    class Source(simple_filter):
        def send(self, stamp_ms: int, tag: str) -> None:
            msg = Image(header=Header(frame_id=tag))
            msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ms * 1_000_000, 1_000_000_000)
            self.signalMessage(msg)

    def make(inputs: int = 2, queue_size: int = 5, slop: float = 0.02):
        sources = [Source() for _ in range(inputs)]
        sync = approximate(sources, queue_size, slop)
        received: list[tuple[str, ...]] = []
        sync.registerCallback(lambda *msgs: received.append(tuple(m.header.frame_id for m in msgs)))
        return sources, received

    return make


def test_stamps_exactly_slop_apart_do_not_pair(synchronizer):
    (depth, mask), received = synchronizer(slop=0.02)
    depth.send(1000, "d1000")
    mask.send(1020, "m1020")  # within slop as a candidate (<=), but the set's spread must be < slop
    assert received == []
    mask.send(1019, "m1019")
    assert received == [("d1000", "m1019")]


def test_the_closest_stamp_pairs_and_matched_messages_leave_the_queues(synchronizer):
    (depth, mask), received = synchronizer()
    depth.send(1000, "d1000")
    depth.send(1012, "d1012")
    mask.send(1010, "m1010")
    assert received == [("d1012", "m1010")]
    mask.send(1011, "m1011")  # d1012 is gone: d1000 is the only depth left within slop
    assert received[-1] == ("d1000", "m1011")
    mask.send(1012, "m1012")  # nothing left to pair with
    assert len(received) == 2


def test_a_tie_goes_to_the_stamp_queued_first(synchronizer):
    (depth, mask), received = synchronizer()
    depth.send(1015, "d1015")
    depth.send(1005, "d1005")
    mask.send(1010, "m1010")  # 5 ms from both
    assert received == [("d1015", "m1010")]


def test_three_inputs_pair_only_when_all_three_are_within_slop(synchronizer):
    (depth, mask, info), received = synchronizer(inputs=3, slop=0.02)
    depth.send(1000, "d")
    mask.send(1015, "m")
    assert received == []  # the third input has nothing yet
    info.send(1025, "i-late")  # within slop of the mask, 25 ms from the depth: no set
    assert received == []
    info.send(1010, "i")
    assert received == [("d", "m", "i")]


def test_three_inputs_take_the_first_combination_whose_spread_is_below_slop(synchronizer):
    (depth, mask, info), received = synchronizer(inputs=3, slop=0.02)
    mask.send(990, "m990")  # the closest to the depth, but 21 ms from the info
    mask.send(1012, "m1012")
    info.send(1011, "i1011")
    depth.send(1000, "d1000")
    assert received == [("d1000", "m1012", "i1011")]


def test_a_message_older_than_its_full_queue_is_dropped_on_arrival(synchronizer):
    (depth, mask), received = synchronizer(queue_size=2)
    mask.send(1000, "m1000")
    depth.send(2000, "d2000")
    depth.send(2100, "d2100")
    depth.send(1000, "d1000")  # the queue holds two newer stamps: this one leaves at once
    assert received == []
    depth.send(2200, "d2200")  # d2000 is trimmed now
    mask.send(2001, "m2001")
    assert received == []
    mask.send(2099, "m2099")
    assert received == [("d2100", "m2099")]


def test_a_repeated_stamp_replaces_the_queued_message(synchronizer):
    (depth, mask), received = synchronizer()
    depth.send(1000, "first")
    depth.send(1000, "second")
    mask.send(1000, "m")
    assert received == [("second", "m")]


@pytest.mark.parametrize("simple_filter", [v[0] for v in IMPLEMENTATIONS.values()], ids=list(IMPLEMENTATIONS))
def test_register_callback_appends_its_arguments_and_counts_connections(simple_filter):
    source, calls = simple_filter(), []
    assert source.registerCallback(lambda *a: calls.append(("first", *a)), "x", 2) == 0
    assert source.registerCallback(lambda *a: calls.append(("second", *a))) == 1
    source.signalMessage("m1", "m2")
    assert calls == [("first", "m1", "m2", "x", 2), ("second", "m1", "m2")]


# ----------------------------------------------------------------------------- point clouds


def clouds(points: np.ndarray) -> dict:
    made = {"stand-in": _cloud_xyz32(Header(frame_id="cam"), points), "used": xyz_cloud(Header(frame_id="cam"), points)}
    if importlib.util.find_spec("sensor_msgs_py") is not None:
        from sensor_msgs_py.point_cloud2 import create_cloud_xyz32

        made["sensor_msgs_py"] = create_cloud_xyz32(Header(frame_id="cam"), points)
    return made


def test_point_cloud_fields_layout_and_density_as_sensor_msgs_py():
    """create_cloud_xyz32: x, y, z FLOAT32 (7), count 1, at 0, 4, 8; 12-byte points in one row of
    `width` points; the host's byte order; is_dense False whatever the points."""
    points = np.array([[0.1, -0.2, 0.5], [1.0, 2.0, 3.0], [np.nan, 0.0, 1.0]], np.float32)
    for name, cloud in clouds(points).items():
        assert [(f.name, f.offset, f.datatype, f.count) for f in cloud.fields] == [
            ("x", 0, PointField.FLOAT32, 1),
            ("y", 4, PointField.FLOAT32, 1),
            ("z", 8, PointField.FLOAT32, 1),
        ], name
        assert (cloud.height, cloud.width, cloud.point_step, cloud.row_step) == (1, 3, 12, 36), name
        assert cloud.is_dense is False and cloud.is_bigendian is (sys.byteorder == "big"), name
        assert cloud.header.frame_id == "cam"
        np.testing.assert_array_equal(np.frombuffer(bytes(cloud.data), "=f4").reshape(3, 3), points)


def test_an_empty_point_cloud_is_well_formed():
    for name, cloud in clouds(np.zeros((0, 3), np.float32)).items():
        assert (cloud.height, cloud.width, cloud.row_step, len(cloud.data)) == (1, 0, 0, 0), name
        assert len(cloud.fields) == 3 and cloud.is_dense is False, name


# ----------------------------------------------------------------------------- tf


def _transform(child: str):
    from geometry_msgs.msg import TransformStamped

    transform = TransformStamped()
    transform.child_frame_id = child
    return transform


@pytest.mark.parametrize("kind", ["single", "list", "tuple", "generator"])
def test_the_broadcaster_takes_what_tf2_ros_takes_and_publishes_as_it(rclpy_context, kind):
    """tf2_ros.TransformBroadcaster: sendTransform sends a list as is, another iterable listed,
    one transform wrapped; on /tf, reliable, volatile, keep last 100."""
    import rclpy
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, ReliabilityPolicy

    from posediff_ros.ros.tf import _TransformBroadcaster

    node = rclpy.create_node("posediff_tf_stand_in", context=rclpy_context)
    try:
        broadcaster = _TransformBroadcaster(node)
        publisher, sent = broadcaster._publisher, []
        publisher.publish = sent.append
        transforms = [_transform("a"), _transform("b")]
        argument = {
            "single": transforms[0],
            "list": transforms,
            "tuple": tuple(transforms),
            "generator": (t for t in transforms),
        }[kind]
        broadcaster.sendTransform(argument)
        assert [t.child_frame_id for t in sent[0].transforms] == (["a"] if kind == "single" else ["a", "b"])
        qos = publisher.qos_profile
        assert publisher.topic_name == "/tf"
        assert (qos.reliability, qos.durability, qos.history, qos.depth) == (
            ReliabilityPolicy.RELIABLE,
            DurabilityPolicy.VOLATILE,
            HistoryPolicy.KEEP_LAST,
            100,
        )
    finally:
        node.destroy_node()
