"""Frame statistics of the node and their /diagnostics status (rate, latency, objects, drops, tracks)."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from std_msgs.msg import Header

WINDOW = 50  # frames the rate and latency figures are computed over


class FrameStats:
    """Counters shared by the synchronizer callback, the worker and the diagnostics timer (hence the lock)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.received = self.processed = self.dropped = self.rejected = 0
        self.tracked_total = 0  # objects sampled in tracking mode, all frames
        self.skipped_total = 0  # objects skipped (too few points, unusable boxes, ...), all frames
        self.below_min_score_total = self.lost_total = self.restarted_total = 0
        self.last_objects = self.last_tracked = 0
        self.last_problem = ""
        self._done: deque[float] = deque(maxlen=WINDOW)  # wall-clock times frames finished
        self._latency: deque[float] = deque(maxlen=WINDOW)  # stamp -> published, seconds
        self._compute: deque[float] = deque(maxlen=WINDOW)  # engine time, seconds

    def frame_received(self, dropped: bool) -> None:
        """A frame arrived; `dropped`: it replaced one the worker had not taken."""
        with self.lock:
            self.received += 1
            self.dropped += dropped

    def frame_rejected(self, problem: str) -> None:
        with self.lock:
            self.rejected += 1
            self.last_problem = problem

    def frame_done(self, latency: float, compute: float, objects: int, tracked: int, skipped: int) -> None:
        with self.lock:
            self.processed += 1
            self.tracked_total += tracked
            self.skipped_total += skipped
            self.last_objects, self.last_tracked, self.last_problem = objects, tracked, ""
            self._done.append(time.monotonic())
            self._latency.append(latency)
            self._compute.append(compute)

    def tracks_changed(self, below_min_score: int, lost: int, restarted: int) -> None:
        """A frame's poses not published for their score, tracks ended (tracking.py) and restarted."""
        with self.lock:
            self.below_min_score_total += below_min_score
            self.lost_total += lost
            self.restarted_total += restarted

    def rate(self) -> float:
        """Processed frames per second over the window (0 when idle for 5 s)."""
        with self.lock:
            done = list(self._done)
        if len(done) < 2 or time.monotonic() - done[-1] > 5.0:
            return 0.0
        return (len(done) - 1) / max(done[-1] - done[0], 1e-9)

    def status(self, name: str, hardware_id: str, extra: dict[str, str]) -> DiagnosticStatus:
        rate = self.rate()
        with self.lock:
            latency = np.array(self._latency) * 1e3
            compute = np.array(self._compute) * 1e3
            values = {
                "rate_hz": f"{rate:.2f}",
                "latency_ms_p50": f"{np.percentile(latency, 50):.1f}" if len(latency) else "",
                "latency_ms_max": f"{latency.max():.1f}" if len(latency) else "",
                "compute_ms_p50": f"{np.percentile(compute, 50):.1f}" if len(compute) else "",
                "frames_received": str(self.received),
                "frames_processed": str(self.processed),
                "frames_dropped": str(self.dropped),
                "frames_rejected": str(self.rejected),
                "objects": str(self.last_objects),
                "objects_tracked": str(self.last_tracked),
                "objects_tracked_total": str(self.tracked_total),
                "objects_skipped_total": str(self.skipped_total),
                "objects_below_min_score_total": str(self.below_min_score_total),
                "tracks_lost_total": str(self.lost_total),
                "tracks_restarted_total": str(self.restarted_total),
                "last_problem": self.last_problem,
                **extra,
            }
            problem = self.last_problem
        level = DiagnosticStatus.WARN if problem else DiagnosticStatus.OK
        message = problem or f"{rate:.1f} Hz, {values['objects']} objects, {values['frames_dropped']} dropped"
        return DiagnosticStatus(
            level=level,
            name=name,
            message=message,
            hardware_id=hardware_id,
            values=[KeyValue(key=k, value=v) for k, v in values.items()],
        )


class DiagnosticsPublisher:
    """/diagnostics every `period` seconds: the node's frame statistics, device and model."""

    def __init__(self, node, stats: FrameStats, period: float, device, model: str):
        self.node, self.stats, self.device, self.model = node, stats, device, model
        self.publisher = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.timer = node.create_timer(period, self.publish)

    def publish(self) -> None:
        extra = {"device": str(self.device), "model": str(self.model)}
        if self.device.type == "cuda":
            import torch

            extra["gpu_memory_peak_mb"] = f"{torch.cuda.max_memory_allocated(self.device) / 2**20:.0f}"
        status = self.stats.status(f"{self.node.get_name()}: pose estimation", str(self.device), extra)
        self.publisher.publish(
            DiagnosticArray(header=Header(stamp=self.node.get_clock().now().to_msg()), status=[status])
        )
