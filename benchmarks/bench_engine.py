"""Parameter count and engine latency: encoder pass, 10-step DDIM, tracking, whole frames.

    .venv/bin/python benchmarks/bench_engine.py [--device cpu|cuda] [--repeats N]

Prints medians over repeats after a warm-up, and the machine it ran on. The network is
untrained (timings do not depend on the weights).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe_machine  # noqa: E402

from posediff_ros.estimator import PoseEstimator, SamplerSettings  # noqa: E402
from posediff_ros.geometry import centre_points  # noqa: E402
from posediff_ros.model import PoseNet, count_parameters  # noqa: E402


def median_ms(fn, repeats: int, device: torch.device) -> float:
    for _ in range(5):  # warm-up: the first calls of a new shape are much slower on CPU (oneDNN set-up)
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    device = torch.device(args.device)

    model = PoseNet().to(device).eval()
    print(f"machine: {describe_machine(device)}")
    print(
        f"parameters: encoder {count_parameters(model.encoder):,}, score head {count_parameters(model.score_head):,}, "
        f"regression head {count_parameters(model.regression_head):,}; encoder + score head "
        f"{count_parameters(model.encoder) + count_parameters(model.score_head):,} (paper: 2.2 M)"
    )

    rng = np.random.default_rng(0)
    print(f"{'objects':>7} {'encoder ms':>10} {'DDIM-10 ms':>10} {'track-4 ms':>10} {'frame ms':>9} {'frame FPS':>9}")
    for objects in (1, 8):
        clouds = (rng.normal(size=(objects, 1024, 3)) * 0.04 + [0, 0, 0.7]).astype(np.float32)
        points = torch.as_tensor(clouds, device=device)
        estimator = PoseEstimator(model, device=device, settings=SamplerSettings())
        with torch.no_grad():
            encoder = median_ms(lambda: model.encode(centre_points(points)[0]), args.repeats, device)
            feature = model.encode(centre_points(points)[0])
            ddim = median_ms(lambda: estimator.sample(feature, None, 0.55, 10), args.repeats, device)
            start_pose = torch.zeros(objects, 9, device=device)
            track = median_ms(lambda: estimator.sample(feature, start_pose, 0.15, 4), args.repeats, device)
        frame = median_ms(lambda: estimator.estimate_points(clouds), args.repeats, device)
        print(f"{objects:>7} {encoder:>10.1f} {ddim:>10.1f} {track:>10.1f} {frame:>9.1f} {1000 / frame:>9.1f}")
    print("frame = encoder + 10-step DDIM for every object in one batch (single-frame mode, K = 1)")


if __name__ == "__main__":
    main()
