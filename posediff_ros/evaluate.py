"""`evaluate`: pose accuracy of a checkpoint on a dataset, with ground-truth masks.

Every frame goes through `PoseEstimator.estimate` with its ground-truth instance labels;
each ground-truth instance is matched to the estimate of the same label. Category ids are
those of the checkpoint's category table (docs/conventions.md §1), and the accuracy is
reported per category of that table. Instances the engine skipped (too few valid depth
points, ...) count as failures (180°, inf cm) and are listed. Prints the metrics table of
docs/conventions.md §7; optionally writes it as JSON with the settings and speed, one JSON
line per instance, and plots.

    evaluate --data DIR [--checkpoint PATH] [--tracking] [--json FILE] [--plots DIR]
    evaluate --data DIR --mask-source detections --box-jitter 4,0.08   (boxes, posediff_ros/segment)
    evaluate --data DIR --mask-source semantic                         (class-per-pixel images)
    evaluate --nocs ROOT --nocs-split real_test ...
    evaluate --housecat6d ROOT [--housecat6d-split test] ...
    evaluate --omni6dpose ROOT [--omni6dpose-split rope] ...   (adds VUS@n°m cm, posediff_ros/vus.py)
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from .categories import CategoryTable
from .checkpoint import CheckpointError, checkpoint_file
from .data.sources import open_dataset
from .estimator import FrameEstimate, PoseEstimator, SamplerSettings
from .geometry import rotation_6d_columns_to_matrix
from .metrics import (
    accuracy_table,
    confidence_summary,
    error_pose_changes,
    format_table,
    jitter_table,
    pose_errors,
)
from .model.inference import InferenceSettings
from .plots import plot_accuracy_curves, plot_jitter, plot_reliability, plot_rotation_samples
from .segment.simulated import MASK_SOURCES, BoxJitter, SimulatedSource
from .settings import add_options, described
from .symmetry import Symmetry, SymmetryBatch, instance_symmetry
from .tracking import TrackingSettings
from .vus import format_vus_table, vus_table

SKIPPED_ROTATION_DEG = 180.0
SKIPPED_TRANSLATION_CM = math.inf
PLOT_SAMPLES = 50
FAILURE_PICTURES = 8
TRACKING_OPTIONS = ("recheck_angle", "track_blend", "lose_score")
"""The tracking settings that are options (tracks follow labels here: the ground truth is matched by label)."""


@dataclass
class InstanceResult:
    """One ground-truth instance and the estimate matched to it (None where skipped)."""

    scene: str
    frame: int
    label: int
    category: str
    symmetric: bool
    R: np.ndarray | None  # (3, 3) estimated object -> camera
    t: np.ndarray | None  # (3,) metres, camera frame
    size: np.ndarray | None  # (3,) metres
    rotation_error_deg: float
    translation_error_cm: float
    tracked: bool
    skipped: str | None  # why the engine gave no pose
    score: float | None = None  # the engine's P(within 10°5cm); None without a calibration or a pose
    R_true: np.ndarray | None = None  # (3, 3) the ground truth, for the tracking jitter
    t_true: np.ndarray | None = None  # (3,)

    def as_json(self) -> dict:
        def rows(a):
            return None if a is None else np.asarray(a, float).tolist()

        return {
            "scene": self.scene,
            "frame": self.frame,
            "label": self.label,
            "category": self.category,
            "symmetric": self.symmetric,
            "R": rows(self.R),
            "t": rows(self.t),
            "size": rows(self.size),
            "rotation_error_deg": self.rotation_error_deg,
            "translation_error_cm": self.translation_error_cm,
            "tracked": self.tracked,
            "skipped": self.skipped,
            "score": self.score,
        }


class CategoryMismatch(ValueError):
    """The dataset has a category id that the checkpoint's category table lacks."""


def category_name(frame, instance, categories: CategoryTable) -> str:
    """The name of a ground-truth instance's category; CategoryMismatch naming the id, the frame
    and the table's ids when the table lacks it."""
    if instance.category not in categories:
        known = ", ".join(f"{c.id} {c.name}" for c in categories)
        raise CategoryMismatch(
            f"{frame.scene}:{frame.index}:{instance.label} has category id {instance.category}, which the "
            f"checkpoint's category table lacks (its ids: {known}); evaluate a checkpoint trained on "
            "this dataset's categories"
        )
    return categories.by_id(instance.category).name


def truth_symmetry(frame, instance, categories: CategoryTable) -> Symmetry:
    """An instance's symmetry: its own where the dataset annotates one per object (Omni6DPose),
    else its category's; its `symmetric` flag adds continuous symmetry about +y (docs/conventions.md §7)."""
    own = getattr(instance, "symmetry", None)
    category = categories.by_name(category_name(frame, instance, categories))
    return instance_symmetry(own if own is not None else category.symmetry, bool(instance.symmetric))


def score_frame(frame, estimate: FrameEstimate, categories: CategoryTable) -> list[InstanceResult]:
    """Match a frame's ground-truth instances to `estimate` by label and compute their errors.

    frame: a data.layout.Frame (its `instances` carry label, category id, R, t, size,
    symmetric); categories: the table its ids are looked up in. A ground-truth instance
    without an estimated object is a failure, with the engine's reason (or "label not in the
    mask" when the engine never saw it). Raises CategoryMismatch for an id the table lacks.
    """
    estimated = {o.label: o for o in estimate.objects}
    reasons = {s.label: s.reason for s in estimate.skipped}
    found = [inst for inst in frame.instances if inst.label in estimated]
    errors = {}
    if found:
        rotation, translation = pose_errors(
            np.stack([estimated[i.label].R for i in found]),
            np.stack([estimated[i.label].t for i in found]),
            np.stack([i.R for i in found]),
            np.stack([i.t for i in found]),
            SymmetryBatch.of([truth_symmetry(frame, i, categories) for i in found]),
        )
        errors = {i.label: (float(r), float(c)) for i, r, c in zip(found, rotation, translation, strict=True)}
    results = []
    for inst in frame.instances:
        common = dict(
            scene=frame.scene,
            frame=frame.index,
            label=int(inst.label),
            category=category_name(frame, inst, categories),
            symmetric=bool(inst.symmetric),
            R_true=np.asarray(inst.R),
            t_true=np.asarray(inst.t),
        )
        if inst.label in estimated:
            o = estimated[inst.label]
            rotation_deg, translation_cm = errors[inst.label]
            results.append(
                InstanceResult(
                    **common,
                    R=o.R,
                    t=o.t,
                    size=o.size,
                    rotation_error_deg=rotation_deg,
                    translation_error_cm=translation_cm,
                    tracked=o.tracked,
                    skipped=None,
                    score=o.score,
                )
            )
        else:
            reason = reasons.get(inst.label, "label not in the mask")
            results.append(
                InstanceResult(
                    **common,
                    R=None,
                    t=None,
                    size=None,
                    rotation_error_deg=SKIPPED_ROTATION_DEG,
                    translation_error_cm=SKIPPED_TRANSLATION_CM,
                    tracked=False,
                    skipped=reason,
                )
            )
    return results


def confidence_results(results: list[InstanceResult]) -> dict | None:
    """metrics.confidence_summary of the scored instances (skipped ones have no score, and are
    left out); None when the engine gave no scores (a checkpoint without a calibration)."""
    scored = [r for r in results if r.score is not None]
    if not scored:
        return None
    return confidence_summary(
        np.array([r.score for r in scored]),
        np.array([r.rotation_error_deg for r in scored]),
        np.array([r.translation_error_cm for r in scored]),
    )


def jitter_changes(results: list[InstanceResult], categories: CategoryTable) -> tuple[np.ndarray, np.ndarray, list]:
    """The frame-to-frame changes of every object's pose error (metrics.error_pose_changes) over
    consecutive estimated frames of its scene: rotation (N,) °, translation (N,) mm, categories (N,).
    An instance's symmetry is its category's, with the `symmetric` flag (docs/conventions.md §7)."""
    runs: list[list[InstanceResult]] = []  # consecutive estimated frames of one object
    estimated = sorted((r for r in results if r.skipped is None), key=lambda r: (r.scene, r.label, r.frame))
    for r in estimated:
        last = runs[-1][-1] if runs else None
        if last is not None and (last.scene, last.label, last.frame + 1) == (r.scene, r.label, r.frame):
            runs[-1].append(r)
        else:
            runs.append([r])
    rotation, translation, names = [], [], []
    for run in runs:
        if len(run) > 1:
            symmetry = instance_symmetry(categories.by_name(run[0].category).symmetry, run[0].symmetric)
            r_change, t_change = error_pose_changes(
                np.stack([r.R for r in run]),
                np.stack([r.t for r in run]),
                np.stack([r.R_true for r in run]),
                np.stack([r.t_true for r in run]),
                SymmetryBatch.of([symmetry] * len(run)),
            )
            rotation.append(r_change)
            translation.append(t_change)
            names += [run[0].category] * len(r_change)
    if not names:
        return np.zeros(0), np.zeros(0), []
    return np.concatenate(rotation), np.concatenate(translation), names


def results_table(results: list[InstanceResult]) -> dict:
    """metrics.accuracy_table of all instances (skipped ones included as failures)."""
    return accuracy_table(
        np.array([r.rotation_error_deg for r in results]),
        np.array([r.translation_error_cm for r in results]),
        [r.category for r in results],
    )


@dataclass
class Evaluation:
    """The scored instances of a run and the time spent inside estimate()."""

    results: list[InstanceResult] = field(default_factory=list)
    frames: int = 0
    objects: int = 0  # objects the engine returned a pose for
    seconds: float = 0.0  # time inside estimate() only
    positions: dict[tuple[str, int], int] = field(default_factory=dict)  # (scene, frame) -> index in the frames

    def speed(self) -> dict:
        per_second = (lambda n: n / self.seconds) if self.seconds > 0 else (lambda n: None)
        return {
            "frames": self.frames,
            "objects": self.objects,
            "estimate_seconds": self.seconds,
            "fps": per_second(self.frames),
            "objects_per_second": per_second(self.objects),
        }


def evaluate_frames(
    estimator: PoseEstimator,
    frames: Sequence,
    *,
    tracking: bool,
    categories: CategoryTable | None = None,
    source: SimulatedSource | None = None,
) -> Evaluation:
    """Run the engine over `frames` (data.layout.Frame items, in scene order) and score them.

    `categories` (default: the estimator's table) names the ground truth's ids. `source`
    makes each frame's labels from its ground-truth mask as a detector's boxes or a class map
    would give them (outside the timed estimate()); None: the ground-truth mask. With
    `tracking`, consecutive frames of a scene are tracked and tracks are reset whenever the
    scene changes. The first frame is also run once untimed beforehand, so that one-off
    costs (CUDA context, kernel selection, allocator) stay out of the speed.
    """
    evaluation = Evaluation()
    categories = estimator.categories if categories is None else categories
    if len(frames) == 0:
        return evaluation
    first = frames[0]
    estimator.estimate(first.depth, first.mask, first.intrinsics, track=False)
    estimator.reset_tracks()
    scene = None
    for i in tqdm(range(len(frames)), desc="evaluate", unit="frame"):
        frame = frames[i]
        if frame.scene != scene:
            estimator.reset_tracks()
            scene = frame.scene
        labels = frame.mask if source is None else source.labels(frame)
        start = time.perf_counter()
        estimate = estimator.estimate(frame.depth, labels, frame.intrinsics, track=tracking)
        evaluation.seconds += time.perf_counter() - start
        evaluation.frames += 1
        evaluation.objects += len(estimate.objects)
        evaluation.positions[(frame.scene, frame.index)] = i
        evaluation.results.extend(score_frame(frame, estimate, categories))
    return evaluation


def sample_rotations(estimator: PoseEstimator, frame, label: int) -> np.ndarray:
    """The (K, 3, 3) rotation samples the engine draws for one object of a frame (no tracking)."""
    only = np.where(frame.mask == label, frame.mask, 0)
    estimate = estimator.estimate(frame.depth, only, frame.intrinsics, track=False)
    if not estimate.objects:
        raise ValueError(f"the engine skipped label {label}: {[s.reason for s in estimate.skipped]}")
    samples = torch.as_tensor(estimate.objects[0].samples, dtype=torch.float64)
    return rotation_6d_columns_to_matrix(samples[:, :6]).numpy()


# --------------------------------------------------------------------------- command line


class _Frames:
    """The first `limit` frames of a dataset, as a sequence."""

    def __init__(self, dataset, limit: int | None):
        self.dataset, self.length = dataset, len(dataset) if limit is None else min(limit, len(dataset))

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int):
        if not 0 <= i < self.length:
            raise IndexError(i)
        return self.dataset[i]


def check_tables_agree(dataset: CategoryTable, checkpoint: CategoryTable, source: str) -> None:
    """CategoryMismatch when an id names one category in the dataset's table and another in the
    checkpoint's: its instances would be scored as the wrong category."""
    conflicts = [
        f"id {c.id} is {c.name} in {source} but {checkpoint.by_id(c.id).name} in the checkpoint's"
        for c in dataset
        if c.id in checkpoint and checkpoint.by_id(c.id).name != c.name
    ]
    if conflicts:
        raise CategoryMismatch(
            f"the category tables of the dataset and of the checkpoint disagree: {'; '.join(conflicts)}"
        )


def chosen_dataset(args: argparse.Namespace) -> tuple[str, Path, str | None]:
    """(kind, root, split) of --data, --nocs, --housecat6d or --omni6dpose, as data/sources.py names them."""
    if args.data is not None:
        return "disk", args.data, None
    if args.housecat6d is not None:
        return "housecat6d", args.housecat6d, args.housecat6d_split
    if args.omni6dpose is not None:
        return "omni6dpose", args.omni6dpose, args.omni6dpose_split
    return "nocs", args.nocs, args.nocs_split


def frames_or_exit(args: argparse.Namespace, categories: CategoryTable) -> _Frames:
    """The frames to evaluate (a --data dataset's category names looked up in `categories`); a
    missing folder, a bad table or one that disagrees with `categories` exits with the reason."""
    kind, root, split = chosen_dataset(args)
    try:
        dataset, table = open_dataset(kind, root, split, categories=categories)
        check_tables_agree(table, categories, f"{root}'s table" if kind == "disk" else "the dataset's table")
        return _Frames(dataset, args.max_frames)
    except (CategoryMismatch, OSError, ValueError) as error:
        raise SystemExit(f"evaluate: {error}") from None


def dataset_name(args: argparse.Namespace) -> str:
    kind, root, split = chosen_dataset(args)
    named = {"disk": None, "housecat6d": f"HouseCat6D {split}", "omni6dpose": f"Omni6DPose {split}", "nocs": split}
    return str(root) if named[kind] is None else f"{root} ({named[kind]})"


def estimator_or_exit(settings: SamplerSettings, args: argparse.Namespace) -> tuple[Path, PoseEstimator]:
    """The checkpoint of --checkpoint (default: the shipped model) and its engine, with its category
    table (docs/conventions.md §1), configured by the options; no checkpoint or an unreadable one
    exits with a clear message."""
    try:
        checkpoint = checkpoint_file(args.checkpoint, "--checkpoint")
        estimator = PoseEstimator.from_checkpoint(
            checkpoint,
            args.device,
            settings=settings,
            inference=InferenceSettings(**{s.name: getattr(args, s.name) for s in described(InferenceSettings)}),
            seed=args.seed,
            tracking=TrackingSettings(**{name: getattr(args, name) for name in TRACKING_OPTIONS}),
        )
    except CheckpointError as error:
        raise SystemExit(str(error)) from None
    estimator.warm_up()
    return checkpoint, estimator


def sampler_settings(args: argparse.Namespace) -> SamplerSettings:
    return SamplerSettings(**{s.name: getattr(args, s.name) for s in described(SamplerSettings)})


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"{device} ({platform.machine()}, {torch.get_num_threads()} threads)"


def finite_or_none(value):
    """JSON has no inf or NaN: replace them by null, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    return value


def instance_key(spec: str) -> tuple[str, int, int]:
    """Parse SCENE:FRAME:LABEL (argparse type of --plot-instance)."""
    try:
        scene, frame, label = spec.rsplit(":", 2)
        return scene, int(frame), int(label)
    except ValueError:
        raise argparse.ArgumentTypeError(f"want SCENE:FRAME:LABEL, e.g. scene_000:0:1000, not {spec!r}") from None


def plot_instance(
    results: list[InstanceResult], key: tuple[str, int, int] | None, categories: CategoryTable
) -> InstanceResult:
    """The estimated instance `key` = (scene, frame, label), else the first estimated one of a
    category symmetric about +y (NOCS: bottle, bowl, can). Raises LookupError when there is none."""
    if key is not None:
        match = next((r for r in results if (r.scene, r.frame, r.label) == key), None)
        if match is None:
            raise LookupError(f"instance {':'.join(map(str, key))} is not among the evaluated frames")
        if match.skipped:
            raise LookupError(f"instance {':'.join(map(str, key))} was skipped by the engine ({match.skipped})")
        return match
    match = next((r for r in results if r.skipped is None and categories.by_name(r.category).continuous_about_y), None)
    if match is None:
        names = ", ".join(c.name for c in categories if c.continuous_about_y) or "none in the table"
        raise LookupError(
            f"no estimated instance of a category symmetric about +y ({names}); name one with --plot-instance"
        )
    return match


def save_sample_plot(
    estimator: PoseEstimator, frames: Sequence, evaluation: Evaluation, args: argparse.Namespace, path: Path
) -> str:
    """Figure 2: K=50 rotation samples of one instance under the chosen score scaling and `none`.

    Returns the instance as SCENE:FRAME:LABEL; raises LookupError when there is none to draw.
    """
    chosen = plot_instance(evaluation.results, args.plot_instance, estimator.categories)
    frame = frames[evaluation.positions[(chosen.scene, chosen.frame)]]
    truth = next(inst for inst in frame.instances if inst.label == chosen.label)
    panels = {}
    for scaling in dict.fromkeys((args.scaling, "none")):  # ordered, without a duplicate "none"
        settings = replace(estimator.settings, num_samples=PLOT_SAMPLES, scaling=scaling)
        sampler = PoseEstimator(
            estimator.model, device=estimator.device, settings=settings, categories=estimator.categories, seed=args.seed
        )
        panels[f"scaling {scaling}"] = sample_rotations(sampler, frame, chosen.label)
    name = f"{chosen.scene}:{chosen.frame}:{chosen.label}"
    plot_rotation_samples(panels, truth.R, path, title=f"{chosen.category} {name}")
    return name


def worst_instances(results: list[InstanceResult], count: int) -> list[InstanceResult]:
    """The `count` estimated instances farthest outside 10°5cm: errors in units of 10° and 5 cm, the larger."""
    estimated = [r for r in results if r.skipped is None]
    return sorted(estimated, key=lambda r: max(r.rotation_error_deg / 10, r.translation_error_cm / 5), reverse=True)[
        :count
    ]


def save_failure_pictures(evaluation: Evaluation, frames: Sequence, directory: Path, count: int) -> list[str]:
    """A picture of each of the worst estimates (data.overview.estimate_image); returns the paths."""
    from .data.overview import estimate_image

    paths = []
    for rank, r in enumerate(worst_instances(evaluation.results, count)):
        frame = frames[evaluation.positions[(r.scene, r.frame)]]
        truth = next(inst for inst in frame.instances if inst.label == r.label)
        caption = (
            f"{r.category} {r.scene}:{r.frame}:{r.label}  {r.rotation_error_deg:.1f}° "
            f"{r.translation_error_cm:.1f} cm" + ("  (tracked)" if r.tracked else "")
        )
        path = directory / f"failure_{rank}_{r.scene}_{r.frame:04d}_{r.label}.png"
        estimate_image(frame.depth, frame.mask, frame.intrinsics, truth, r.R, r.t, r.size, caption).save(path)
        paths.append(str(path))
    return paths


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="evaluate", description=__doc__.splitlines()[0])
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="dataset DIR/scene_XXX/NNNN_* (docs/conventions.md §6)")
    source.add_argument("--nocs", type=Path, metavar="ROOT", help="NOCS root holding CAMERA/ and Real/ (SPD-processed)")
    p.add_argument("--nocs-split", choices=("real_test", "camera_val"), default="real_test")
    source.add_argument("--housecat6d", type=Path, metavar="ROOT", help="HouseCat6D root holding the scene folders")
    p.add_argument("--housecat6d-split", choices=("test", "val", "train"), default="test")
    source.add_argument("--omni6dpose", type=Path, metavar="ROOT", help="Omni6DPose root holding Meta/, ROPE/, SOPE/")
    p.add_argument("--omni6dpose-split", choices=("rope", "sope_test", "sope_train"), default="rope")
    p.add_argument("--checkpoint", type=Path, help="default: models/posediff_default.pt of the install or repository")
    add_options(p, SamplerSettings, flags={"num_samples": "--samples"})
    add_options(p, TrackingSettings, TRACKING_OPTIONS)
    add_options(p, InferenceSettings)
    p.add_argument("--tracking", action="store_true", help="track through each scene's frames (reset per scene)")
    p.add_argument(
        "--mask-source",
        choices=MASK_SOURCES,
        default="masks",
        help="the engine's labels: the ground-truth masks, the object pixels of boxes around them "
        "(Detection2DArray input), or instances of the ground-truth class map (label_encoding semantic)",
    )
    p.add_argument(
        "--box-jitter",
        type=BoxJitter.parse,
        default=BoxJitter(),
        metavar="SHIFT,SCALE",
        help="with --mask-source detections: shift each box by up to SHIFT pixels and resize it by up to "
        "SCALE per axis, drawn from --seed (e.g. 4,0.08; default: tight boxes)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    p.add_argument("--max-frames", type=int, metavar="N", help="evaluate only the first N frames")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, metavar="FILE", help="write the table, settings, counts and speed")
    p.add_argument("--predictions", type=Path, metavar="FILE", help="write one JSON line per ground-truth instance")
    p.add_argument(
        "--plots",
        type=Path,
        metavar="DIR",
        help="write accuracy curves, a Figure-2 sample plot and pictures of the worst estimates",
    )
    p.add_argument(
        "--plot-instance",
        type=instance_key,
        metavar="SCENE:FRAME:LABEL",
        help="instance for the sample plot (default: the first estimated one of a category symmetric "
        "about +y, e.g. NOCS's bottle, bowl or can)",
    )
    return p


def print_counts(evaluation: Evaluation, skipped: list[InstanceResult]) -> None:
    counts = f"{len(evaluation.results)} instances in {evaluation.frames} frames; {len(skipped)} skipped"
    print(counts + " (counted as failures)")
    for r in skipped:
        print(f"  skipped {r.scene}:{r.frame}:{r.label} ({r.category}): {r.skipped}")


def print_confidence(confidence: dict | None) -> None:
    if confidence is None:
        print("no confidence scores (the checkpoint has no confidence calibration)")
        return
    print(
        f"confidence: AUROC {confidence['auroc']:.3f}, ECE {confidence['ece']:.3f}, 10°5cm at "
        f"{100 * confidence['coverage']:.0f} % coverage {100 * confidence['accuracy_at_coverage']:.1f} % "
        f"(of all: {100 * confidence['accuracy']:.1f} %)"
    )


def print_jitter(jitter: dict) -> None:
    if not jitter["mean"]:
        return
    m = jitter["mean"]
    print(
        f"jitter (frame-to-frame change of the pose error, mean over categories): rotation median "
        f"{m['rotation_median_deg']:.2f}°, p90 {m['rotation_p90_deg']:.2f}°; translation median "
        f"{m['translation_median_mm']:.1f} mm, p90 {m['translation_p90_mm']:.1f} mm"
    )


def save_trust_plots(confidence: dict | None, changes: tuple, directory: Path, title: str) -> list[str]:
    """The reliability diagram (with scores) and the jitter plot (with consecutive frames); returns the paths."""
    paths = []
    if confidence is not None:
        paths.append(directory / "reliability.png")
        plot_reliability(confidence["reliability"], paths[-1], title=title)
    if len(changes[2]):
        paths.append(directory / "jitter.png")
        plot_jitter(*changes, paths[-1], title=title)
    return [str(p) for p in paths]


def run(argv: list[str] | None = None) -> dict:
    """Run the evaluation; returns the summary that --json writes (with inf where JSON gets null)."""
    args = _parser().parse_args(argv)
    try:
        settings = sampler_settings(args)
    except ValueError as error:
        raise SystemExit(f"invalid sampler options: {error}") from None
    checkpoint, estimator = estimator_or_exit(settings, args)
    settings = estimator.settings  # with `start` resolved for this model
    frames = frames_or_exit(args, estimator.categories)
    source = SimulatedSource(args.mask_source, args.box_jitter, estimator.categories, estimator.min_points, args.seed)
    try:
        evaluation = evaluate_frames(estimator, frames, tracking=args.tracking, source=source)
    except CategoryMismatch as error:
        raise SystemExit(f"evaluate: {error}") from None
    results = evaluation.results
    if not results:
        raise SystemExit("the evaluated frames hold no ground-truth instances")
    table = results_table(results)
    vus = vus_table(
        np.array([r.rotation_error_deg for r in results]),
        np.array([r.translation_error_cm for r in results]),
        [r.category for r in results],
    )
    skipped = [r for r in results if r.skipped]
    device_name = device_description(estimator.device)
    speed = evaluation.speed()
    print(format_table(table))
    if args.omni6dpose is not None:  # Omni6DPose's headline metric
        print(format_vus_table(vus))
    print_counts(evaluation, skipped)
    confidence = confidence_results(results)
    print_confidence(confidence)
    changes = jitter_changes(results, estimator.categories)  # single frames have jitter too
    jitter = jitter_table(*changes)
    print_jitter(jitter)

    summary = {
        "table": table,
        "vus": vus,
        "dataset": dataset_name(args),
        "checkpoint": str(checkpoint),
        "settings": asdict(settings),
        "tracking": args.tracking,
        "mask_source": args.mask_source,
        "box_jitter": asdict(args.box_jitter),
        "recheck_angle": args.recheck_angle,
        "track_blend": args.track_blend,
        "lose_score": args.lose_score,
        "seed": args.seed,
        "device": device_name,
        "frames": evaluation.frames,
        "instances": len(results),
        "skipped": len(skipped),
        "skipped_instances": [
            {"scene": r.scene, "frame": r.frame, "label": r.label, "category": r.category, "reason": r.skipped}
            for r in skipped
        ],
        "speed": speed,
        "confidence": confidence,
        "jitter": jitter,
    }
    if args.predictions is not None:
        args.predictions.parent.mkdir(parents=True, exist_ok=True)
        with args.predictions.open("w") as f:
            for r in results:
                f.write(json.dumps(finite_or_none(r.as_json()), allow_nan=False) + "\n")
    if args.plots is not None:
        args.plots.mkdir(parents=True, exist_ok=True)
        curves, samples = args.plots / "accuracy_curves.png", args.plots / "rotation_samples.png"
        plot_accuracy_curves(
            np.array([r.rotation_error_deg for r in results]),
            np.array([r.translation_error_cm for r in results]),
            [r.category for r in results],
            curves,
            title=f"{summary['dataset']}, scaling {settings.scaling}",
        )
        summary["plots"] = [str(curves), *save_failure_pictures(evaluation, frames, args.plots, FAILURE_PICTURES)]
        summary["plots"] += save_trust_plots(confidence, changes, args.plots, summary["dataset"])
        try:  # a missing plot instance must not cost the evaluation's other outputs
            summary["plot_instance"] = save_sample_plot(estimator, frames, evaluation, args, samples)
            summary["plots"].append(str(samples))
        except LookupError as error:
            print(f"no rotation-sample plot: {error}", file=sys.stderr)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(finite_or_none(summary), indent=1, allow_nan=False) + "\n")
    return summary


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (returns None: console scripts exit with main's value)."""
    run(argv)


if __name__ == "__main__":
    main()
