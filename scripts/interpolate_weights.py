"""Interpolate two checkpoints of one network: (1 - w) * BASE + w * TUNED, weight by weight.

    .venv/bin/python scripts/interpolate_weights.py BASE TUNED --weight 0.35 --out model.pt

TUNED must be a fine-tuned descendant of BASE (same configuration). Interpolating a
fine-tuned model with the one it started from keeps most of what fine-tuning gained on the
new data while giving back little on the old (robust fine-tuning, "WiSE-FT"); that is how
the shipped model of 2026-12-02 was made (models/README.md). Floating-point tensors
(weights, BatchNorm statistics) are interpolated; integer ones (BatchNorm's batch count)
come from TUNED, and so do the regression-head flag and the category table. A confidence
calibration holds for the weights it was fitted on, so none is carried: fit one for the
result with `calibrate_confidence`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from posediff_ros.checkpoint import CheckpointError, checkpoint_categories, load_model, save_checkpoint
from posediff_ros.model import PoseNet


def interpolate(base: PoseNet, tuned: PoseNet, weight: float) -> PoseNet:
    """`tuned` with every floating-point tensor replaced by (1 - weight) base + weight tuned."""
    if base.config != tuned.config:
        raise CheckpointError("the two checkpoints are different networks: interpolation needs one configuration")
    a, b = base.state_dict(), tuned.state_dict()
    tuned.load_state_dict(
        {k: b[k].lerp(a[k].to(b[k].dtype), 1.0 - weight) if b[k].is_floating_point() else b[k] for k in b}
    )
    return tuned


def write_interpolation(base: Path, tuned: Path, weight: float, out: Path) -> None:
    """Write (1 - weight) BASE + weight TUNED to `out`, with TUNED's stage, step and category table."""
    model, payload = load_model(tuned)
    save_checkpoint(
        out,
        interpolate(load_model(base)[0], model, weight),
        stage=payload.get("stage"),
        step=payload.get("step"),
        interpolated={"base": str(base), "tuned": str(tuned), "weight": weight},
        categories=checkpoint_categories(payload).as_entries(),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", type=Path)
    parser.add_argument("tuned", type=Path)
    parser.add_argument("--weight", type=float, required=True, help="share of TUNED, in [0, 1]")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if not 0.0 <= args.weight <= 1.0:
        parser.error("--weight must be in [0, 1]")
    try:
        write_interpolation(args.base, args.tuned, args.weight, args.out)
    except CheckpointError as error:
        raise SystemExit(str(error)) from None
    print(f"wrote {args.out}: {1 - args.weight:g} x {args.base} + {args.weight:g} x {args.tuned}")


if __name__ == "__main__":
    main()
