"""The `estimator` node: depth + instance mask (or 2D detections) + camera info -> object poses, TF and markers.

Inputs (relative names, remap them): `depth` and `mask` (sensor_msgs/Image), or with
`mask_source: detections` `depth` and `detections` (vision_msgs/Detection2DArray),
synchronized by stamp (approximate policy), and `camera_info` (the latest one is kept). Outputs:
`object_poses` (vision_msgs/Detection3DArray; `/object_poses` in the root namespace), one
TF frame `<frame_prefix><category>_<k>` per object under the depth frame, `~/markers`,
optionally `~/points`, `~/overlay` and `/diagnostics`. The work is done by the ROS-free
`PoseEstimator`; the node's parts each do one job: parameters.py maps the parameters to
the engine, inputs.py converts the messages, outputs.py publishes, diagnostics.py reports,
sources.py turns the mask or the detections into the engine's labels, and a
LatestFrameWorker (worker.py) runs the engine on the newest frame, dropping frames that
wait, so the node never falls behind. The mask's category ids are those of the
checkpoint's category table, or the segmenter's ids that the `categories` parameter maps
to the checkpoint's names (docs/conventions.md §1). `Estimator` is the work of both the
plain node (`EstimatorNode`, here) and the managed one (managed.py): `configure` (model,
warm-up, publishers), `activate` (subscriptions, worker), `deactivate`, `cleanup`.
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
from ..estimator import FrameError, FrameEstimate, ObjectPose, PoseEstimator
from .diagnostics import DiagnosticsPublisher, FrameStats
from .inputs import FrameInputs
from .messages import PublishedObject, track_name
from .outputs import FramePublisher
from .parameters import NodeParameters, declare_parameters, load_engine, read_parameters
from .sources import object_source
from .spin import run_node
from .stamps import stamp_ns
from .worker import LatestFrameWorker

NODE_NAME = "posediff_estimator"
WARN_PERIOD = 5.0  # seconds between repeats of one kind of per-frame warning
UNPAIRED_CHECK_PERIOD = 1.0  # seconds between checks that the inputs pair
STARTUP_ERRORS = (CheckpointError, ParameterException, ValueError, RuntimeError, OSError)
"""A bad parameter, a missing or unreadable model or class map: one line in the log, not a traceback."""


def published_objects(result: FrameEstimate, min_score: float) -> tuple[list[ObjectPose], int]:
    """The objects of a frame to publish, and how many were held back for a score below
    `min_score` (objects without a score are published). An object whose track ended in this
    frame (its score fell below lose_score) is not published: its TF frame stops and its
    markers are deleted; the next frame starts it afresh."""
    shown = [o for o in result.objects if o.label not in result.ended]
    confident = [o for o in shown if o.score is None or o.score >= min_score]
    return confident, len(shown) - len(confident)


class Estimator:
    """The estimator's work on a node (a mixin of rclpy's Node or LifecycleNode): its parts are made
    by `configure` and `activate` and undone by `deactivate` and `cleanup`."""

    def declare(self) -> None:
        """Declare the parameters (read by configure) and leave everything else to configure."""
        declare_parameters(self)
        self.p: NodeParameters | None = None
        self.engine: PoseEstimator | None = None
        self.outputs: FramePublisher | None = None
        self.diagnostics: DiagnosticsPublisher | None = None
        self.inputs: FrameInputs | None = None
        self.worker: LatestFrameWorker | None = None
        self.stats = FrameStats()
        self.last_stamp: int | None = None
        self.warned: dict[str, float] = {}

    def configure(self) -> None:
        """Read the parameters, load the model, warm it up, and make the publishers (kept until the
        node goes: tf2_ros' broadcaster has no way to destroy its publisher). Raises STARTUP_ERRORS."""
        self.p = read_parameters(self)
        self.model_path, self.engine = load_engine(self.p)
        self.source = object_source(self.p, self.engine.categories)
        self.engine.warm_up(self.get_logger().info)
        if self.outputs is None:
            self.outputs = FramePublisher(self, self.p)
        if self.diagnostics is None and self.p.outputs.publish_diagnostics:
            self.diagnostics = DiagnosticsPublisher(
                self, self.stats, self.p.outputs.diagnostics_period, self.engine.device, self.model_path
            )
            self.diagnostics.timer.cancel()  # reports while active only

    def activate(self) -> None:
        """Subscribe and start the worker: frames are processed and published from now on."""
        self.last_stamp = None
        self.engine.reset_tracks()
        self.source.reset()
        self.inputs = FrameInputs(self, self.p.subscriptions, self.source.msg_type, self.source.topic, self.on_frame)
        self.worker = LatestFrameWorker(self.process, self.on_error, name="posediff_worker")
        self.unpaired_timer = self.create_timer(UNPAIRED_CHECK_PERIOD, self.check_pairing)
        if self.diagnostics is not None:
            self.diagnostics.timer.reset()
        topics = ", ".join(f"{name} '{self.resolve_topic_name(name)}'" for name in ("depth", self.source.topic))
        self.get_logger().info(
            f"ready: model {self.model_path} on {self.engine.device}, new objects start from "
            f"{self.engine.settings.start}, {topics}, camera info '{self.inputs.camera_info_topic}', "
            f"categories {', '.join(f'{c.id}:{c.name}' for c in self.engine.categories)}"
        )

    def deactivate(self) -> None:
        """Unsubscribe and let the frame in progress finish: nothing is published until activate."""
        self.inputs.destroy()
        self.worker.stop()
        self.destroy_timer(self.unpaired_timer)
        if self.diagnostics is not None:
            self.diagnostics.timer.cancel()
        self.inputs = self.worker = None

    def cleanup(self) -> None:
        """Free the model (and the GPU memory it held)."""
        device = self.engine.device
        self.engine = self.source = None
        if device.type == "cuda":
            import torch

            torch.cuda.empty_cache()

    def on_frame(self, depth: Image, source_msg) -> None:
        """Synchronizer callback (under its lock): hand the pair over, never wait."""
        self.stats.frame_received(dropped=self.worker.submit((depth, source_msg)))

    def process(self, frame: tuple) -> None:
        """The worker's job: one frame through the engine to the outputs."""
        depth_msg, source_msg = frame
        stamp = stamp_ns(depth_msg.header)
        if self.last_stamp is not None and stamp < self.last_stamp:
            self.warn_throttled(
                f"timestamps went backwards by {(self.last_stamp - stamp) * 1e-9:.3f} s "
                "(a bag loop or restarted camera?): tracks reset"
            )
            self.engine.reset_tracks()
            self.source.reset()
        self.last_stamp = stamp
        depth, intrinsics = self.inputs.arrays(depth_msg)
        found = self.source.labels(source_msg, depth, intrinsics, depth_msg.header.frame_id, self.warn_throttled)
        result = self.engine.estimate(
            depth,
            found.labels,
            intrinsics,
            label_encoding=found.encoding,
            instance_category=self.p.objects.instance_category or None,
            track=self.p.track,
        )
        for skipped in result.skipped:
            self.warn_throttled(f"object with label {skipped.label} skipped: {skipped.reason}")
        confident, below_min_score = published_objects(result, self.p.objects.min_score)
        objects = [
            PublishedObject(
                o, track_name(o.category, o.label, found.encoding), found.detection_ids.get(o.mask_label, "")
            )
            for o in confident
        ]
        self.outputs.publish(depth_msg.header, objects, depth, found.labels, intrinsics)
        latency = (self.get_clock().now().nanoseconds - stamp) * 1e-9
        self.stats.frame_done(
            latency,
            result.timings["total"],
            len(objects),
            sum(o.pose.tracked for o in objects),
            found.skipped + len(result.skipped),
        )
        self.stats.tracks_changed(
            below_min_score=below_min_score,
            lost=len(result.ended),
            restarted=sum(o.restarted for o in result.objects),
        )

    def on_error(self, error: Exception) -> None:
        if isinstance(error, FrameError):
            self.stats.frame_rejected(str(error))
            self.warn_throttled(f"frame skipped: {error}")
        elif not self.worker.stopping and self.context.ok():  # else shut down mid-frame: nothing went wrong
            self.get_logger().error(f"frame failed: {type(error).__name__}: {error}", throttle_duration_sec=WARN_PERIOD)

    def check_pairing(self) -> None:
        problem = self.inputs.unpaired() if self.inputs is not None else None
        if problem is not None:
            self.warn_throttled(problem)

    def destroy_node(self) -> None:
        """Let the frame in progress finish before the node goes (rclpy's Node.destroy_node after)."""
        if self.worker is not None:
            self.worker.stop()
        super().destroy_node()

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


class EstimatorNode(Estimator, Node):
    """The plain node: configured and active from the start."""

    def __init__(self):
        Node.__init__(self, NODE_NAME)
        self.declare()
        self.configure()
        self.activate()


def main(args: list[str] | None = None) -> int:
    return run_node(EstimatorNode, NODE_NAME, STARTUP_ERRORS, args)


if __name__ == "__main__":
    sys.exit(main())
