"""The `estimator` node: depth + instance mask + camera info -> object poses, TF and markers.

Inputs (relative names, remap them): `depth`, `mask` (sensor_msgs/Image, synchronized by
stamp, approximate policy) and `camera_info` (the latest one is kept). Outputs:
`object_poses` (vision_msgs/Detection3DArray; `/object_poses` in the root namespace), one
TF frame `<frame_prefix><category>_<k>` per object under the depth frame, `~/markers`,
optionally `~/points`, `~/overlay` and `/diagnostics`. The work is done by the ROS-free
`PoseEstimator`; the node's parts each do one job: parameters.py maps the parameters to
the engine, inputs.py converts the messages, outputs.py publishes, diagnostics.py reports,
and a LatestFrameWorker (worker.py) runs the engine on the newest frame, dropping frames
that wait, so the node never falls behind. The mask's category ids are those of the
checkpoint's category table, or the segmenter's ids that the `categories` parameter maps
to the checkpoint's names (docs/conventions.md §1).
"""

from __future__ import annotations

import re
import sys
import time

import numpy as np
from rclpy.exceptions import ParameterException
from rclpy.node import Node
from sensor_msgs.msg import Image

from ..checkpoint import CheckpointError
from ..estimator import FrameError, FrameEstimate, ObjectPose
from .diagnostics import DiagnosticsPublisher, FrameStats
from .inputs import FrameInputs, FrameRejected
from .messages import ObjectTrack, track_name
from .outputs import FramePublisher
from .parameters import load_engine, read_parameters
from .spin import run_node
from .worker import LatestFrameWorker

NODE_NAME = "posediff_estimator"
WARN_PERIOD = 5.0  # seconds between repeats of one kind of per-frame warning


def published_objects(result: FrameEstimate, min_score: float) -> tuple[list[ObjectPose], int]:
    """The objects of a frame to publish, and how many were held back for a score below
    `min_score` (objects without a score are published). An object whose track ended in this
    frame (its score fell below lose_score) is not published: its TF frame stops and its
    markers are deleted; the next frame starts it afresh."""
    shown = [o for o in result.objects if o.label not in result.ended]
    confident = [o for o in shown if o.score is None or o.score >= min_score]
    return confident, len(shown) - len(confident)


class EstimatorNode(Node):
    def __init__(self):
        super().__init__(NODE_NAME)
        self.p = read_parameters(self)
        self.model_path, self.engine = load_engine(self.p, self.get_logger().warning)
        self.engine.warm_up(self.get_logger().info)
        self.outputs = FramePublisher(self, self.p)
        self.stats = FrameStats()
        self.diagnostics = (
            DiagnosticsPublisher(self, self.stats, self.p["diagnostics_period"], self.engine.device, self.model_path)
            if self.p["publish_diagnostics"]
            else None
        )
        self.last_stamp: int | None = None
        self.warned: dict[str, float] = {}
        self.inputs = FrameInputs(self, self.p, self.on_frame)
        self.worker = LatestFrameWorker(self.process, self.on_error, name="posediff_worker")
        self.get_logger().info(
            f"ready: model {self.model_path} on {self.engine.device}, new objects start from "
            f"{self.engine.settings.start}, depth '{self.resolve_topic_name('depth')}', "
            f"mask '{self.resolve_topic_name('mask')}', camera info '{self.inputs.camera_info_topic}', "
            f"categories {', '.join(f'{c.id}:{c.name}' for c in self.engine.categories)}"
        )

    def on_frame(self, depth: Image, mask: Image) -> None:
        """Synchronizer callback (under its lock): hand the pair over, never wait."""
        self.stats.frame_received(dropped=self.worker.submit((depth, mask)))

    def process(self, frame: tuple[Image, Image]) -> None:
        """The worker's job: one frame through the engine to the outputs."""
        depth_msg, mask_msg = frame
        stamp = depth_msg.header.stamp.sec * 1_000_000_000 + depth_msg.header.stamp.nanosec
        if self.last_stamp is not None and stamp < self.last_stamp:
            self.warn_throttled(
                f"timestamps went backwards by {(self.last_stamp - stamp) * 1e-9:.3f} s "
                "(a bag loop or restarted camera?): tracks reset"
            )
            self.engine.reset_tracks()
        self.last_stamp = stamp
        depth, labels, intrinsics = self.inputs.arrays(depth_msg, mask_msg)
        encoding = self.p["label_encoding"]
        result = self.engine.estimate(
            depth,
            labels,
            intrinsics,
            label_encoding=encoding,
            instance_category=self.p["instance_category"] or None,
            track=self.p["track"],
        )
        for skipped in result.skipped:
            self.warn_throttled(f"object with label {skipped.label} skipped: {skipped.reason}")
        confident, below_min_score = published_objects(result, self.p["min_score"])
        objects = [ObjectTrack(o, track_name(o.category, o.label, encoding)) for o in confident]
        self.outputs.publish(depth_msg.header, objects, depth, labels, intrinsics)
        latency = (self.get_clock().now().nanoseconds - stamp) * 1e-9
        self.stats.frame_done(latency, result.timings["total"], len(objects), sum(o.pose.tracked for o in objects))
        self.stats.tracks_changed(
            below_min_score=below_min_score,
            lost=len(result.ended),
            restarted=sum(o.restarted for o in result.objects),
        )

    def on_error(self, error: Exception) -> None:
        if isinstance(error, (FrameRejected, FrameError)):
            self.stats.frame_rejected(str(error))
            self.warn_throttled(f"frame skipped: {error}")
        elif not self.worker.stopping and self.context.ok():  # else shut down mid-frame: nothing went wrong
            self.get_logger().error(f"frame failed: {type(error).__name__}: {error}", throttle_duration_sec=WARN_PERIOD)

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

    def destroy_node(self) -> None:
        self.worker.stop()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_node(EstimatorNode, NODE_NAME, (CheckpointError, ParameterException, ValueError, RuntimeError), args)


if __name__ == "__main__":
    sys.exit(main())
