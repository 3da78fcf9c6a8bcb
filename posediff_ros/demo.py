"""`demo`: the engine on a freshly rendered synthetic scene, without ROS.

Renders one scene of unseen (validation-split) objects along a short camera trajectory,
estimates every object's pose in each frame (tracking from the second frame on) and
prints the estimates beside the ground truth. This is also the shortest example of
using the engine from Python. The scenes are made of the checkpoint's categories
(docs/conventions.md §1): the NOCS ones from their procedural shapes, any other from the
meshes of `--meshes DIR` (docs/conventions.md §2.1).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from .categories import CategoryTable
from .checkpoint import CheckpointError, checkpoint_file
from .data.noise import DepthNoise, MaskNoise
from .data.render import SceneRenderer, render_frame
from .data.scene import SceneConfig, camera_trajectory, sample_scene
from .data.shapes import Shape, load_category_meshes
from .estimator import PoseEstimator, SamplerSettings
from .geometry import REAL275_INTRINSICS
from .labels import split_panoptic_label
from .metrics import pose_errors
from .model import PoseNet
from .model.inference import InferenceSettings
from .settings import add_options, described
from .symmetry import SymmetryBatch, instance_symmetry

SAMPLER_OPTIONS = ("steps", "num_samples", "scaling", "start")


def scene_source(categories: CategoryTable, meshes: str | None, scale: float) -> tuple[SceneConfig, dict | None]:
    """Scenes of the table's categories and the user meshes they need; exits when a category
    has neither a procedural generator nor meshes, or a mesh is unusable."""
    try:
        library: dict[str, list[Shape]] | None = load_category_meshes(categories, meshes, scale)
    except ValueError as error:
        sys.exit(f"demo: {error}")
    return SceneConfig(table=categories), library


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="demo", description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="model file (default: the shipped models/posediff_default.pt)")
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--meshes", help="DIR/<category>/*.obj|ply|stl for categories without procedural shapes")
    parser.add_argument("--mesh-scale", type=float, default=1.0, help="mesh file units to metres")
    add_options(parser, SamplerSettings, SAMPLER_OPTIONS, flags={"num_samples": "--samples"})
    add_options(parser, InferenceSettings)
    args = parser.parse_args(argv)

    settings = SamplerSettings(**{name: getattr(args, name) for name in SAMPLER_OPTIONS})
    inference = InferenceSettings(**{s.name: getattr(args, s.name) for s in described(InferenceSettings)})
    try:
        checkpoint = checkpoint_file(args.checkpoint, "--checkpoint")
    except CheckpointError as error:  # the demo still shows the whole pipeline before any model is trained
        print(
            f"warning: {error}; using an UNTRAINED network, so the poses below are random. "
            "Train one with `train` or pass --checkpoint.",
            file=sys.stderr,
        )
        estimator = PoseEstimator(PoseNet(), settings=settings, inference=inference, seed=args.seed)
    else:
        try:
            estimator = PoseEstimator.from_checkpoint(
                checkpoint, device=args.device, settings=settings, inference=inference, seed=args.seed
            )
        except CheckpointError as error:
            sys.exit(f"demo: {error}")
        print(f"model: {checkpoint} on {estimator.device}")

    config, library = scene_source(estimator.categories, args.meshes, args.mesh_scale)
    rng = np.random.default_rng(args.seed)
    scene = sample_scene(rng, config, split="val", library=library)
    renderer = SceneRenderer(scene)
    for index, camera in enumerate(camera_trajectory(rng, scene, args.frames, config)):
        frame = render_frame(renderer, camera, REAL275_INTRINSICS, rng, DepthNoise(), MaskNoise())
        result = estimator.estimate(frame.depth, frame.labels, REAL275_INTRINSICS)
        truth = {i.label: i for i in frame.instances}
        print(f"\nframe {index}: {len(result.objects)} objects in {1000 * result.timings['total']:.0f} ms")
        print(f"{'label':>6} {'category':<8} {'mode':<6} {'t estimated (m)':<24} {'t true (m)':<24}", end="")
        print(f" {'rot err':>8} {'cm err':>7}")
        for o in result.objects:
            gt = truth[o.label]
            symmetry = instance_symmetry(estimator.categories.by_name(o.category).symmetry, gt.symmetric)
            rotation, translation = pose_errors(
                o.R[None], o.t[None], gt.R[None], gt.t[None], SymmetryBatch.of([symmetry])
            )
            mode = "track" if o.tracked else "single"
            print(
                f"{o.label:>6} {o.category:<8} {mode:<6} {np.array2string(o.t, precision=3):<24} "
                f"{np.array2string(np.asarray(gt.t), precision=3):<24} {rotation[0]:>7.1f}° {translation[0]:>7.1f}"
            )
        for s in result.skipped:
            category_id, _ = split_panoptic_label(s.label)
            category = estimator.categories.by_id(category_id).name if category_id in estimator.categories else "?"
            print(f"{s.label:>6} {category:<8} skipped: {s.reason}")


if __name__ == "__main__":
    main()
