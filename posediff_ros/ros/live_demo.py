"""`live_demo`: the synthetic camera and the estimator as two processes, with live accuracy.

The demo without `ros2 launch` (absent from the PyPI environment; `launch/demo.launch.py`
does the same on a ROS 2 install). It starts `synthetic_camera` and the estimator node as
separate processes, as a user would run them, listens to `/object_poses` and the camera's
ground truth, and prints once a second: frames and rate, latency, drops, mean rotation and
translation errors and the 5°2cm / 10°5cm fractions so far. It stops after `--duration`
seconds, on Ctrl-C (SIGINT) or on SIGTERM, printing its summary and exiting 0 (a requested
stop, as the nodes and `ros2 launch` end on either signal), and always stops its child
processes. Their logs go to files whose paths are printed (and whose tails are shown if a
child fails). The camera options are the synthetic camera's parameters of the same names.

`--attach` starts nothing and only watches a demo that already runs (`ros2 launch
posediff_ros demo.launch.py`): starting a second camera and estimator beside it would put
two publishers on each topic.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..checkpoint import CheckpointError, checkpoint_file, save_checkpoint
from ..metrics import pose_errors, summarize, threshold_name
from ..model import PoseNet
from ..settings import described
from ..symmetry import SymmetryBatch
from .stamps import stamp_ns
from .synthetic_camera import SYMMETRIC_TAG, CameraParameters

DEMO_CAMERA = {"rate": 2.0, "width": 640, "height": 480, "max_objects": 4, "frames_per_scene": 30, "seed": 0}
"""The camera parameters that are the demo's options, with the demo's defaults (slower and with
shorter scenes than the camera's own, so that a CPU keeps up and scenes change often)."""


@dataclass
class Accuracy:
    """Errors of matched objects so far (docs/conventions.md §7 metrics)."""

    rotation_deg: list[float] = field(default_factory=list)
    translation_cm: list[float] = field(default_factory=list)
    missed: int = 0  # ground-truth objects without an estimate of the same id
    frames: int = 0

    def add(self, truth, estimate) -> None:
        self.frames += 1
        predicted = {d.id: d for d in estimate.detections}
        for gt in truth.detections:
            d = predicted.get(gt.id)
            if d is None:
                self.missed += 1
                continue
            symmetric = any(r.hypothesis.class_id == SYMMETRIC_TAG for r in gt.results[1:])
            truth_pose, estimated_pose = gt.bbox.center, d.results[0].pose.pose
            rotation, translation = pose_errors(
                _rotation(estimated_pose)[None],
                _position(estimated_pose)[None],
                _rotation(truth_pose)[None],
                _position(truth_pose)[None],
                SymmetryBatch.from_flags([symmetric]),
            )
            self.rotation_deg.append(float(rotation[0]))
            self.translation_cm.append(float(translation[0]))

    def summary(self) -> str:
        if not self.rotation_deg:
            return f"objects 0 (missed {self.missed})"
        s = summarize(self.rotation_deg, self.translation_cm)
        return (
            f"objects {s['count']} (missed {self.missed}) | rot {s['rotation_mean_deg']:5.1f}° "
            f"trans {s['translation_mean_cm']:5.1f} cm | 5°2cm {100 * s[threshold_name(5, 2)]:3.0f}% "
            f"10°5cm {100 * s[threshold_name(10, 5)]:3.0f}%"
        )


def _rotation(pose) -> np.ndarray:
    q = pose.orientation
    return Rotation.from_quat([q.x, q.y, q.z, q.w]).as_matrix()


def _position(pose) -> np.ndarray:
    return np.array([pose.position.x, pose.position.y, pose.position.z])


class Child:
    """A node process with its log in a file; stopped with SIGINT, then SIGKILL."""

    def __init__(self, name: str, module: str, ros_args: list[str], log_dir: Path):
        self.name, self.log = name, log_dir / f"{name}.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module, "--ros-args", *ros_args],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        interrupt(self.process)


def interrupt(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """End a node process as Ctrl-C does (SIGINT: it shuts down cleanly), and SIGKILL it if it has
    not ended within `timeout` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="live_demo", description=__doc__.splitlines()[0])
    p.add_argument(
        "--attach",
        action="store_true",
        help="start no nodes: watch the running demo.launch.py (the options below are then ignored)",
    )
    p.add_argument("--duration", type=float, default=60.0, help="seconds to run; 0 = until Ctrl-C")
    p.add_argument("--model", default="", help="checkpoint (default: the shipped model)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda")
    for s in described(CameraParameters):
        if s.name in DEMO_CAMERA:
            p.add_argument(
                "--" + s.name.replace("_", "-"),
                type=type(s.default),
                default=DEMO_CAMERA[s.name],
                help=f"camera: {s.description} (default: %(default)s)",
            )
    p.add_argument(
        "--estimator-param",
        action="append",
        default=[],
        metavar="NAME:=VALUE",
        help="extra estimator parameter, repeatable (e.g. num_samples:=4)",
    )
    return p


class _StopSignal:
    """SIGINT and SIGTERM as a request to stop: the watch loop ends at its next slice and prints its
    summary. rclpy's own handlers would shut its context down under the executor instead, which
    then raises ExternalShutdownException out of spin_once."""

    def __init__(self):
        self.received: str | None = None  # the name of the signal that asked to stop
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self.handle)

    def handle(self, signum: int, frame) -> None:
        self.received = signal.Signals(signum).name


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stop = _StopSignal()  # from the start: a signal while the children start still stops them
    if args.attach:
        print("live_demo: watching the running demo (/object_poses against /synthetic_camera/ground_truth)", flush=True)
        return _watch(args, [], stop)
    log_dir = Path(tempfile.mkdtemp(prefix="posediff_demo_"))
    camera_args = [arg for name in DEMO_CAMERA for arg in ("-p", f"{name}:={getattr(args, name)}")]
    model = _model_or_untrained(args.model, log_dir)
    estimator_args = ["-p", f"model_path:={model}", "-p", f"device:={args.device}"]
    for extra in args.estimator_param:
        estimator_args += ["-p", extra]
    children = [
        Child("synthetic_camera", "posediff_ros.ros.synthetic_camera", camera_args, log_dir),
        Child("estimator", "posediff_ros.ros.node", estimator_args, log_dir),
    ]
    print(
        f"live_demo: logs in {log_dir} (" + ", ".join(f"{c.name} pid {c.process.pid}" for c in children) + ")",
        flush=True,
    )
    try:
        return _watch(args, children, stop)
    finally:
        for child in children:
            child.stop()


def _model_or_untrained(given: str, directory: Path) -> str:
    """`given`, else the shipped model, else (with a loud warning) an untrained network saved in
    `directory`.

    The node refuses to start without a model file; the demo should still show the
    whole pipeline running on a fresh checkout, before any model has been trained.
    """
    try:
        return str(checkpoint_file(given, "--model"))
    except CheckpointError as error:
        untrained = directory / "untrained.pt"
        save_checkpoint(untrained, PoseNet())
        print(
            f"live_demo: warning: {error}; running an UNTRAINED network, so the poses are random. "
            "Train one with `train` or pass --model.",
            file=sys.stderr,
            flush=True,
        )
        return str(untrained)


class _Watched:
    """What the demo's watcher has received: ground truth by stamp, accuracy, latencies, diagnostics."""

    def __init__(self, node):
        self.node = node
        self.truths: dict[int, object] = {}
        self.accuracy = Accuracy()
        self.latencies: list[float] = []
        self.diagnostics: dict[str, str] = {}

    def on_truth(self, msg) -> None:
        self.truths[stamp_ns(msg.header)] = msg
        for old in sorted(self.truths)[:-100]:
            del self.truths[old]

    def on_poses(self, msg) -> None:
        self.latencies.append((self.node.get_clock().now().nanoseconds - stamp_ns(msg.header)) * 1e-9)
        truth = self.truths.get(stamp_ns(msg.header))
        if truth is not None:
            self.accuracy.add(truth, msg)

    def on_diagnostics(self, msg) -> None:
        for status in msg.status:
            if status.name.startswith("posediff_estimator"):
                self.diagnostics.update({kv.key: kv.value for kv in status.values})


def _exited_child(children: list[Child]) -> int | None:
    """The exit code to return if a child process has ended (its log tail printed), else None."""
    for child in children:
        if child.process.poll() is not None:
            print(
                f"live_demo: {child.name} exited with code {child.process.returncode}; its log "
                f"({child.log}) ends with:\n{child.tail()}",
                file=sys.stderr,
                flush=True,
            )
            return child.process.returncode or 1
    return None


def _print_progress(elapsed: float, accuracy: Accuracy, latencies: list[float], diagnostics: dict[str, str]) -> None:
    recent = latencies[-20:]
    print(
        f"[{elapsed:5.0f} s] frames {accuracy.frames} "
        f"({diagnostics.get('rate_hz', '?')} Hz, latency {1e3 * np.median(recent):.0f} ms, "
        f"dropped {diagnostics.get('frames_dropped', '?')}) | {accuracy.summary()}",
        flush=True,
    )


def _watch(args, children: list[Child], stop: _StopSignal) -> int:
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions
    from vision_msgs.msg import Detection3DArray

    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    try:
        node = rclpy.create_node("posediff_live_demo")
        watched = _Watched(node)
        accuracy, latencies, diagnostics = watched.accuracy, watched.latencies, watched.diagnostics
        node.create_subscription(Detection3DArray, "/synthetic_camera/ground_truth", watched.on_truth, 10)
        node.create_subscription(Detection3DArray, "/object_poses", watched.on_poses, 10)
        node.create_subscription(DiagnosticArray, "/diagnostics", watched.on_diagnostics, 10)
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        start = time.monotonic()
        next_print = start + 1.0
        print("live_demo: waiting for the first poses (loading the model takes a few seconds) ...", flush=True)
        while stop.received is None and (args.duration <= 0 or time.monotonic() - start < args.duration):
            executor.spin_once(timeout_sec=0.1)
            exited = _exited_child(children)
            if exited is not None:
                return exited
            if time.monotonic() >= next_print:
                next_print += 1.0
                if accuracy.frames:
                    _print_progress(time.monotonic() - start, accuracy, latencies, diagnostics)
        ending = "done" if stop.received is None else f"stopped by {stop.received}"
        print(f"live_demo: {ending}. {accuracy.frames} frames | {accuracy.summary()}", flush=True)
        return 0
    finally:
        rclpy.try_shutdown()


if __name__ == "__main__":
    sys.exit(main())
