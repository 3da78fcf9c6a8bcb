"""TF broadcasting: tf2_ros.TransformBroadcaster, or the same publisher without tf2_ros.

The stand-in publishes tf2_msgs/TFMessage on /tf with tf2_ros' default QoS (reliable,
volatile, keep last 100), so tf2 listeners on a ROS 2 install receive it unchanged.
tf2_ros comes from the rosdep key `tf2_ros_py` (package.xml), not `tf2_ros` (C++).
"""

from __future__ import annotations


class _TransformBroadcaster:
    """tf2_ros.TransformBroadcaster's publishing half."""

    def __init__(self, node, qos=None):
        from rclpy.qos import QoSProfile
        from tf2_msgs.msg import TFMessage

        self._message = TFMessage
        self._publisher = node.create_publisher(TFMessage, "/tf", QoSProfile(depth=100) if qos is None else qos)

    def sendTransform(self, transform) -> None:  # noqa: N802 (tf2_ros' name)
        """One TransformStamped or any iterable of them (a generator too), as tf2_ros takes."""
        transforms = list(transform) if hasattr(transform, "__iter__") else [transform]
        self._publisher.publish(self._message(transforms=transforms))


try:  # a ROS 2 install
    from tf2_ros import TransformBroadcaster
except ImportError:  # the PyPI wheels
    TransformBroadcaster = _TransformBroadcaster

__all__ = ["TransformBroadcaster"]
