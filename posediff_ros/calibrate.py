"""`calibrate_confidence`: fit a checkpoint's confidence calibration and write a new checkpoint.

Runs the engine (the default sampler settings, single frames) over a dataset of the
training distribution, measures each object's confidence signal (confidence.py) and
whether its pose is within 10°5cm, fits the isotonic map and writes the checkpoint with
it under the `confidence` key. Fit on training-distribution data (`generate_dataset
--split val`), never on a test set. Reports the AUROC and the calibration error on the
fitted data and, fitted on one half of the scenes and measured on the other, an honest
estimate of both.

    calibrate_confidence --checkpoint IN --data DIR [DIR ...] --out OUT [--samples 8] [--max-frames N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .confidence import PAYLOAD_KEY, SAMPLES, Calibration, fit_isotonic
from .data.layout import SyntheticDataset
from .estimator import PoseEstimator
from .evaluate import score_frame
from .metrics import confidence_summary, is_correct

STANDARD_KEYS = ("format", "version", "model_config", "model", "regression_head_trained")
"""The entries save_checkpoint writes itself; the others are carried over."""


def measure(estimator: PoseEstimator, datasets: list, limit: int | None) -> dict[str, np.ndarray]:
    """Per estimated instance: its confidence signal, rotation (°) and translation (cm) errors
    and scene (N,) each, from single frames (no tracking); the first `limit` frames of each dataset."""
    signal, rotation, translation, scenes = [], [], [], []
    frames = [(d, i) for d in datasets for i in range(len(d) if limit is None else min(limit, len(d)))]
    for dataset, i in tqdm(frames, desc="calibrate", unit="frame"):
        frame = dataset[i]
        estimate = estimator.estimate(frame.depth, frame.mask, frame.intrinsics, track=False)
        signals = {o.label: o.signal for o in estimate.objects}
        for r in score_frame(frame, estimate, estimator.categories):
            if r.skipped is None:
                signal.append(signals[r.label])
                rotation.append(r.rotation_error_deg)
                translation.append(r.translation_error_cm)
                scenes.append(f"{dataset.root}/{r.scene}")
    return {
        "signal": np.array(signal, float),
        "rotation": np.array(rotation),
        "translation": np.array(translation),
        "scene": np.array(scenes),
    }


def held_out_check(measured: dict[str, np.ndarray]) -> dict:
    """Fit on the even-numbered scenes, measure on the odd ones (the confidence_summary)."""
    names = sorted(set(measured["scene"].tolist()))
    fit = np.isin(measured["scene"], names[::2])
    positive = is_correct(measured["rotation"], measured["translation"])
    calibration = fit_isotonic(measured["signal"][fit], positive[fit])
    return confidence_summary(
        calibration(measured["signal"][~fit]), measured["rotation"][~fit], measured["translation"][~fit]
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="calibrate_confidence", description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path, required=True, help="the checkpoint to calibrate")
    p.add_argument(
        "--data",
        type=Path,
        nargs="+",
        required=True,
        help="training-distribution scenes (generate_dataset --split val)",
    )
    p.add_argument("--out", type=Path, required=True, help="the calibrated checkpoint to write (may be --checkpoint)")
    p.add_argument("--samples", type=int, default=SAMPLES, help=f"noise-started samples M (default {SAMPLES})")
    p.add_argument("--max-frames", type=int, metavar="N", help="use only the first N frames of each dataset")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, ...")
    p.add_argument("--seed", type=int, default=0)
    return p


def run(argv: list[str] | None = None) -> Calibration:
    args = _parser().parse_args(argv)
    if args.samples < 2:
        raise SystemExit("calibrate_confidence: --samples must be >= 2")
    try:
        estimator = PoseEstimator.from_checkpoint(
            args.checkpoint, args.device, confidence_samples=args.samples, seed=args.seed
        )
        estimator.unscored = None  # being calibrated: its signal is what counts here
        payload = load_checkpoint(args.checkpoint)
        datasets = [SyntheticDataset(d, estimator.categories) for d in args.data]
    except (CheckpointError, OSError, ValueError) as error:
        raise SystemExit(f"calibrate_confidence: {error}") from None
    measured = measure(estimator, datasets, args.max_frames)
    if len(measured["signal"]) < 20:
        raise SystemExit(f"calibrate_confidence: only {len(measured['signal'])} estimated instances; give more data")
    positive = is_correct(measured["rotation"], measured["translation"])
    calibration = fit_isotonic(
        measured["signal"],
        positive,
        samples=args.samples,
        fitted_on=f"{', '.join(map(str, args.data))} ({len(measured['signal'])} instances, seed {args.seed})",
    )
    fitted = confidence_summary(calibration(measured["signal"]), measured["rotation"], measured["translation"])
    check = held_out_check(measured)
    print(
        f"{fitted['count']} instances, {100 * fitted['accuracy']:.1f} % within 10°5cm, {len(calibration.signal)} knots"
    )
    for name, summary in (("fitted data", fitted), ("half fitted, half measured", check)):
        print(
            f"{name}: AUROC {summary['auroc']:.3f}, ECE {summary['ece']:.3f}, "
            f"accuracy at {100 * summary['coverage']:.0f} % coverage {100 * summary['accuracy_at_coverage']:.1f} %"
        )
    extra = {k: v for k, v in payload.items() if k not in STANDARD_KEYS}
    save_checkpoint(args.out, estimator.model, **{**extra, PAYLOAD_KEY: calibration.as_payload()})
    print(f"wrote {args.out}")
    return calibration


def main(argv: list[str] | None = None) -> None:
    run(argv)


if __name__ == "__main__":
    main()
