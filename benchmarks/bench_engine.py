"""Parameter count and engine latency per frame, single-frame and tracking, with a breakdown.

    .venv/bin/python benchmarks/bench_engine.py [--device cpu|cuda] [--objects 1 5 8 20] [--repeats N]
        [--checkpoint PATH | --untrained]

For each number of objects, one frame of that many objects goes through the engine as
the node runs it: preprocessing (back-projection and 1024-point sampling of every
object in a rendered depth frame), the encoder (all objects in one batch) and the
sampler with the engine's defaults: for new objects 4 steps from the regression head's
pose (`start=auto` with a trained regression head) or 10-step guided DDIM from noise (an
untrained network); when tracking, 4 steps from the previous pose blended with the
regression head's. Prints medians over repeats after a warm-up, and the machine. The
network is the shipped model (or --checkpoint); --untrained, or a checkout without a
model, times an untrained network of the paper's size instead: timings depend on the
architecture (e.g. the encoder's centre counts) and on whether the regression head was
trained (which decides `start`), not on the weights' values.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import model_or_exit  # noqa: E402
from machine import describe_machine  # noqa: E402

from posediff_ros.data.noise import DepthNoise, MaskNoise  # noqa: E402
from posediff_ros.data.render import SceneRenderer, render_frame  # noqa: E402
from posediff_ros.data.scene import SceneConfig, sample_camera, sample_scene  # noqa: E402
from posediff_ros.estimator import PoseEstimator, SamplerSettings  # noqa: E402
from posediff_ros.geometry import REAL275_INTRINSICS  # noqa: E402
from posediff_ros.model import PoseNet, count_parameters  # noqa: E402
from posediff_ros.model.inference import InferenceSettings  # noqa: E402
from posediff_ros.paths import default_model_path  # noqa: E402
from posediff_ros.settings import add_options, described  # noqa: E402
from posediff_ros.tracking import TrackingSettings  # noqa: E402

WARM_UP = 5  # the first calls with a new input shape are much slower on CPU (oneDNN set-up)


def frame_with_objects(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A rendered depth frame and a panoptic mask with `count` object labels.

    Scenes hold up to six objects, so larger counts reuse one frame's objects under new
    labels in side-by-side copies of the image (the work per object is what matters).
    """
    scene = sample_scene(rng, SceneConfig(min_objects=min(count, 6), max_objects=min(count, 6)), "val")
    frame = render_frame(
        SceneRenderer(scene), sample_camera(rng, scene), REAL275_INTRINSICS, rng, DepthNoise(), MaskNoise()
    )
    labels = [i.label for i in frame.instances if np.count_nonzero(frame.labels == i.label) > 100]
    depth_tiles, mask_tiles = [], []
    for copy in range(-(-count // len(labels))):
        mask = np.zeros_like(frame.labels)
        for label in labels[: count - copy * len(labels)]:
            mask[frame.labels == label] = label + 10 * copy  # a distinct instance index per copy
        depth_tiles.append(frame.depth)
        mask_tiles.append(mask)
    return np.concatenate(depth_tiles, axis=1), np.concatenate(mask_tiles, axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--objects", type=int, nargs="+", default=[1, 5, 8, 20])
    parser.add_argument("--repeats", type=int, default=10)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--checkpoint", type=Path, help="default: the shipped model")
    which.add_argument("--untrained", action="store_true", help="an untrained network of the default (paper) size")
    add_options(parser, InferenceSettings)
    args = parser.parse_args()
    inference = InferenceSettings(**{s.name: getattr(args, s.name) for s in described(InferenceSettings)})
    device = torch.device(args.device)

    if args.untrained or (args.checkpoint is None and default_model_path() is None):
        checkpoint, model = None, PoseNet().to(device).eval()
    else:
        model, device, checkpoint = model_or_exit(args.checkpoint, args.device)
    print(f"machine: {describe_machine(device)}")
    print(f"network: {checkpoint or 'untrained, default size'}; encoder centres {model.config.encoder.centres}")
    encoder, score, regression = (count_parameters(m) for m in (model.encoder, model.score_head, model.regression_head))
    print(
        f"parameters: encoder {encoder:,}, score head {score:,}, regression head {regression:,}; "
        f"encoder + score head {encoder + score:,} (paper: 2.2 M)"
    )
    print(
        "\nmedian ms per frame; preprocess = back-projection + point sampling of all objects; "
        "confidence = the score's noise-started samples (with a calibrated checkpoint)"
    )
    print(
        f"{'objects':>7} {'mode':<8} {'preprocess':>10} {'encoder':>8} {'sampler':>8} {'confidence':>10} "
        f"{'total':>8} {'FPS':>7}"
    )
    # The node's defaults, with the checkpoint's confidence calibration as the node loads it;
    # every repeat of the same frame stays a track (no jump, no re-check, no loss by score).
    options = dict(settings=SamplerSettings(), inference=inference)
    follow = TrackingSettings(max_jump=np.inf, recheck_angle=180.0)
    if checkpoint is None:
        estimator = PoseEstimator(model, device=device, tracking=follow, **options)
    else:
        estimator = PoseEstimator.from_checkpoint(
            checkpoint, device, tracking=replace(follow, lose_score=0.0), **options
        )
    estimator.warm_up()
    rng = np.random.default_rng(0)
    for count in args.objects:
        depth, mask = frame_with_objects(count, rng)
        K = REAL275_INTRINSICS
        intrinsics = type(K)(K.fx, K.fy, K.cx, K.cy, depth.shape[1], depth.shape[0])
        for mode, track in (("single", False), ("tracking", True)):
            estimator.reset_tracks()
            timings: dict[str, list[float]] = {}
            for i in range(WARM_UP + args.repeats):
                result = estimator.estimate(depth, mask, intrinsics, track=track)
                if track and i > 0:
                    assert all(o.tracked for o in result.objects), "tracking did not engage"
                if i >= WARM_UP:
                    for key, value in result.timings.items():
                        timings.setdefault(key, []).append(1000 * value)
            assert len(result.objects) == count, f"{len(result.objects)} of {count} objects estimated"
            ms = {key: statistics.median(values) for key, values in timings.items()}
            print(
                f"{count:>7} {mode:<8} {ms['preprocess']:>10.1f} {ms['encoder']:>8.1f} {ms['sampler']:>8.1f} "
                f"{ms.get('confidence', 0.0):>10.1f} {ms['total']:>8.1f} {1000 / ms['total']:>7.1f}"
            )


if __name__ == "__main__":
    main()
