"""What the estimator node publishes for a frame: poses, TF, markers and the optional debug topics."""

from __future__ import annotations

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image, PointCloud2
from std_msgs.msg import Header
from vision_msgs.msg import Detection3DArray
from visualization_msgs.msg import MarkerArray

from ..geometry import Intrinsics, backproject_labels
from . import messages
from .clouds import xyz_cloud
from .images import array_to_image
from .overlay import depth_overlay
from .parameters import NodeParameters
from .tf import TransformBroadcaster


class FramePublisher:
    """`object_poses`, and where enabled `/tf`, `~/markers`, `~/points` and `~/overlay`."""

    def __init__(self, node: Node, p: NodeParameters):
        reliable = QoSProfile(depth=10)
        self.poses = node.create_publisher(Detection3DArray, "object_poses", reliable)
        self.markers = node.create_publisher(MarkerArray, "~/markers", reliable)
        self.publish_markers = p.outputs.publish_markers
        self.points = node.create_publisher(PointCloud2, "~/points", 1) if p.outputs.publish_points else None
        self.overlay = node.create_publisher(Image, "~/overlay", 1) if p.outputs.publish_overlay else None
        self.tf = TransformBroadcaster(node) if p.outputs.publish_tf else None
        self.frame_prefix = p.objects.frame_prefix
        self.marker_labels: set[int] = set()  # of the markers shown, so that they can be deleted when gone

    def publish(
        self,
        header: Header,
        objects: list[messages.PublishedObject],
        depth: np.ndarray,
        labels: np.ndarray,
        intrinsics: Intrinsics,
    ) -> None:
        self.poses.publish(messages.detection_array(header, objects))
        if self.tf and objects:
            self.tf.sendTransform(messages.transforms(header, objects, self.frame_prefix))
        if self.publish_markers:
            current = {o.pose.label for o in objects}
            self.markers.publish(messages.marker_array(header, objects, sorted(self.marker_labels - current)))
            self.marker_labels = current
        if self.points:
            by_label = backproject_labels(depth, labels, intrinsics)
            points = [by_label[o.pose.mask_label] for o in objects]
            self.points.publish(xyz_cloud(header, np.concatenate(points) if points else np.zeros((0, 3))))
        if self.overlay:
            self.overlay.publish(array_to_image(depth_overlay(depth, objects, intrinsics), "rgb8", header))
