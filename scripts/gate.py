"""The gate a candidate model passes before it ships as models/posediff_default.pt (models/README.md).

    .venv/bin/python scripts/gate.py CANDIDATE [--shipped models/posediff_default.pt] [--out outputs/gate]

Evaluates both checkpoints with the defaults (`start=auto`, K=1, ground-truth masks) on the
gate suite: the issue set, the held-out set, the held-out families, the sequences (single
frame and tracking), and the old generator's issue and held-out sets. Missing sets are
generated into --data (the old generator's with the generator of commit OLD_GENERATOR, from a
git worktree of it). The candidate passes when its instance-pooled 10°5cm and 5°2cm over the
whole suite are higher than the shipped model's and no set loses more than 2 points at
10°5cm (each set's number is the card's: the mean over categories). Prints the table for the
card and exits 0 on a pass, 1 on a fail. Evaluations are cached in --out by checkpoint hash.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OLD_GENERATOR = "3579df8"  # the generator of 2026-11-24 (the model card's "old generator")
MAX_SET_LOSS = 0.02
POOLED = ("10deg5cm", "5deg2cm")


@dataclass(frozen=True)
class GateSet:
    name: str
    data: str  # folder under --data
    generate: tuple[str, ...]  # generate_dataset arguments
    old_generator: bool = False
    tracking: bool = False


SUITE = (
    GateSet("issue set", "issue", ("--split", "test", "--scenes", "60", "--frames", "1", "--seed", "777123")),
    GateSet(
        "held-out set",
        "heldout",
        ("--split", "test", "--scenes", "100", "--frames", "4", "--seed", "1", "--distractor-prob", "1.0"),
    ),
    GateSet(
        "held-out families", "family", ("--split", "family", "--scenes", "60", "--frames", "1", "--seed", "777123")
    ),
    GateSet(
        "sequences, single frame",
        "sequences",
        ("--split", "test", "--scenes", "30", "--frames", "12", "--seed", "4242"),
    ),
    GateSet(
        "sequences, tracking",
        "sequences",
        ("--split", "test", "--scenes", "30", "--frames", "12", "--seed", "4242"),
        tracking=True,
    ),
    GateSet(
        "issue set, old generator",
        "old_issue",
        ("--split", "test", "--scenes", "60", "--frames", "1", "--seed", "777123"),
        old_generator=True,
    ),
    GateSet(
        "held-out set, old generator",
        "old_heldout",
        ("--split", "test", "--scenes", "100", "--frames", "4", "--seed", "1", "--distractor-prob", "1.0"),
        old_generator=True,
    ),
)


def ensure_data(gate_set: GateSet, data: Path) -> Path:
    """The set's folder, generated first if it is missing."""
    folder = data / gate_set.data
    if folder.is_dir():
        return folder
    command = [sys.executable, "-m", "posediff_ros.data.generate", *gate_set.generate, "--out", str(folder.resolve())]
    cwd, env = ROOT, None
    if gate_set.old_generator:
        cwd = data / f"generator_{OLD_GENERATOR}"
        if not cwd.is_dir():
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(cwd), OLD_GENERATOR], check=True)
        env = {"PYTHONPATH": str(cwd.resolve())}
    subprocess.run(command, cwd=cwd, env=None if env is None else {**os.environ, **env}, check=True)
    return folder


def evaluate(checkpoint: Path, folder: Path, out: Path, tracking: bool = False) -> dict:
    """evaluate's JSON summary of `checkpoint` on the dataset `folder` (cached in `out` by the
    checkpoint's hash and the folder's name)."""
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()[:12]
    path = out / digest / f"{folder.name}{'_tracking' if tracking else ''}.json"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "posediff_ros.evaluate",
            "--data",
            str(folder),
            "--checkpoint",
            str(checkpoint),
        ]
        command += ["--json", str(path)] + (["--tracking"] if tracking else [])
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{Path(sys.argv[0]).name}: {' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(path.read_text())


def pooled(summaries: list[dict], key: str) -> float:
    """Instance-pooled accuracy over sets: every instance of every set counts once."""
    hits = total = 0.0
    for summary in summaries:
        for row in summary["table"]["per_category"].values():
            hits += row[key] * row["count"]
            total += row["count"]
    return hits / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("candidate", type=Path)
    parser.add_argument("--shipped", type=Path, default=ROOT / "models" / "posediff_default.pt")
    parser.add_argument("--data", type=Path, default=ROOT / "data", help="where the gate sets are (made if missing)")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "gate")
    args = parser.parse_args()

    results = {"shipped": [], "candidate": []}
    for gate_set in SUITE:
        folder = ensure_data(gate_set, args.data)
        for role, checkpoint in (("shipped", args.shipped), ("candidate", args.candidate)):
            results[role].append(evaluate(checkpoint, folder, args.out, gate_set.tracking))

    print("| set | 10°5cm shipped | 10°5cm candidate | change | 5°2cm shipped | 5°2cm candidate | instances |")
    print("|---|---|---|---|---|---|---|")
    worst = 0.0
    for i, gate_set in enumerate(SUITE):
        a, b = results["shipped"][i]["table"]["mean"], results["candidate"][i]["table"]["mean"]
        change = b["10deg5cm"] - a["10deg5cm"]
        worst = min(worst, change)
        print(
            f"| {gate_set.name} | {100 * a['10deg5cm']:.1f} | {100 * b['10deg5cm']:.1f} | {100 * change:+.1f} "
            f"| {100 * a['5deg2cm']:.1f} | {100 * b['5deg2cm']:.1f} | {a['count']} |"
        )
    gains = {key: pooled(results["candidate"], key) - pooled(results["shipped"], key) for key in POOLED}
    for key in POOLED:
        print(
            f"| **pooled {key}** | {100 * pooled(results['shipped'], key):.2f} | "
            f"{100 * pooled(results['candidate'], key):.2f} | {100 * gains[key]:+.2f} | | | |"
        )
    passed = all(gain > 0 for gain in gains.values()) and worst >= -MAX_SET_LOSS
    print(
        f"\ngate: {'PASS' if passed else 'FAIL'} (pooled gains "
        + ", ".join(f"{key} {100 * gain:+.2f}" for key, gain in gains.items())
        + f"; largest loss of a set at 10°5cm {100 * -worst:.1f} points, at most {100 * MAX_SET_LOSS:.0f} allowed)"
    )
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
