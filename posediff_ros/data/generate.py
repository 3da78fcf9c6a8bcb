"""`generate_dataset`: write synthetic scenes in the layout of docs/conventions.md §6.

Every scene draws all of its randomness from `np.random.default_rng([seed, split code,
scene index])`, so a dataset is byte-identical for the same arguments, and any scene can
be regenerated alone. The scenes hold the categories of a table (`--categories`, default
NOCS), written beside them as categories.yaml; names without a procedural generator take
their shapes from `--meshes` (docs/conventions.md §2.1).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..categories import NOCS_CATEGORIES, CategoryTable, load_category_table
from ..geometry import REAL275_INTRINSICS, Intrinsics
from .layout import scene_dir, write_dataset_categories, write_frame
from .noise import DepthNoise, MaskNoise
from .overview import save_overview
from .render import SceneRenderer, render_frame
from .scene import SceneConfig, add_occluders, camera_trajectory, sample_scene
from .shapes import SPLITS, load_category_meshes


def scene_rng(seed: int, split: str, scene_index: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLITS.index(split), scene_index])


def generate_scene(
    out: str | Path,
    scene_index: int,
    frames: int,
    seed: int,
    split: str,
    intrinsics: Intrinsics = REAL275_INTRINSICS,
    config: SceneConfig = SceneConfig(),
    depth_noise: DepthNoise = DepthNoise(),
    mask_noise: MaskNoise = MaskNoise(),
    overview: bool = False,
    library: dict | None = None,
) -> Path:
    """Render one scene's camera trajectory into out/scene_XXX/; returns that folder."""
    rng = scene_rng(seed, split, scene_index)
    scene = sample_scene(rng, config, split, library)
    cameras = camera_trajectory(rng, scene, frames, config, intrinsics)
    renderer = SceneRenderer(add_occluders(rng, scene, cameras[:1], config))  # occluding in the first frame
    directory = scene_dir(out, scene_index)
    for index, camera in enumerate(cameras):
        frame = render_frame(renderer, camera, intrinsics, rng, depth_noise, mask_noise)
        write_frame(directory, index, frame.depth, frame.labels, intrinsics, frame.instances)
        if overview and index == 0:
            save_overview(
                directory / f"{index:04d}_overview.png",
                frame.depth,
                frame.labels,
                intrinsics,
                frame.instances,
                config.table,
            )
    return directory


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="generate_dataset", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="output folder (scene_XXX/ are created in it)")
    p.add_argument("--scenes", type=int, default=10)
    p.add_argument("--frames", type=int, default=1, help="frames per scene (one smooth camera trajectory)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--split",
        choices=SPLITS,
        default="train",
        help="val/test: held-out shape proportions; family: only the held-out family of each category",
    )
    p.add_argument("--overview", type=int, default=0, metavar="N", help="save an overview PNG for the first N scenes")
    p.add_argument("--width", type=int, default=REAL275_INTRINSICS.width)
    p.add_argument("--height", type=int, default=REAL275_INTRINSICS.height)
    p.add_argument(
        "--intrinsics",
        type=float,
        nargs=4,
        metavar=("FX", "FY", "CX", "CY"),
        help="default: REAL275, scaled to --width/--height",
    )
    p.add_argument("--no-depth-noise", action="store_true")
    p.add_argument("--no-mask-noise", action="store_true")
    p.add_argument("--distractor-prob", type=float, default=SceneConfig.distractor_prob)
    p.add_argument(
        "--truncation-prob",
        type=float,
        default=SceneConfig.truncation_prob,
        help="chance that a scene's camera is aimed so that an object is cut by the image border",
    )
    p.add_argument(
        "--occluder-prob",
        type=float,
        default=SceneConfig.occluder_prob,
        help="chance of an occluder in front of an object in a scene's first frame",
    )
    p.add_argument(
        "--dense-prob", type=float, default=SceneConfig.dense_prob, help="chance that a scene packs its objects closely"
    )
    p.add_argument(
        "--categories",
        type=Path,
        help="category table YAML (like config/nocs_categories.yaml); default: the NOCS table",
    )
    p.add_argument(
        "--meshes",
        type=Path,
        help="user meshes: DIR/<category>/*.obj|ply|stl in canonical orientation; needed for "
        "categories without a procedural generator",
    )
    p.add_argument("--mesh-scale", type=float, default=1.0, help="user mesh units to metres")
    p.add_argument(
        "--mesh-prob",
        type=float,
        default=SceneConfig.user_mesh_prob,
        help="chance to use a user mesh for a category that has some",
    )
    return p


def _intrinsics(args: argparse.Namespace) -> Intrinsics:
    if args.intrinsics:
        return Intrinsics(*args.intrinsics, args.width, args.height)
    s = args.width / REAL275_INTRINSICS.width
    base = REAL275_INTRINSICS
    return Intrinsics(base.fx * s, base.fy * s, base.cx * s, base.cy * s, args.width, args.height)


def _categories(args: argparse.Namespace) -> tuple[CategoryTable, dict | None]:
    """The category table and the user meshes for it; ValueError saying what is wrong."""
    table = load_category_table(args.categories) if args.categories else NOCS_CATEGORIES
    return table, load_category_meshes(table, args.meshes, args.mesh_scale)


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    intrinsics = _intrinsics(args)
    try:
        table, library = _categories(args)
    except ValueError as error:
        parser.error(str(error))
    config = SceneConfig(
        table=table,
        distractor_prob=args.distractor_prob,
        user_mesh_prob=args.mesh_prob,
        truncation_prob=args.truncation_prob,
        occluder_prob=args.occluder_prob,
        dense_prob=args.dense_prob,
    )
    write_dataset_categories(args.out, table)
    depth_noise = DepthNoise(enabled=not args.no_depth_noise)
    mask_noise = MaskNoise(enabled=not args.no_mask_noise)
    for i in tqdm(range(args.scenes), desc=f"{args.split} scenes", unit="scene"):
        generate_scene(
            args.out,
            i,
            args.frames,
            args.seed,
            args.split,
            intrinsics,
            config,
            depth_noise,
            mask_noise,
            overview=i < args.overview,
            library=library,
        )


if __name__ == "__main__":
    main()
