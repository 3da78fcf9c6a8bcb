"""Claim 2 (paper Table S1, Figure 4d): with score scaling, DDIM keeps its accuracy down to ~10 steps.

    python benchmarks/claim2_steps.py --data data/test [--steps 500 200 100 50 20 10 5] [--device cuda]

For each number of DDIM steps, single-frame K=1 sampling guided (exponential scaling) and
unguided (scaling none): 5°2cm, 5°5cm, 10°2cm, 10°5cm (mean over categories) and FPS of
estimate(). Writes results.json, table.md and claim2_steps.png (accuracy and FPS vs steps,
log x) into --out.
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    ACCURACY_COLUMNS,
    PAPER_NOTE,
    THRESHOLD_KEYS,
    THRESHOLD_LABELS,
    accuracy_cells,
    claim_inputs,
    claim_parser,
    evaluate_setting,
    markdown_table,
    number,
    save_figure,
    write_outputs,
)

from posediff_ros.estimator import SamplerSettings  # noqa: E402

NAME = "claim2_steps"
PAPER_STEPS = [500, 200, 100, 50, 20, 10, 5]
GUIDANCE = {"unguided": "none", "guided": "exponential"}
# Table S1 (REAL275, single frame, K=1): (scaling, steps) -> (FPS, 5°2cm, 10°2cm)
PAPER = {
    ("none", 500): (2.70, 15.9, 23.6),
    ("exponential", 500): (2.70, 52.7, 72.7),
    ("exponential", 200): (6.81, 52.7, 72.8),
    ("exponential", 100): (14.1, 52.6, 72.7),
    ("exponential", 50): (25.4, 52.4, 72.6),
    ("exponential", 10): (42.9, 50.8, 71.3),
}


def format_table(results: list[dict]) -> str:
    columns = ["sampler", "steps", *ACCURACY_COLUMNS, "FPS", "paper FPS", "paper 5°2cm", "paper 10°2cm"]
    lines = []
    for r in results:
        mean = r["table"]["mean"]
        paper = PAPER.get((r["settings"]["scaling"], r["settings"]["steps"]))
        lines.append(
            [
                r["name"],
                str(r["settings"]["steps"]),
                *accuracy_cells(mean),
                number(r["speed"]["fps"], 2),
                *(["–"] * 3 if paper is None else [f"{v:g}" for v in paper]),
            ]
        )
    return markdown_table(columns, lines)


def plot(results: list[dict], path: Path, title: str) -> None:
    """Accuracy vs steps (two panels of two thresholds each, paper points as hollow markers) and FPS vs steps."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5), constrained_layout=True)
    panels = [(axes[0], THRESHOLD_KEYS[0::2]), (axes[1], THRESHOLD_KEYS[1::2])]  # the 2 cm pair, the 5 cm pair
    for (name, scaling), colour in zip(GUIDANCE.items(), ("tab:blue", "tab:green"), strict=True):
        mine = sorted((r for r in results if r["name"] == name), key=lambda r: r["settings"]["steps"])
        steps = [r["settings"]["steps"] for r in mine]
        for ax, keys in panels:
            for key, style in zip(keys, ("-o", "--s"), strict=True):
                ax.plot(
                    steps,
                    [100 * r["table"]["mean"][key] for r in mine],
                    style,
                    color=colour,
                    label=f"{name} {THRESHOLD_LABELS[key]}",
                )
        for key, index, marker in (("5deg2cm", 1, "o"), ("10deg2cm", 2, "s")):
            paper = sorted((s, v[index]) for (paper_scaling, s), v in PAPER.items() if paper_scaling == scaling)
            axes[0].plot(
                *zip(*paper, strict=True),
                marker,
                color=colour,
                mfc="none",
                ms=9,
                ls="none",
                label=f"paper {name} {THRESHOLD_LABELS[key]} (REAL275)",
            )
        axes[2].plot(steps, [r["speed"]["fps"] or 0.0 for r in mine], "-o", color=colour, label=name)
    for ax in axes[:2]:
        ax.set(xscale="log", xlabel="DDIM steps", ylabel="mean accuracy over categories (%)", ylim=(0, 100))
    axes[2].set(xscale="log", yscale="log", xlabel="DDIM steps", ylabel="frames/s of estimate()", title="speed")
    for ax in axes:
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    save_figure(fig, path, title)


def main(argv: list[str] | None = None) -> dict:
    parser = claim_parser(__doc__, NAME)
    parser.add_argument("--steps", type=int, nargs="+", default=PAPER_STEPS, help="DDIM step counts to compare")
    args = parser.parse_args(argv)

    device, checkpoint, frames, info = claim_inputs(args)
    results = []
    for name, scaling in GUIDANCE.items():
        for steps in args.steps:
            settings = SamplerSettings(sampler="ddim", steps=steps, scaling=scaling, num_samples=1, start="noise")
            results.append(
                {"name": name, **evaluate_setting(checkpoint, device, frames, settings, tracking=False, seed=args.seed)}
            )

    table = format_table(results)
    print(f"\nClaim 2 (Table S1): single-frame K=1 accuracy (%) and FPS vs DDIM steps\n\n{table}\n\n{PAPER_NOTE}")
    plot(
        results,
        args.out / f"{NAME}.png",
        f"Table S1 on {args.data.name}: {info['instances']} instances, {info['machine']}",
    )
    summary = {
        **info,
        "claim": "Table S1",
        "rows": results,
        "note": PAPER_NOTE,
        "paper": [
            {"scaling": s, "steps": n, "fps": v[0], "5deg2cm": v[1], "10deg2cm": v[2]} for (s, n), v in PAPER.items()
        ],
    }
    return write_outputs(args.out, summary, table)


if __name__ == "__main__":
    main()
