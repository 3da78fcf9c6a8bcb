"""Synthetic-data speed: rendered frames/s and streamed training samples/s.

Usage: .venv/bin/python benchmarks/bench_data.py [--seconds 10] [--batch 192]

Frames: full 640x480 REAL275 frames (ray casting, sensor and mask noise, annotation), with
and without writing the PNG/JSON files. Samples: SyntheticPoseStream in this process, and
through a DataLoader with 2 workers at the training batch size.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe_machine  # noqa: E402

from posediff_ros.data.generate import generate_scene  # noqa: E402
from posediff_ros.data.render import SceneRenderer, render_frame  # noqa: E402
from posediff_ros.data.scene import sample_camera, sample_scene  # noqa: E402
from posediff_ros.data.stream import SyntheticPoseStream  # noqa: E402
from posediff_ros.geometry import REAL275_INTRINSICS  # noqa: E402


def frames_per_second(seconds: float) -> tuple[float, float]:
    """(ray casting only, full frame with noise and annotation) per second, 640x480."""
    rng = np.random.default_rng(0)
    render_time = frame_time = 0.0
    frames = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        scene = sample_scene(rng)
        renderer = SceneRenderer(scene)
        camera = sample_camera(rng, scene)
        t0 = time.perf_counter()
        renderer.render(camera, REAL275_INTRINSICS)
        t1 = time.perf_counter()
        render_frame(renderer, camera, REAL275_INTRINSICS, rng)
        t2 = time.perf_counter()
        render_time, frame_time, frames = render_time + t1 - t0, frame_time + t2 - t1, frames + 1
    return frames / render_time, frames / frame_time


def written_frames_per_second(scenes: int = 4, frames: int = 5) -> float:
    """generate_dataset throughput: frames/s including scene set-up and file writing."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        for i in range(scenes):
            generate_scene(out, i, frames, seed=0, split="train")
        return scenes * frames / (time.perf_counter() - start)


def stream_samples_per_second(seconds: float) -> tuple[float, float]:
    """(samples/s, mean distinct points per sample) of the stream in this process."""
    it = iter(SyntheticPoseStream(seed=0))
    next(it)
    samples = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        samples.append(next(it))
    rate = len(samples) / (time.perf_counter() - start)
    return rate, float(np.mean([len(torch.unique(s["points"], dim=0)) for s in samples]))


def loader_samples_per_second(seconds: float, batch: int, workers: int) -> float:
    loader = DataLoader(SyntheticPoseStream(seed=0), batch_size=batch, num_workers=workers, prefetch_factor=4)
    it = iter(loader)
    for _ in range(workers):  # wait until every worker is up
        next(it)
    n = 0
    start = time.perf_counter()
    for batch_ in itertools.takewhile(lambda _: time.perf_counter() - start < seconds, it):
        n += len(batch_["points"])
    return n / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0, help="measuring time per item")
    p.add_argument("--batch", type=int, default=192)
    args = p.parse_args()
    print(f"machine: {describe_machine(torch.device('cpu'))}")
    cast, full = frames_per_second(args.seconds)
    print(
        f"frames 640x480: ray casting {cast:.1f} frames/s, with noise + annotation {full:.1f} frames/s, "
        f"generate_dataset (incl. PNG/JSON writing) {written_frames_per_second():.1f} frames/s"
    )
    single, distinct = stream_samples_per_second(args.seconds)
    print(
        f"training samples, 1 process (no DataLoader): {single:.0f} samples/s "
        f"({distinct:.0f} distinct of 1024 points per sample on average)"
    )
    two = loader_samples_per_second(args.seconds, args.batch, workers=2)
    batches = two / args.batch
    print(f"training samples, DataLoader 2 workers, batch {args.batch}: {two:.0f} samples/s = {batches:.2f} batches/s")


if __name__ == "__main__":
    main()
