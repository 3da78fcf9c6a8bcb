"""Where a training step's time goes: data, forward, backward, optimizer, and the top operators.

    .venv/bin/python benchmarks/profile_train_step.py [--checkpoint PATH] [--batch 32] [--steps 8]
        [--no-amp] [--compile] [--threads N]

Times the joint objective (regression + score matching, 20 draws per pose) as `train`
runs it: bf16 autocast where the CPU has native bf16, Adam, gradient clipping. The data
time is that of the synthetic stream in this process (`train` renders in `workers`
processes beside the step, so it costs cores, not step latency). `--compile` wraps the
objective in `torch.compile` (the first steps, which compile, are not timed). The network
is the shipped model's (its centre counts decide the cost). Prints medians and the
machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from itertools import islice
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import model_or_exit  # noqa: E402
from machine import describe_machine  # noqa: E402

from posediff_ros.data.stream import SyntheticPoseStream  # noqa: E402
from posediff_ros.geometry import centre_points, pose_to_vector  # noqa: E402
from posediff_ros.model.inference import bf16_is_fast  # noqa: E402
from posediff_ros.objective import TrainingObjective  # noqa: E402
from posediff_ros.symmetry import SymmetryBatch  # noqa: E402

WARM_UP = 3


def batches(count: int, size: int) -> tuple[list[dict], float]:
    """`count` batches of the training stream, and its samples/s in this process."""
    stream = iter(SyntheticPoseStream(seed=0, split="train"))
    start = time.perf_counter()
    samples = list(islice(stream, count * size))
    rate = len(samples) / (time.perf_counter() - start)
    out = []
    for i in range(count):
        chunk = samples[i * size : (i + 1) * size]
        out.append({key: torch.stack([torch.as_tensor(s[key]) for s in chunk]) for key in chunk[0]})
    return out, rate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, help="default: the shipped model")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=8, help="timed steps (after the warm-up)")
    parser.add_argument("--no-amp", action="store_true", help="float32 instead of bf16 autocast")
    parser.add_argument("--compile", action="store_true", help="torch.compile the objective")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    model, device, checkpoint = model_or_exit(args.checkpoint, "cpu")
    model.train()
    objective = TrainingObjective(model, "joint")
    step_objective = torch.compile(objective) if args.compile else objective
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-5)
    amp = not args.no_amp and bf16_is_fast(device)
    data, data_rate = batches(WARM_UP + args.steps, args.batch)

    phases: dict[str, list[float]] = {"forward": [], "backward": [], "optimizer": []}
    profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
    for i, batch in enumerate(data):
        profiled = i == WARM_UP
        if profiled:
            profiler.__enter__()
        points, centroid = centre_points(batch["points"])
        target = pose_to_vector(batch["R"], batch["t"] - centroid)
        tic = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            terms = step_objective(points, target, SymmetryBatch.from_flags(batch["symmetric"]))
        forward = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        backward = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        done = time.perf_counter()
        if profiled:
            profiler.__exit__(None, None, None)
        if i >= WARM_UP:
            phases["forward"].append(forward - tic)
            phases["backward"].append(backward - forward)
            phases["optimizer"].append(done - backward)

    step = sum(statistics.median(v) for v in phases.values())
    print(f"machine: {describe_machine(device)}")
    print(
        f"model: {checkpoint} (centres {model.config.encoder.centres}), batch {args.batch}, "
        f"{'bf16 autocast' if amp else 'float32'}{', torch.compile' if args.compile else ''}"
    )
    for name, values in phases.items():
        median = statistics.median(values)
        print(f"  {name:<10} {1000 * median:8.1f} ms  ({100 * median / step:4.1f} %)")
    print(f"  step       {1000 * step:8.1f} ms  -> {args.batch / step:.1f} samples/s")
    print(f"  data       {1000 * args.batch / data_rate:8.1f} ms per batch in one process ({data_rate:.0f} samples/s)")
    print("\ntop operators of one step (self CPU time):")
    print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=15, max_name_column_width=40))


if __name__ == "__main__":
    main()
