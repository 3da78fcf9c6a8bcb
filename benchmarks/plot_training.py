"""Validation curves of a training run: accuracy of both heads against steps (a model card's picture).

    python benchmarks/plot_training.py RUN_DIR [RUN_DIR ...] --out curves.png [--metrics 5deg2cm 10deg5cm]

RUN_DIR is what `train out=RUN_DIR` wrote: its stage folders (pretrain/, joint/, scratch/)
with TensorBoard logs. Stages are drawn one after the other (pretrain, then joint), and so
are several runs (a run continued from another's weights with `init=` follows it), so the
x axis counts every training step; each head's curve per metric, from `val/<head>/<metric>`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib.pyplot as plt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from claim4_convergence import read_scalars  # noqa: E402

STAGE_ORDER = ("pretrain", "joint", "scratch")
HEAD_STYLES = {"regression": ":", "diffusion": "-", "refined": "--"}  # refined: diffusion from the regression pose


def stage_curves(runs: list[Path], metric: str) -> dict[str, tuple[list[int], list[float]]]:
    """{'<head>': (steps, values)} over the runs' stages in training order, steps counted across them."""
    curves: dict[str, tuple[list[int], list[float]]] = {}
    offset = 0
    stages = []
    for run in runs:
        found = [run / name for name in STAGE_ORDER if (run / name / "tb").is_dir()]
        if not found:
            raise SystemExit(f"{run} holds no stage folder with TensorBoard logs ({', '.join(STAGE_ORDER)})")
        stages.extend(found)
    for stage in stages:
        last = 0
        for head in HEAD_STYLES:
            try:
                curve = read_scalars(stage / "tb", f"val/{head}/{metric}", offset=offset)
            except LookupError:
                continue
            steps, values = curves.setdefault(head, ([], []))
            steps.extend(curve.steps)
            values.extend(curve.values)
            last = max(last, curve.steps[-1] - offset)
        offset += last
    return curves


def plot_runs(runs: list[Path], metrics: list[str], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 5), constrained_layout=True)
    for colour, metric in zip(("tab:blue", "tab:orange", "tab:green", "tab:red"), metrics, strict=False):
        for head, (steps, values) in stage_curves(runs, metric).items():
            ax.plot(
                steps,
                [100 * v for v in values],
                HEAD_STYLES[head],
                marker="o",
                ms=3,
                color=colour,
                label=f"{metric}, {head} head",
            )
    ax.set(
        xlabel="training steps (all stages)",
        ylabel="validation accuracy (%)",
        ylim=(0, 100),
        title=" + ".join(map(str, runs)),
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+", help="run folders, in training order")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    parser.add_argument("--metrics", nargs="+", default=["5deg2cm", "10deg5cm"])
    args = parser.parse_args(argv)
    plot_runs(args.runs, args.metrics, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
