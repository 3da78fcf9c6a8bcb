"""The estimator node's inputs: depth and mask paired by stamp, the latest camera info, and
their conversion to the engine's arrays.

A frame whose messages cannot be used raises FrameRejected, whose message goes to the log.
Whether the images and the camera info agree in size is the engine's check (FrameError).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image

from ..geometry import Intrinsics, valid_depth
from .images import ImageError, camera_info_to_intrinsics, depth_to_metres, mask_to_labels
from .sync import synchronize


class FrameRejected(Exception):
    """A frame that cannot be processed; the message says why."""


def camera_info_qos(name: str) -> QoSProfile:
    return {
        "best_effort": QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT),
        "reliable": QoSProfile(depth=1),
        "transient_local": QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL),
    }[name]


class FrameInputs:
    """Subscribes to `camera_info` and, synchronized, to `depth` and `mask` (calling `on_frame(depth, mask)`)."""

    def __init__(self, node: Node, p: dict[str, Any], on_frame: Callable[[Image, Image], None]):
        self.camera_info: CameraInfo | None = None
        self.camera_info_topic = node.resolve_topic_name("camera_info")
        node.create_subscription(CameraInfo, "camera_info", self.on_camera_info, camera_info_qos(p["camera_info_qos"]))
        images = QoSProfile(
            depth=p["qos_depth"],
            reliability=ReliabilityPolicy.BEST_EFFORT
            if p["qos_reliability"] == "best_effort"
            else ReliabilityPolicy.RELIABLE,
        )
        self.sync = synchronize(node, Image, ["depth", "mask"], images, p["sync_queue_size"], p["sync_slop"], on_frame)

    def on_camera_info(self, msg: CameraInfo) -> None:
        self.camera_info = msg

    def arrays(self, depth_msg: Image, mask_msg: Image) -> tuple[np.ndarray, np.ndarray, Intrinsics]:
        """(depth in metres, labels, intrinsics) of a frame; FrameRejected says why not."""
        if self.camera_info is None:
            raise FrameRejected(f"no camera info received yet on '{self.camera_info_topic}'")
        try:
            intrinsics = camera_info_to_intrinsics(self.camera_info)
        except ImageError as error:
            raise FrameRejected(str(error)) from None
        try:
            depth = depth_to_metres(depth_msg)
        except ImageError as error:
            raise FrameRejected(f"depth image: {error}") from None
        try:
            labels = mask_to_labels(mask_msg)
        except ImageError as error:
            raise FrameRejected(f"mask image: {error}") from None
        if not valid_depth(depth).any():
            raise FrameRejected("the depth image has no valid pixel (all 0, NaN or inf)")
        return depth, labels, intrinsics
