"""Whether two training runs learn alike: their loss curves side by side, within seed noise.

    .venv/bin/python benchmarks/compare_loss_curves.py RUN_A RUN_B [--labels A B] [--out PLOT.png]

Reads `train/total` (the mean loss over each `log_every` window) from the runs' TensorBoard
logs (RUN/tb), prints both curves in windows, the mean difference and its standard error
(over the windows, which are independent batches), and draws them. Two runs with the same
seed and data but different code see the same batches, so a difference well inside the
windows' spread is what "the same learning" can mean for two floating-point orders of work.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402


def loss_curve(run: Path) -> dict[int, float]:
    events = EventAccumulator(str(run / "tb"))
    events.Reload()
    return {e.step: e.value for e in events.Scalars("train/total")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs=2)
    parser.add_argument("--labels", nargs=2, default=["A", "B"])
    parser.add_argument("--out", type=Path, help="PNG of both curves")
    args = parser.parse_args()
    a, b = (loss_curve(run) for run in args.runs)
    steps = sorted(set(a) & set(b))
    differences = [b[s] - a[s] for s in steps]
    mean = sum(differences) / len(differences)
    spread = math.sqrt(sum((d - mean) ** 2 for d in differences) / (len(differences) - 1))
    print(f"| step | {args.labels[0]} | {args.labels[1]} |\n|---|---|---|")
    for s in steps:
        print(f"| {s} | {a[s]:.4f} | {b[s]:.4f} |")
    print(
        f"\nmean difference {args.labels[1]} - {args.labels[0]}: {mean:+.4f} "
        f"(standard error {spread / math.sqrt(len(differences)):.4f}; window-to-window spread {spread:.4f}; "
        f"mean loss {sum(a.values()) / len(a):.4f}) over {len(steps)} windows"
    )
    if args.out:
        plt.figure(figsize=(6, 3.5))
        for curve, label in ((a, args.labels[0]), (b, args.labels[1])):
            plt.plot(steps, [curve[s] for s in steps], label=label)
        plt.xlabel("step")
        plt.ylabel("training loss (window mean)")
        plt.legend()
        plt.tight_layout()
        plt.savefig(args.out, dpi=120)
        print(f"plot: {args.out}")


if __name__ == "__main__":
    main()
