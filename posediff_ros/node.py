"""The `estimator` node: depth + instance mask + camera info -> object poses, TF and markers.

Inputs (relative names, remap them): `depth`, `mask` (sensor_msgs/Image, synchronized by
stamp, approximate policy) and `camera_info` (the latest one is kept). Outputs:
`object_poses` (vision_msgs/Detection3DArray; `/object_poses` in the root namespace), one
TF frame `<frame_prefix><category>_<k>` per object under the depth frame, `~/markers`,
optionally `~/points`, `~/overlay` and `/diagnostics`. The work is done by the ROS-free
`PoseEstimator`; this class converts, validates and publishes.

Never falls behind: the synchronizer callback only stores the newest depth+mask pair
(message_filters calls it under its lock) and a worker thread processes the newest
pending pair; a pair replaced before the worker took it counts as dropped.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import ParameterException
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image, PointCloud2
from std_msgs.msg import Header
from vision_msgs.msg import Detection3DArray
from visualization_msgs.msg import MarkerArray

from .categories import Category, CategoryTable
from .checkpoint import CheckpointError
from .diffusion import SCHEDULES
from .estimator import (
    LABEL_ENCODINGS,
    RECHECK_ANGLE,
    SAMPLING_STARTS,
    TRACK_BLEND,
    PoseEstimator,
    SamplerSettings,
)
from .geometry import backproject_labels, valid_depth
from .paths import default_model_candidates, default_model_path
from .ros import messages
from .ros.clouds import xyz_cloud
from .ros.diagnostics import FrameStats
from .ros.images import ImageError, array_to_image, camera_info_to_intrinsics, depth_to_metres, mask_to_labels
from .ros.overlay import depth_overlay
from .ros.spin import run_node
from .ros.sync import synchronize
from .ros.tf import TransformBroadcaster
from .ros.tracks import CentroidAssociator, track_name

NODE_NAME = "posediff_estimator"
WARN_PERIOD = 5.0  # seconds between repeats of one kind of per-frame warning


@dataclass(frozen=True)
class Param:
    name: str
    default: object
    description: str
    range: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None


NOCS_ENTRIES = ["1:bottle:symmetric", "2:bowl:symmetric", "3:camera", "4:can:symmetric", "5:laptop", "6:mug"]

PARAMETERS = [
    Param("model_path", "", "Checkpoint file; empty = the shipped model models/posediff_default.pt"),
    Param("device", "auto", "Torch device: auto (cuda when available, else cpu), cpu, cuda or cuda:N"),
    Param("num_threads", 0, "CPU threads for PyTorch; 0 = PyTorch's default", (0, 256)),
    Param("sampler", "ddim", "Pose sampler", choices=("ddim", "ode")),
    Param("steps", 10, "Sampler steps for a new object (ddim)", (1, 500)),
    Param("t_start", 0.55, "Diffusion time a new object's sampling starts from", (0.01, 1.0)),
    Param("start", "auto", "A new object's sampling starts from noise at t_start (the paper) or from the "
          "regression head's pose, refined like a track (track_t_start, track_steps); auto: regression when the "
          "model's regression head was trained (more accurate), else noise", choices=SAMPLING_STARTS),
    Param("eta", 0.0, "DDIM stochasticity (0 = deterministic)", (0.0, 1.0)),
    Param("num_samples", 1, "K poses sampled per object and averaged; K > 1 also gives the covariance", (1, 256)),
    Param("schedule", "exponential", "Score-scaling (guidance) schedule", choices=tuple(SCHEDULES)),
    Param("w_min", 1.0, "Score-scaling weight at high noise (t -> 1, where sampling starts)", (0.0, 50.0)),
    Param("w_max", 4.0, "Score-scaling weight at low noise (t -> 0, where sampling ends; constant: always)",
          (0.0, 50.0)),
    Param("track", True, "Sample tracked objects from their previous pose (tracking mode)"),
    Param("track_by", "label", "Associate objects across frames by mask label (the segmenter keeps labels "
          "stable) or by nearest centroid within track_gate (it does not)", choices=("label", "centroid")),
    Param("track_gate", 0.1, "Largest centroid distance in metres for track_by=centroid", (0.001, 10.0)),
    Param("track_t_start", 0.15, "Diffusion time tracking mode starts from (<= t_start)", (0.01, 1.0)),
    Param("track_steps", 4, "Sampler steps in tracking mode", (1, 500)),
    Param("max_missed", 5, "Frames an unseen object keeps its track", (0, 100000)),
    Param("max_jump", 0.1, "Centroid jump in metres beyond which a track restarts with full sampling",
          (0.0, 1000.0)),
    Param("track_blend", TRACK_BLEND, "A track starts from this weight x its previous pose + the rest x the "
          "regression head's pose of the frame (1 = the previous pose only)", (0.0, 1.0)),
    Param("recheck_angle", RECHECK_ANGLE, "A track restarts as a new object when its previous rotation is more than "
          "this many degrees from the regression head's estimate of the frame; 180 = never", (0.0, 180.0)),
    Param("min_points", 50, "Valid depth points an object needs; fewer: skipped", (1, 1000000)),
    Param("label_encoding", "panoptic", "Mask labels: panoptic (category_id * 1000 + k) or instance "
          "(instance ids of instance_category)", choices=LABEL_ENCODINGS),
    Param("instance_category", "", "The category of every object when label_encoding is instance"),
    Param("categories", NOCS_ENTRIES, "Category table, entries 'id:name' or 'id:name:symmetric' "
          "(symmetric about +y); default NOCS"),
    Param("frame_prefix", "posediff/", "Prefix of the objects' TF frames <prefix><category>_<k>"),
    Param("qos_reliability", "best_effort", "Reliability of the depth and mask subscriptions "
          "(best_effort matches every publisher)", choices=("best_effort", "reliable")),
    Param("qos_depth", 5, "History depth of the depth and mask subscriptions", (1, 1000)),
    Param("camera_info_qos", "best_effort", "Camera info subscription: best_effort (matches every publisher), "
          "reliable, or transient_local (latched publishers)", choices=("best_effort", "reliable", "transient_local")),
    Param("sync_queue_size", 10, "Synchronizer queue per input (messages)", (1, 1000)),
    Param("sync_slop", 0.05, "Largest stamp difference in seconds between a depth and its mask", (1e-6, 10.0)),
    Param("publish_tf", True, "Broadcast one TF frame per object"),
    Param("publish_markers", True, "Publish ~/markers (boxes, axes, labels)"),
    Param("publish_points", False, "Publish ~/points: the objects' back-projected depth points"),
    Param("publish_overlay", False, "Publish ~/overlay: boxes drawn on the depth image"),
    Param("publish_diagnostics", True, "Publish /diagnostics (rate, latency, objects, drops)"),
    Param("diagnostics_period", 1.0, "Seconds between /diagnostics messages", (0.05, 3600.0)),
]


def descriptor(p: Param) -> ParameterDescriptor:
    d = ParameterDescriptor(description=p.description, read_only=True)  # read at start-up only
    if p.range and isinstance(p.default, float):
        d.floating_point_range = [FloatingPointRange(from_value=float(p.range[0]), to_value=float(p.range[1]))]
    elif p.range:
        d.integer_range = [IntegerRange(from_value=int(p.range[0]), to_value=int(p.range[1]), step=1)]
    if p.choices:
        d.additional_constraints = "one of: " + ", ".join(p.choices)
    return d


def category_table(entries: list[str]) -> CategoryTable:
    def parse(entry: str) -> Category:
        fields = entry.split(":")
        if len(fields) not in (2, 3) or (len(fields) == 3 and fields[2] != "symmetric"):
            raise ValueError(f"category entry {entry!r} is not 'id:name' or 'id:name:symmetric'")
        return Category(int(fields[0]), fields[1], len(fields) == 3)

    return CategoryTable([parse(e) for e in entries])


class FrameRejected(Exception):
    """A frame that cannot be processed; the message says why."""


class EstimatorNode(Node):
    def __init__(self):
        super().__init__(NODE_NAME)
        for p in PARAMETERS:
            self.declare_parameter(p.name, p.default, descriptor(p))
        self.p = {p.name: self.get_parameter(p.name).value for p in PARAMETERS}
        for p in PARAMETERS:
            if p.choices and self.p[p.name] not in p.choices:
                raise ValueError(f"parameter {p.name} is {self.p[p.name]!r}; expected one of {p.choices}")

        self.engine = self._load_engine()
        self.associator = (CentroidAssociator(self.p["label_encoding"], self.p["track_gate"], self.p["max_missed"])
                           if self.p["track_by"] == "centroid" else None)

        reliable = QoSProfile(depth=10)
        self.poses_pub = self.create_publisher(Detection3DArray, "object_poses", reliable)
        self.markers_pub = self.create_publisher(MarkerArray, "~/markers", reliable)
        self.points_pub = self.create_publisher(PointCloud2, "~/points", 1) if self.p["publish_points"] else None
        self.overlay_pub = self.create_publisher(Image, "~/overlay", 1) if self.p["publish_overlay"] else None
        self.tf = TransformBroadcaster(self) if self.p["publish_tf"] else None
        self.diagnostics_pub = None
        if self.p["publish_diagnostics"]:
            self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
            self.create_timer(self.p["diagnostics_period"], self.publish_diagnostics)

        images = QoSProfile(depth=self.p["qos_depth"], reliability=ReliabilityPolicy.BEST_EFFORT
                            if self.p["qos_reliability"] == "best_effort" else ReliabilityPolicy.RELIABLE)
        info_qos = {"best_effort": QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT),
                    "reliable": QoSProfile(depth=1),
                    "transient_local": QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)}
        self.camera_info: CameraInfo | None = None
        self.create_subscription(CameraInfo, "camera_info", self.on_camera_info, info_qos[self.p["camera_info_qos"]])
        self.sync = synchronize(self, Image, ["depth", "mask"], images, self.p["sync_queue_size"],
                                self.p["sync_slop"], self.on_frame)

        self.stats = FrameStats()
        self.last_stamp: int | None = None
        self.marker_labels: set[int] = set()
        self.warned: dict[str, float] = {}
        self.pending: tuple[Image, Image] | None = None
        self.wake = threading.Condition()
        self.stopping = False
        self.worker = threading.Thread(target=self.work, name="posediff_worker", daemon=True)
        self.worker.start()
        self.get_logger().info(
            f"ready: model {self.model_path} on {self.engine.device}, new objects start from "
            f"{self.engine.settings.start}, depth '{self.resolve_topic_name('depth')}', "
            f"mask '{self.resolve_topic_name('mask')}', camera info '{self.resolve_topic_name('camera_info')}'")

    def _load_engine(self) -> PoseEstimator:
        import torch

        if self.p["num_threads"]:
            torch.set_num_threads(self.p["num_threads"])
        path = self.p["model_path"] or default_model_path()
        if path is None:
            raise CheckpointError("model_path is empty and no shipped model is installed (looked for "
                                  + ", ".join(map(str, default_model_candidates())) + ")")
        self.model_path = path
        p = self.p
        settings = SamplerSettings(sampler=p["sampler"], steps=p["steps"], t_start=p["t_start"], eta=p["eta"],
                                   schedule=p["schedule"], w_min=p["w_min"], w_max=p["w_max"],
                                   num_samples=p["num_samples"], track_t_start=p["track_t_start"],
                                   track_steps=p["track_steps"], start=p["start"])
        categories = category_table(p["categories"])
        if p["label_encoding"] == "instance" and p["instance_category"] not in categories:
            raise ValueError(f"label_encoding 'instance' needs instance_category to be one of {categories.names}")
        return PoseEstimator.from_checkpoint(path, p["device"], settings=settings, categories=categories,
                                             min_points=p["min_points"], max_missed=p["max_missed"],
                                             max_jump=p["max_jump"], recheck_angle=p["recheck_angle"],
                                             track_blend=p["track_blend"])

    # ------------------------------------------------------------------ input

    def on_camera_info(self, msg: CameraInfo) -> None:
        self.camera_info = msg

    def on_frame(self, depth: Image, mask: Image) -> None:
        """Synchronizer callback (under its lock): keep only the newest pair."""
        with self.wake:
            with self.stats.lock:
                self.stats.received += 1
                self.stats.dropped += self.pending is not None
            self.pending = (depth, mask)
            self.wake.notify()

    def work(self) -> None:
        while True:
            with self.wake:
                self.wake.wait_for(lambda: self.pending is not None or self.stopping)
                if self.stopping:
                    return
                depth, mask = self.pending
                self.pending = None
            try:
                self.process(depth, mask)
            except FrameRejected as rejected:
                with self.stats.lock:
                    self.stats.rejected += 1
                    self.stats.last_problem = str(rejected)
                self.warn_throttled(f"frame skipped: {rejected}")
            except Exception as error:  # a bug must not kill the worker: log it and take the next frame
                if self.stopping or not self.context.ok():
                    return  # shut down (SIGTERM) mid-frame: its publishers are gone, nothing went wrong
                self.get_logger().error(f"frame failed: {type(error).__name__}: {error}",
                                        throttle_duration_sec=WARN_PERIOD)

    def destroy_node(self) -> None:
        self.stop()
        super().destroy_node()

    def stop(self) -> None:
        with self.wake:
            self.stopping = True
            self.wake.notify()
        self.worker.join(timeout=10.0)

    def warn_throttled(self, message: str) -> None:
        """At most one warning per kind of message (its text with numbers blanked) and WARN_PERIOD.

        rclpy's throttle_duration_sec throttles per call site, which would let one bad
        input hide a different one reported from the same line.
        """
        kind = re.sub(r"\d+", "#", message)
        now = time.monotonic()
        if now - self.warned.get(kind, -np.inf) >= WARN_PERIOD:
            self.warned[kind] = now
            self.get_logger().warning(message)

    # ------------------------------------------------------------------ work

    def process(self, depth_msg: Image, mask_msg: Image) -> None:
        stamp = depth_msg.header.stamp.sec * 1_000_000_000 + depth_msg.header.stamp.nanosec
        if self.last_stamp is not None and stamp < self.last_stamp:
            self.warn_throttled(f"timestamps went backwards by {(self.last_stamp - stamp) * 1e-9:.3f} s "
                                "(a bag loop or restarted camera?): tracks reset")
            self.engine.reset_tracks()
            if self.associator:
                self.associator.reset()
        self.last_stamp = stamp
        if self.camera_info is None:
            raise FrameRejected("no camera info received yet on "
                                f"'{self.resolve_topic_name('camera_info')}'")
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
        if depth.shape != labels.shape:
            raise FrameRejected(f"depth {depth.shape[1]}x{depth.shape[0]} and mask "
                                f"{labels.shape[1]}x{labels.shape[0]} differ in size")
        if (intrinsics.height, intrinsics.width) != depth.shape:
            raise FrameRejected(f"images are {depth.shape[1]}x{depth.shape[0]} but the camera info is "
                                f"{intrinsics.width}x{intrinsics.height}")
        if not valid_depth(depth).any():
            raise FrameRejected("the depth image has no valid pixel (all 0, NaN or inf)")
        if self.associator:
            labels = self.associator.relabel(labels, depth, intrinsics)

        p = self.p
        result = self.engine.estimate(depth, labels, intrinsics, label_encoding=p["label_encoding"],
                                      instance_category=p["instance_category"] or None, track=p["track"])
        for skipped in result.skipped:
            self.warn_throttled(f"object with label {skipped.label} skipped: {skipped.reason}")
        objects = [messages.ObjectTrack(o, track_name(o.category, o.label, p["label_encoding"]))
                   for o in result.objects]
        self.publish(depth_msg.header, objects, depth, labels, intrinsics)
        latency = (self.get_clock().now().nanoseconds - stamp) * 1e-9
        self.stats.frame_done(latency, result.timings["total"], len(objects), sum(o.pose.tracked for o in objects))

    def publish(self, header, objects, depth, labels, intrinsics) -> None:
        self.poses_pub.publish(messages.detection_array(header, objects))
        if self.tf and objects:
            self.tf.sendTransform(messages.transforms(header, objects, self.p["frame_prefix"]))
        if self.p["publish_markers"]:
            current = {o.pose.label for o in objects}
            self.markers_pub.publish(messages.marker_array(header, objects, sorted(self.marker_labels - current)))
            self.marker_labels = current
        if self.points_pub:
            by_label = backproject_labels(depth, labels, intrinsics)
            points = [by_label[o.pose.label] for o in objects]
            self.points_pub.publish(xyz_cloud(header, np.concatenate(points) if points else np.zeros((0, 3))))
        if self.overlay_pub:
            self.overlay_pub.publish(array_to_image(depth_overlay(depth, objects, intrinsics), "rgb8", header))

    def publish_diagnostics(self) -> None:
        extra = {"device": str(self.engine.device), "model": str(self.model_path)}
        if self.engine.device.type == "cuda":
            import torch

            extra["gpu_memory_peak_mb"] = f"{torch.cuda.max_memory_allocated(self.engine.device) / 2**20:.0f}"
        status = self.stats.status(f"{self.get_name()}: pose estimation", str(self.engine.device), extra)
        self.diagnostics_pub.publish(DiagnosticArray(header=Header(stamp=self.get_clock().now().to_msg()),
                                                     status=[status]))


def main(args: list[str] | None = None) -> int:
    return run_node(EstimatorNode, NODE_NAME, (CheckpointError, ParameterException, ValueError, RuntimeError), args)


if __name__ == "__main__":
    sys.exit(main())
