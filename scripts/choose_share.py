"""Choose how much of a fine-tuned checkpoint to ship: the share w of (1 - w) SHIPPED + w TUNED,
chosen on validation sets only (models/README.md, "The gate to ship").

    .venv/bin/python scripts/choose_share.py TUNED --val data/val_new data/val_old \
        [--shares 0.3 0.5 0.7 1] [--shipped models/posediff_default.pt] [--out outputs/shares]

Writes the interpolation for every share (scripts/interpolate_weights.py) into --out, evaluates
each, and the shipped model, on the validation sets (`generate_dataset --split val`, never a set
of the gate suite) with the defaults, and prints the instance-pooled 10°5cm and 5°2cm of each.
The chosen share is the one with the highest sum of the two among those better than the shipped
model at both; when none is, the highest sum, with a warning. Its checkpoint is the candidate:
fit its confidence with `calibrate_confidence`, then run `scripts/gate.py` on it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gate import POOLED, evaluate, pooled
from interpolate_weights import write_interpolation

ROOT = Path(__file__).resolve().parents[1]


def interpolation(shipped: Path, tuned: Path, share: float, out: Path) -> Path:
    """The checkpoint (1 - share) shipped + share tuned, written into `out` (once)."""
    path = out / f"share_{share:g}.pt"
    if not path.is_file():
        write_interpolation(shipped, tuned, share, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tuned", type=Path)
    parser.add_argument("--val", type=Path, nargs="+", required=True, help="validation datasets")
    parser.add_argument("--shares", type=float, nargs="+", default=[0.3, 0.5, 0.7, 1.0])
    parser.add_argument("--shipped", type=Path, default=ROOT / "models" / "posediff_default.pt")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "shares")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    candidates = {0.0: args.shipped} | {w: interpolation(args.shipped, args.tuned, w, args.out) for w in args.shares}
    scores = {}
    print("| share | " + " | ".join(f"pooled {key}" for key in POOLED) + " |\n|---|---|---|")
    for share, checkpoint in candidates.items():
        summaries = [evaluate(checkpoint, folder, args.out / "evaluations") for folder in args.val]
        scores[share] = [pooled(summaries, key) for key in POOLED]
        print(f"| {share:g} | " + " | ".join(f"{100 * s:.2f}" for s in scores[share]) + " |", flush=True)

    better = [w for w in args.shares if all(s > s0 for s, s0 in zip(scores[w], scores[0.0], strict=True))]
    chosen = max(better or args.shares, key=lambda w: sum(scores[w]))
    if not better:
        print("choose_share: warning: no share beats the shipped model at both on the validation sets")
    print(f"chosen share {chosen:g}: {candidates[chosen]}")


if __name__ == "__main__":
    main()
