"""Load benchmark of the estimator node: N objects at M Hz for T seconds, over DDS.

Starts the node as its own process (as a user runs it), publishes pre-rendered synthetic
frames (depth 16UC1, panoptic mask, camera info) with fresh stamps at the set rate, and
prints end-to-end latency percentiles (stamp -> /object_poses received), processed and
dropped frames, the node's CPU use and peak memory (RSS; GPU memory from its
/diagnostics when it runs on CUDA).

    .venv/bin/python benchmarks/bench_node_load.py --objects 4 --rate 10 --duration 30
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
# 640x480 images need the bigger shared-memory segment in the publishing process (README).
os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(REPO / "config" / "fastdds_shm.xml"))


def render_frames(objects: int, count: int, width: int, height: int, seed: int):
    """`count` consecutive frames of a scene with exactly `objects` visible objects."""
    from posediff_ros.data.render import SceneRenderer, render_frame
    from posediff_ros.data.scene import SceneConfig, camera_trajectory, sample_scene
    from posediff_ros.geometry import REAL275_INTRINSICS, Intrinsics

    s = width / REAL275_INTRINSICS.width
    k = REAL275_INTRINSICS
    intrinsics = Intrinsics(k.fx * s, k.fy * s, k.cx * s, k.cy * s, width, height)
    config = SceneConfig(min_objects=objects, max_objects=objects, distance=(0.5, 0.8))
    for attempt in range(100):
        rng = np.random.default_rng([seed, attempt])
        scene = sample_scene(rng, config, "test")
        renderer = SceneRenderer(scene)
        frames = [render_frame(renderer, c, intrinsics, rng) for c in camera_trajectory(rng, scene, count, config)]
        if all(len(f.instances) == objects for f in frames):
            return intrinsics, frames
    raise RuntimeError(f"no scene with {objects} objects visible in all frames; try fewer objects")


def process_stats(pid: int) -> tuple[float, float]:
    """(CPU seconds used, peak RSS in MiB) of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    status = Path(f"/proc/{pid}/status").read_text()
    peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return cpu, peak / 1024


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--objects", type=int, default=4)
    p.add_argument("--rate", type=float, default=10.0, help="input frames per second")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of input")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--model",
        default="",
        help="checkpoint (default: the shipped model, else an untrained one: the compute is the same)",
    )
    p.add_argument("--param", action="append", default=[], metavar="NAME:=VALUE", help="extra node parameter")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import CameraInfo, Image
    from std_msgs.msg import Header
    from vision_msgs.msg import Detection3DArray

    from posediff_ros.checkpoint import save_checkpoint
    from posediff_ros.model import PoseNet
    from posediff_ros.paths import default_model_path
    from posediff_ros.ros.images import array_to_image, intrinsics_to_camera_info

    model = args.model or default_model_path()
    untrained = []
    if model is None:
        model = Path(tempfile.mkdtemp()) / "untrained.pt"
        save_checkpoint(model, PoseNet())
        # Random poses jump by metres and would never be tracked; a large gate lets tracking
        # engage as with a trained model, so the compute is what a trained model costs.
        untrained = ["-p", "max_jump:=100.0"]
        print(f"no shipped model: using an untrained network ({model}) with max_jump:=100; the compute is the same")
    intrinsics, frames = render_frames(args.objects, 30, args.width, args.height, args.seed)
    frames = frames + frames[-2:0:-1]  # there and back: the objects move smoothly, tracks stay alive
    images = [(np.rint(f.depth * 1000).astype(np.uint16), f.labels.astype(np.uint16)) for f in frames]

    ros_args = [
        "-p",
        f"model_path:={model}",
        "-p",
        f"device:={args.device}",
        "-p",
        "diagnostics_period:=0.5",
        "-r",
        "depth:=/bench/depth",
        "-r",
        "mask:=/bench/mask",
        "-r",
        "camera_info:=/bench/camera_info",
        "-r",
        "object_poses:=/bench/object_poses",
        *untrained,
    ]
    for extra in args.param:
        ros_args += ["-p", extra]
    node_process = subprocess.Popen(
        [sys.executable, "-m", "posediff_ros.ros.node", "--ros-args", *ros_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    ready = threading.Event()
    log: list[str] = []

    def read_log():
        for line in node_process.stdout:
            log.append(line.rstrip())
            ready.set() if "ready:" in line else None

    threading.Thread(target=read_log, daemon=True).start()
    rclpy.init()
    executor = SingleThreadedExecutor()
    try:
        if not ready.wait(120) or node_process.poll() is not None:
            print("the node did not start:\n" + "\n".join(log[-20:]), file=sys.stderr)
            return 1
        node = rclpy.create_node("posediff_bench_load")
        depth_pub = node.create_publisher(Image, "/bench/depth", qos_profile_sensor_data)
        mask_pub = node.create_publisher(Image, "/bench/mask", qos_profile_sensor_data)
        info_pub = node.create_publisher(CameraInfo, "/bench/camera_info", qos_profile_sensor_data)
        latencies: list[float] = []
        diagnostics: dict[str, str] = {}
        node.create_subscription(
            Detection3DArray,
            "/bench/object_poses",
            lambda m: latencies.append(
                (node.get_clock().now().nanoseconds - m.header.stamp.sec * 10**9 - m.header.stamp.nanosec) * 1e-9
            ),
            100,
        )
        node.create_subscription(
            DiagnosticArray,
            "/diagnostics",
            lambda m: diagnostics.update(
                {kv.key: kv.value for s in m.status if s.name.startswith("posediff_estimator") for kv in s.values}
            ),
            10,
        )
        executor.add_node(node)
        threading.Thread(target=executor.spin, daemon=True).start()
        deadline = time.monotonic() + 30
        while depth_pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.1)

        cpu_start, _ = process_stats(node_process.pid)
        start = time.monotonic()
        published = 0
        while time.monotonic() - start < args.duration:
            depth, labels = images[published % len(images)]
            header = Header(stamp=node.get_clock().now().to_msg(), frame_id="camera_depth_optical_frame")
            info_pub.publish(intrinsics_to_camera_info(intrinsics, header))
            depth_pub.publish(array_to_image(depth, "16UC1", header))
            mask_pub.publish(array_to_image(labels, "16UC1", header))
            published += 1
            time.sleep(max(0.0, start + published / args.rate - time.monotonic()))
        time.sleep(3.0)  # the last frame and a diagnostics message
        cpu_end, rss_peak = process_stats(node_process.pid)
        elapsed = time.monotonic() - start

        lat = np.array(latencies) * 1e3
        print(
            f"\nobjects {args.objects}, {args.width}x{args.height}, {args.rate:g} Hz for {args.duration:g} s, "
            f"device {diagnostics.get('device', args.device)}, {os.cpu_count()} CPU cores"
        )
        print(
            f"frames: published {published}, processed {len(latencies)} ({len(latencies) / args.duration:.2f} Hz), "
            f"dropped by the node {diagnostics.get('frames_dropped', '?')}, "
            f"lost before the node {published - int(diagnostics.get('frames_received', published))}"
        )
        if len(lat):
            print(
                "end-to-end latency ms: "
                + ", ".join(f"p{q} {np.percentile(lat, q):.0f}" for q in (50, 90, 99))
                + f", max {lat.max():.0f}; node compute p50 {diagnostics.get('compute_ms_p50', '?')} ms"
            )
        print(
            f"node process: {(cpu_end - cpu_start) / elapsed:.2f} CPU cores busy on average, peak RSS "
            f"{rss_peak:.0f} MiB"
            + (
                f", peak GPU memory {diagnostics['gpu_memory_peak_mb']} MiB"
                if "gpu_memory_peak_mb" in diagnostics
                else ""
            )
        )
        return 0
    finally:
        executor.shutdown(timeout_sec=2)
        rclpy.try_shutdown()
        node_process.kill()
        node_process.wait()


if __name__ == "__main__":
    sys.exit(main())
