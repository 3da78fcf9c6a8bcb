"""The `synthetic_camera` node: the synthetic scene generator as a live depth camera.

Publishes `depth` (16UC1 mm or 32FC1 m), `mask` (16UC1 panoptic labels), `camera_info`
and `~/ground_truth` (vision_msgs/Detection3DArray, same header as the depth image) at
`rate` Hz. Each scene is seen along a smooth camera trajectory of `frames_per_scene`
frames, then the next scene starts. Ground-truth detections use the estimator's naming:
id `<category>_<k>`, `results[0]` = category and pose, `bbox` = pose and size; an
instance whose rotation about its +y axis is unobservable (bottle, bowl, can, a mug
whose handle is hidden) carries a second result with class_id `symmetric`.

The scenes are NOCS scenes: the generator draws the six NOCS categories and labels them
with their NOCS ids, so the mask and the ground truth use the NOCS table
(docs/conventions.md §1), whatever table the estimator's checkpoint has.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np
from rclpy.node import Node
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Header
from vision_msgs.msg import Detection3D, Detection3DArray, ObjectHypothesisWithPose

from ..categories import NOCS_CATEGORIES
from ..data.noise import DepthNoise, MaskNoise
from ..data.render import SceneRenderer, render_frame
from ..data.scene import SceneConfig, camera_trajectory, sample_scene
from ..data.shapes import SPLITS
from ..geometry import REAL275_INTRINSICS, Intrinsics
from ..labels import LabelEncoding
from ..paths import share_dirs
from ..settings import described, setting
from .images import array_to_image, intrinsics_to_camera_info
from .messages import pose_msg, track_name
from .parameters import declare, read_settings
from .spin import run_node

SYMMETRIC_TAG = "symmetric"


@dataclass(frozen=True)
class CameraParameters:
    """The synthetic camera's parameters (also `live_demo`'s options of the same names)."""

    rate: float = setting(5.0, "Frames per second (rendering takes ~0.15 s at 640x480)", range=(0.01, 1000.0))
    seed: int = setting(0, "Random seed of the scenes and noise", range=(0, 2**31 - 1))
    width: int = setting(640, "Image width; intrinsics are REAL275's scaled to it", range=(16, 4096))
    height: int = setting(480, "Image height", range=(16, 4096))
    frames_per_scene: int = setting(100, "Frames along one scene's camera trajectory", range=(1, 1000000))
    min_objects: int = setting(1, "Fewest objects in a scene", range=(1, 50))
    max_objects: int = setting(6, "Most objects in a scene", range=(1, 50))
    split: str = setting(
        "test", "Shape split: train, val, test (held-out shapes) or family (held-out shape families)", choices=SPLITS
    )
    depth_encoding: str = setting("16UC1", "16UC1 (millimetres) or 32FC1 (metres)", choices=("16UC1", "32FC1"))
    frame_id: str = setting("camera_depth_optical_frame", "Optical frame of the images")
    depth_noise: bool = setting(True, "Apply the depth sensor noise model")
    mask_noise: bool = setting(True, "Apply the segmentation noise model")


PARAMETERS = described(CameraParameters)


class SyntheticCamera(Node):
    def __init__(self):
        super().__init__("synthetic_camera")
        declare(self, PARAMETERS)
        self.p = p = read_settings(self, CameraParameters)
        s = p.width / REAL275_INTRINSICS.width
        k = REAL275_INTRINSICS
        self.intrinsics = Intrinsics(k.fx * s, k.fy * s, k.cx * s, k.cy * s, p.width, p.height)
        self.config = SceneConfig(min_objects=p.min_objects, max_objects=max(p.min_objects, p.max_objects))
        self.noise = DepthNoise(enabled=p.depth_noise), MaskNoise(enabled=p.mask_noise)
        self.rng = np.random.default_rng(p.seed)
        self.cameras: list = []

        qos = QoSProfile(depth=5)
        self.depth_pub = self.create_publisher(Image, "depth", qos)
        self.mask_pub = self.create_publisher(Image, "mask", qos)
        self.info_pub = self.create_publisher(CameraInfo, "camera_info", qos)
        self.truth_pub = self.create_publisher(Detection3DArray, "~/ground_truth", 10)
        self.frames = 0
        self.create_timer(1.0 / p.rate, self.tick)
        self.get_logger().info(
            f"publishing {p.width}x{p.height} {p.depth_encoding} at {p.rate} Hz "
            f"on '{self.resolve_topic_name('depth')}', '{self.resolve_topic_name('mask')}'"
        )

    def next_scene(self) -> None:
        scene = sample_scene(self.rng, self.config, self.p.split)
        self.renderer = SceneRenderer(scene)
        self.cameras = camera_trajectory(self.rng, scene, self.p.frames_per_scene, self.config)

    def tick(self) -> None:
        if not self.cameras:
            self.next_scene()
        frame = render_frame(self.renderer, self.cameras.pop(0), self.intrinsics, self.rng, *self.noise)
        header = Header(stamp=self.get_clock().now().to_msg(), frame_id=self.p.frame_id)
        if self.p.depth_encoding == "16UC1":
            depth = array_to_image(np.rint(frame.depth * 1000.0).clip(0, 65535).astype(np.uint16), "16UC1", header)
        else:
            depth = array_to_image(np.where(frame.depth > 0, frame.depth, np.nan).astype(np.float32), "32FC1", header)
        self.info_pub.publish(intrinsics_to_camera_info(self.intrinsics, header))
        self.depth_pub.publish(depth)
        self.mask_pub.publish(array_to_image(frame.labels.astype(np.uint16), "16UC1", header))
        self.truth_pub.publish(ground_truth(header, frame.instances))
        self.frames += 1


def ground_truth(header: Header, instances) -> Detection3DArray:
    truth = Detection3DArray(header=header)
    for instance in instances:
        category = NOCS_CATEGORIES.by_id(instance.category).name  # the generator's ids are NOCS's
        pose = pose_msg(instance.R, instance.t)
        result = ObjectHypothesisWithPose()
        result.hypothesis.class_id, result.hypothesis.score = category, 1.0
        result.pose.pose = pose
        name = track_name(category, instance.label, LabelEncoding.PANOPTIC)
        detection = Detection3D(header=header, results=[result], id=name)
        if instance.symmetric:
            tag = ObjectHypothesisWithPose()
            tag.hypothesis.class_id, tag.hypothesis.score = SYMMETRIC_TAG, 1.0
            detection.results.append(tag)
        detection.bbox.center = pose
        detection.bbox.size.x, detection.bbox.size.y, detection.bbox.size.z = (float(v) for v in instance.size)
        truth.detections.append(detection)
    return truth


def use_shm_profile() -> None:
    """Load config/fastdds_shm.xml unless a profile is set: 640x480 images overflow Fast DDS's
    default 512 KiB shared-memory segment and half of them would be lost (docs/conventions.md §9)."""
    if "FASTDDS_DEFAULT_PROFILES_FILE" in os.environ:
        return
    for directory in share_dirs():
        profile = directory / "config" / "fastdds_shm.xml"
        if profile.is_file():
            os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(profile)
            return


def main(args: list[str] | None = None) -> int:
    use_shm_profile()
    return run_node(SyntheticCamera, "synthetic_camera", (ValueError,), args)


if __name__ == "__main__":
    sys.exit(main())
