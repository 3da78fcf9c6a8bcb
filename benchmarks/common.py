"""Helpers shared by the claim benchmarks (benchmarks/claim*.py): options, the engine over a
dataset under one SamplerSettings, markdown tables, figures and the JSON/table outputs.

Accuracy and FPS come from posediff_ros.evaluate (evaluate_frames, results_table), so the
benchmarks measure exactly what `evaluate` reports.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from machine import describe_machine  # benchmarks/ is on sys.path: the claim scripts put it there

from posediff_ros.checkpoint import CheckpointError, checkpoint_file, load_model
from posediff_ros.data.layout import Frame, SyntheticDataset
from posediff_ros.estimator import PoseEstimator, SamplerSettings, auto_device
from posediff_ros.evaluate import evaluate_frames, finite_or_none, results_table
from posediff_ros.metrics import THRESHOLDS, threshold_name
from posediff_ros.model import PoseNet

THRESHOLD_KEYS = [threshold_name(d, c) for d, c in THRESHOLDS]
THRESHOLD_LABELS = {threshold_name(d, c): f"{d:g}°{c:g}cm" for d, c in THRESHOLDS}
ACCURACY_COLUMNS = [THRESHOLD_LABELS[k] for k in THRESHOLD_KEYS]  # headers of the accuracy columns and bars
TEST_SET_COMMAND = "generate_dataset --split test --scenes 60 --frames 5 --seed 1 --out data/test"
PAPER_NOTE = (
    "paper: REAL275 (real depth, Mask R-CNN masks, RTX 4090); measured: synthetic held-out test set with "
    "ground-truth masks, on the machine above. Compare trends, not absolute numbers."
)


def claim_parser(description: str, name: str) -> argparse.ArgumentParser:
    """A claim benchmark's parser (`description`: its docstring) with the options every one that
    measures the engine takes: --data, --checkpoint, --device, --max-frames, --seed and --out
    (default outputs/benchmarks/<name>/)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help=f"dataset (docs/conventions.md §6); recommended held-out test set: {TEST_SET_COMMAND}",
    )
    parser.add_argument("--checkpoint", type=Path, help="default: models/posediff_default.pt of the install or repo")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    parser.add_argument("--max-frames", type=int, metavar="N", help="use only the first N frames of the dataset")
    parser.add_argument("--seed", type=int, default=0, help="seed of every estimator (the same for every setting)")
    parser.add_argument("--out", type=Path, default=Path("outputs/benchmarks") / name, help="output folder")
    return parser


def model_or_exit(checkpoint: Path | None, device_name: str) -> tuple[PoseNet, torch.device, Path]:
    """The network of --checkpoint (default: the shipped model) on `device_name` ("auto" too), and
    its device and file; no checkpoint or an unreadable one exits with the reason."""
    device = auto_device() if device_name == "auto" else torch.device(device_name)
    try:
        path = checkpoint_file(checkpoint, "--checkpoint")
        model, _ = load_model(path, device)
    except CheckpointError as error:
        raise SystemExit(str(error)) from None
    return model, device, path


def engine(checkpoint: Path, device: torch.device, settings: SamplerSettings, seed: int) -> PoseEstimator:
    """A fresh engine of `checkpoint` loaded as users load it (`PoseEstimator.from_checkpoint`: its
    category table and confidence calibration), with `settings` and `seed`."""
    return PoseEstimator.from_checkpoint(checkpoint, device, settings=settings, seed=seed)


def load_frames(data: Path, max_frames: int | None) -> list[Frame]:
    """The first `max_frames` frames of a dataset, read once into memory.

    Each benchmark runs the same frames under many settings; decoding the PNGs once keeps
    the runs short (FPS counts only the time inside estimate() either way).
    """
    dataset = SyntheticDataset(data)
    count = len(dataset) if max_frames is None else min(max_frames, len(dataset))
    frames = [dataset[i] for i in range(count)]
    if not any(frame.instances for frame in frames):
        raise SystemExit(f"the first {count} frames of {data} hold no ground-truth instances")
    return frames


def evaluate_setting(
    checkpoint: Path, device: torch.device, frames: list[Frame], settings: SamplerSettings, *, tracking: bool, seed: int
) -> dict:
    """Accuracy table and speed of the engine over `frames` with `settings` (single-frame or tracking).

    A fresh estimator with the same seed per setting, so that every setting sees the same
    point subsets and initial noise: differences between rows come from the settings alone.
    """
    estimator = engine(checkpoint, device, settings, seed)
    evaluation = evaluate_frames(estimator, frames, tracking=tracking)
    return {
        "settings": asdict(estimator.settings),  # `start` resolved for the model
        "tracking": tracking,
        "table": results_table(evaluation.results),
        "skipped": sum(r.skipped is not None for r in evaluation.results),
        "speed": evaluation.speed(),
    }


def header(args: argparse.Namespace, device: torch.device, checkpoint: Path, frames: list[Frame]) -> dict:
    """Print and return what the run measured on: machine, checkpoint, dataset and its size."""
    info = {
        "machine": describe_machine(device),
        "device": str(device),
        "checkpoint": str(checkpoint),
        "dataset": str(args.data),
        "frames": len(frames),
        "instances": sum(len(f.instances) for f in frames),
        "seed": args.seed,
    }
    print(f"machine: {info['machine']}")
    print(f"checkpoint: {checkpoint}")
    print(f"dataset: {args.data} ({info['frames']} frames, {info['instances']} instances)")
    return info


def claim_inputs(args: argparse.Namespace) -> tuple[torch.device, Path, list[Frame], dict]:
    """Device, checkpoint file, frames and printed header (see `header`) of the options of
    `claim_parser`; a missing or unreadable checkpoint exits before the dataset is read."""
    _, device, checkpoint = model_or_exit(args.checkpoint, args.device)
    frames = load_frames(args.data, args.max_frames)
    return device, checkpoint, frames, header(args, device, checkpoint, frames)


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def accuracy_cells(accuracy: dict[str, float | None]) -> list[str]:
    """Table cells of `accuracy` (threshold name -> fraction of instances), as percentages in the
    order of ACCURACY_COLUMNS."""
    return [percent(accuracy[k]) for k in THRESHOLD_KEYS]


def markdown_table(columns: list[str], rows: list[list[str]]) -> str:
    """A GitHub markdown table (also readable as plain text)."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def save_figure(fig: plt.Figure, path: Path, title: str | None = None) -> None:
    """Save `fig` (under the overall `title`, if given) as `path` at 100 dpi, making its folder,
    and close it (pyplot keeps every open figure alive)."""
    if title is not None:
        fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_outputs(out: Path, summary: dict, table: str) -> dict:
    """results.json (inf/NaN as null) and table.md into `out`; prints where they went and returns
    `summary` (what a claim benchmark's main returns)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(finite_or_none(summary), indent=1, allow_nan=False) + "\n")
    (out / "table.md").write_text(table + "\n")
    print(f"wrote {out / 'results.json'}, {out / 'table.md'} and the plots in {out}")
    return summary
