"""Claim 4 (paper Figure 4b, Table 1): joint learning, above all after regression pre-training, reaches
the from-scratch (GenPose) model's best validation accuracy in a fraction of its training steps.

    python benchmarks/claim4_convergence.py --budget 20000 --val-every 500 [--batch-size 192] [--workers 14]
        [--config config/train.yaml] [--reuse] [key=value ...]

Three training runs with the same step budget and seed, through posediff_ros.train:
`stage=scratch` (diffusion only, GenPose), `stage=joint` without pre-training, and
`stage=pretrain+joint` (its --pretrain-steps of regression pre-training count in the budget).
Trailing key=value arguments pass through to every run (e.g. data=disk data_dir=DIR).
The validation curves are read from the runs' TensorBoard logs (`val/<head>/<metric>`,
written every --val-every steps); the script plots the diffusion head's 10°5cm against
training steps and prints, for each run, its best and the steps and minutes it needs to reach
the scratch run's best. Runs go to --out/runs/<name>/; with --reuse, a run whose model.pt
exists is not trained again (to re-plot, or to finish after an interruption).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import markdown_table, number, percent, save_figure, write_outputs  # noqa: E402
from machine import describe_machine  # noqa: E402

from posediff_ros import train  # noqa: E402
from posediff_ros.estimator import auto_device  # noqa: E402

NAME = "claim4_convergence"
# run name -> (legend label, colour as in the paper's Figure 4b)
RUNS = {
    "scratch": ("from scratch (GenPose)", "tab:red"),
    "joint": ("joint, no pre-training", "goldenrod"),
    "pretrain_joint": ("pre-training + joint (ours)", "tab:blue"),
}
PAPER = {
    "Table 1 (NOCS, RTX 4090)": {
        "from scratch": "11 days",
        "ours, full convergence": "7.5 days",
        "ours, to the baseline's best 10°5cm": "0.5 days",
    },
    "Figure 4b (REAL275)": "pre-training + joint passes the scratch run's best 10°5cm within ~100 epochs "
    "(~0.5 days) and stays above joint without pre-training throughout",
}


@dataclass
class Curve:
    """A validation curve: steps counted from the start of the run's budget, values, seconds since its start."""

    steps: list[int]
    values: list[float]
    seconds: list[float]


def read_scalars(tb_dir: Path, tag: str, start: float | None = None, offset: int = 0) -> Curve:
    """One scalar of a TensorBoard log folder, last value per step (a resumed run logs some steps twice).

    Seconds count from `start` (a wall-clock time), by default from the log's first event,
    which SummaryWriter writes when the stage starts; `offset` is added to the steps.
    """
    events = EventAccumulator(str(tb_dir), size_guidance={"scalars": 0})
    events.Reload()
    if tag not in events.Tags()["scalars"]:
        raise LookupError(f"{tb_dir} has no scalar {tag!r}")
    start = events.FirstEventTimestamp() if start is None else start
    last = {e.step: e for e in events.Scalars(tag)}
    steps = sorted(last)
    return Curve(
        [s + offset for s in steps], [last[s].value for s in steps], [last[s].wall_time - start for s in steps]
    )


def first_event_time(tb_dir: Path) -> float:
    events = EventAccumulator(str(tb_dir), size_guidance={"scalars": 0})
    events.Reload()
    return events.FirstEventTimestamp()


def run_curves(root: Path, pretrain_steps: int, tag: str) -> dict[str, Curve]:
    """The diffusion-head curve of each run under `root`; pretrain+joint's joint stage continues its pretrain."""
    curves = {
        "scratch": read_scalars(root / "scratch" / "scratch" / "tb", tag),
        "joint": read_scalars(root / "joint" / "joint" / "tb", tag),
    }
    two_stage = root / "pretrain_joint"
    curves["pretrain_joint"] = read_scalars(
        two_stage / "joint" / "tb", tag, start=first_event_time(two_stage / "pretrain" / "tb"), offset=pretrain_steps
    )
    return curves


def reach(curve: Curve, target: float) -> tuple[int | None, float | None]:
    """Steps and seconds at which `curve` first reaches `target` (None, None if it never does)."""
    for step, value, seconds in zip(curve.steps, curve.values, curve.seconds, strict=True):
        if value >= target:
            return step, seconds
    return None, None


def analyse(curves: dict[str, Curve]) -> dict[str, dict]:
    """Per run: best value and its step, and the steps/seconds to reach the scratch run's best."""
    target = max(curves["scratch"].values)
    out = {}
    for name, curve in curves.items():
        best = max(range(len(curve.values)), key=curve.values.__getitem__)
        steps, seconds = reach(curve, target)
        out[name] = {
            "best": curve.values[best],
            "best_step": curve.steps[best],
            "steps_to_scratch_best": steps,
            "seconds_to_scratch_best": seconds,
            "seconds_total": curve.seconds[-1],
            "curve": {"steps": curve.steps, "values": curve.values, "seconds": curve.seconds},
        }
    return out


def format_table(analysis: dict[str, dict], metric: str) -> str:
    columns = ["run", f"best {metric}", "at step", "steps to scratch best", "minutes to scratch best", "minutes in all"]

    def minutes(seconds: float | None) -> str:
        return number(None if seconds is None else seconds / 60)

    rows = [
        [
            RUNS[name][0],
            percent(a["best"]),
            str(a["best_step"]),
            "not reached" if a["steps_to_scratch_best"] is None else str(a["steps_to_scratch_best"]),
            minutes(a["seconds_to_scratch_best"]),
            minutes(a["seconds_total"]),
        ]
        for name, a in analysis.items()
    ]
    return markdown_table(columns, rows)


def plot(curves: dict[str, Curve], regression: Curve | None, metric: str, path: Path, title: str) -> None:
    """Validation accuracy vs training steps per run, the scratch run's best as a dashed line."""
    fig, ax = plt.subplots(figsize=(8, 5), constrained_layout=True)
    for name, curve in curves.items():
        label, colour = RUNS[name]
        ax.plot(curve.steps, [100 * v for v in curve.values], "-o", ms=3, color=colour, label=label)
    if regression is not None:
        ax.plot(
            regression.steps,
            [100 * v for v in regression.values],
            ":",
            color="grey",
            label="pre-training (regression head)",
        )
    ax.axhline(100 * max(curves["scratch"].values), ls="--", color="tab:green", label="scratch run's best")
    ax.set(
        xlabel="training steps (pre-training included)", ylabel=f"validation {metric} (%)", ylim=(0, 100), title=title
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def training_overrides(args: argparse.Namespace) -> dict[str, list[str]]:
    """key=value arguments of train.main per run; pass-through overrides come last so they win."""
    common = [f"seed={args.seed}", f"val_every={args.val_every}", f"checkpoint_every={args.val_every}"]
    common += [f"batch_size={args.batch_size}"] if args.batch_size is not None else []
    common += [f"workers={args.workers}"] if args.workers is not None else []
    root = args.out / "runs"
    return {
        "scratch": [f"out={root / 'scratch'}", "stage=scratch", f"steps={args.budget}", *common],
        "joint": [f"out={root / 'joint'}", "stage=joint", f"steps={args.budget}", *common],
        "pretrain_joint": [
            f"out={root / 'pretrain_joint'}",
            "stage=pretrain+joint",
            f"pretrain_steps={args.pretrain_steps}",
            f"steps={args.budget - args.pretrain_steps}",
            *common,
        ],
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=20000, help="training steps of every run, pre-training included")
    parser.add_argument("--pretrain-steps", type=int, help="pre-training steps of pretrain+joint (default budget/5)")
    parser.add_argument("--val-every", type=int, help="validate every N steps (default budget/20)")
    parser.add_argument("--batch-size", type=int, help="default: the training config's (192)")
    parser.add_argument("--workers", type=int, help="data-loader workers (default: the training config's)")
    parser.add_argument("--seed", type=int, default=0, help="the same seed for every run")
    parser.add_argument("--config", help="YAML training config for every run (e.g. config/train.yaml)")
    parser.add_argument("--head", choices=("diffusion", "regression"), default="diffusion")
    parser.add_argument("--metric", default="10deg5cm", help="validation scalar to compare (e.g. 5deg2cm)")
    parser.add_argument("--reuse", action="store_true", help="do not retrain runs whose model.pt exists")
    parser.add_argument("--out", type=Path, default=Path("outputs/benchmarks") / NAME)
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="passed to every training run")
    args = parser.parse_args(argv)
    args.pretrain_steps = args.budget // 5 if args.pretrain_steps is None else args.pretrain_steps
    args.val_every = max(1, args.budget // 20) if args.val_every is None else args.val_every
    if not 0 < args.pretrain_steps < args.budget:
        parser.error("need 0 < --pretrain-steps < --budget")

    print(f"machine: {describe_machine(auto_device())}")
    config = ["--config", args.config] if args.config else []
    for name, overrides in training_overrides(args).items():
        final_stage = args.out / "runs" / name / "joint" if name != "scratch" else args.out / "runs" / name / name
        if args.reuse and (final_stage / "model.pt").is_file():
            print(f"{name}: reusing {final_stage}")
            continue
        print(f"{name}: train {' '.join(overrides + args.overrides)}")
        train.main([*config, *overrides, *args.overrides])

    tag = f"val/{args.head}/{args.metric}"
    curves = run_curves(args.out / "runs", args.pretrain_steps, tag)
    analysis = analyse(curves)
    pretrain_tb = args.out / "runs" / "pretrain_joint" / "pretrain" / "tb"
    regression = read_scalars(pretrain_tb, f"val/regression/{args.metric}") if args.head == "diffusion" else None

    metric = f"{args.metric} ({args.head} head)"
    table = format_table(analysis, metric)
    print(
        f"\nClaim 4 (Fig. 4b, Table 1): validation {metric}, budget {args.budget} steps, seed {args.seed}\n\n"
        f"{table}\n\npaper: {json.dumps(PAPER, ensure_ascii=False)}"
    )
    plot(curves, regression, metric, args.out / f"{NAME}.png", f"Fig. 4b: {args.budget}-step budget, seed {args.seed}")
    summary = {
        "claim": "Figure 4b, Table 1",
        "machine": describe_machine(auto_device()),
        "budget": args.budget,
        "pretrain_steps": args.pretrain_steps,
        "val_every": args.val_every,
        "seed": args.seed,
        "tag": tag,
        "training_overrides": {k: v + args.overrides for k, v in training_overrides(args).items()},
        "runs": analysis,
        "paper": PAPER,
    }
    return write_outputs(args.out, summary, table)


if __name__ == "__main__":
    main()
