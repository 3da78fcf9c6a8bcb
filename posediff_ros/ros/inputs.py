"""The estimator node's inputs: depth and the object source (mask or detections, sources.py)
paired by stamp, the latest camera info, and the depth's conversion to the engine's arrays.

A frame whose messages cannot be used raises the engine's FrameError, whose message goes to
the log; whether the images and the camera info agree in size is the engine's own check.
Inputs that keep arriving but never pair within the slop are reported (`unpaired`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image

from ..estimator import FrameError
from ..geometry import Intrinsics, valid_depth
from .images import ImageError, camera_info_to_intrinsics, depth_to_metres
from .parameters import SubscriptionParameters
from .stamps import stamp_ns
from .sync import synchronize

UNPAIRED_AFTER = 3.0
"""Seconds during which both inputs arrived but none paired, before `unpaired` says so."""


def camera_info_qos(name: str) -> QoSProfile:
    return {
        "best_effort": QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT),
        "reliable": QoSProfile(depth=1),
        "transient_local": QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL),
    }[name]


class FrameInputs:
    """Subscribes to `camera_info` and, synchronized, to `depth` and the source's topic
    (calling `on_frame(depth, source message)`)."""

    def __init__(self, node: Node, p: SubscriptionParameters, source_type: type, source_topic: str, on_frame: Callable):
        self.node = node
        self.camera_info: CameraInfo | None = None
        self.camera_info_topic = node.resolve_topic_name("camera_info")
        self.camera_info_subscription = node.create_subscription(
            CameraInfo, "camera_info", self.on_camera_info, camera_info_qos(p.camera_info_qos)
        )
        images = QoSProfile(
            depth=p.qos_depth,
            reliability=ReliabilityPolicy.BEST_EFFORT
            if p.qos_reliability == "best_effort"
            else ReliabilityPolicy.RELIABLE,
        )
        self.topics = ["depth", source_topic]
        self.slop = p.sync_slop
        self.sync = synchronize(
            node, [(Image, "depth"), (source_type, source_topic)], images, p.sync_queue_size, self.slop, self.paired
        )
        self.on_frame = on_frame
        self.arrived: dict[str, tuple[float, int]] = {}  # topic -> (monotonic time, header stamp in ns) of the last
        self.paired_at = time.monotonic()
        for subscriber, topic in zip(self.sync.subscribers, self.topics, strict=True):
            subscriber.registerCallback(self.on_arrival, topic)

    def on_camera_info(self, msg: CameraInfo) -> None:
        self.camera_info = msg

    def on_arrival(self, msg, topic: str) -> None:
        self.arrived[topic] = (time.monotonic(), stamp_ns(msg.header))

    def paired(self, depth: Image, source_msg) -> None:
        self.paired_at = time.monotonic()
        self.on_frame(depth, source_msg)

    def unpaired(self) -> str | None:
        """What to tell the user when both inputs keep arriving but have paired with none of the other
        within the slop for UNPAIRED_AFTER seconds; None otherwise."""
        now = time.monotonic()
        if now - self.paired_at < UNPAIRED_AFTER or len(self.arrived) < len(self.topics):
            return None
        if any(now - arrived > UNPAIRED_AFTER for arrived, _ in self.arrived.values()):
            return None
        (_, a), (_, b) = (self.arrived[t] for t in self.topics)
        names = [f"'{self.node.resolve_topic_name(t)}'" for t in self.topics]
        return (
            f"{names[0]} and {names[1]} arrive but have not paired for {now - self.paired_at:.0f} s: their latest "
            f"stamps differ by {abs(a - b) * 1e-9:.3f} s, more than sync_slop {self.slop} s (same clock? same camera?)"
        )

    def destroy(self) -> None:
        """Unsubscribe from every input."""
        self.node.destroy_subscription(self.camera_info_subscription)
        for subscriber in self.sync.subscribers:
            self.node.destroy_subscription(subscriber.sub)

    def arrays(self, depth_msg: Image) -> tuple[np.ndarray, Intrinsics]:
        """(depth in metres, intrinsics) of a frame; FrameError says why not."""
        if self.camera_info is None:
            raise FrameError(f"no camera info received yet on '{self.camera_info_topic}'")
        try:
            intrinsics = camera_info_to_intrinsics(self.camera_info)
        except ImageError as error:
            raise FrameError(str(error)) from None
        try:
            depth = depth_to_metres(depth_msg)
        except ImageError as error:
            raise FrameError(f"depth image: {error}") from None
        if not valid_depth(depth).any():
            raise FrameError("the depth image has no valid pixel (all 0, NaN or inf)")
        return depth, intrinsics
