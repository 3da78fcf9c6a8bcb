"""Where each encoder stage stands against this machine's arithmetic and memory limits.

    .venv/bin/python benchmarks/roofline.py [--objects 1 5] [--checkpoint PATH] [--precision auto]

Measures the machine's matrix throughput (a 2048^3 matrix product in the engine's precision)
and memory bandwidth (a 256 MB copy), then times each stage of the inference encoder as the
engine runs it (farthest-point sampling, the four set-abstraction layers) and counts, per
object, its FLOPs (torch.utils.flop_counter: the matrix products) and the bytes its operators
read and write (every operator's tensor inputs and outputs: what eager execution moves when
nothing stays in cache between operators). Prints a table and the machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import model_or_exit  # noqa: E402
from machine import describe_machine  # noqa: E402

from posediff_ros.model.inference import InferenceSettings  # noqa: E402
from posediff_ros.model.pointnet2 import farthest_point_sample  # noqa: E402
from posediff_ros.settings import add_options  # noqa: E402


class BytesMoved(TorchDispatchMode):
    """Sums the bytes of every operator's tensor inputs and outputs."""

    def __init__(self):
        super().__init__()
        self.bytes = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        tensors = [x for x in tree_flatten((args, kwargs, out))[0] if isinstance(x, torch.Tensor)]
        self.bytes += sum(t.numel() * t.element_size() for t in tensors)
        return out


def median_ms(fn: Callable[[], object], repeats: int = 30) -> float:
    for _ in range(5):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def machine_limits(dtype: torch.dtype) -> tuple[float, float]:
    """(matrix GFLOP/s in dtype, memory GB/s read + write)."""
    a, b = torch.randn(2048, 2048).to(dtype), torch.randn(2048, 2048).to(dtype)
    gflops = 2 * 2048**3 / median_ms(lambda: a @ b, 10) / 1e6
    big = torch.empty(64 * 2**20, dtype=torch.float32)  # 256 MB
    target = torch.empty_like(big)
    bandwidth = 2 * big.numel() * 4 / median_ms(lambda: target.copy_(big), 10) / 1e6
    return gflops, bandwidth


def stages(encoder, points: torch.Tensor) -> dict[str, Callable[[], object]]:
    """Each stage of one encoder pass as a call on the inputs it gets there."""
    order = farthest_point_sample(points, encoder.centres[0])
    calls = {"farthest points": lambda: farthest_point_sample(points, encoder.centres[0])}
    xyz, features = points, None
    for i, layer in enumerate(encoder.layers):
        if i == len(encoder.centres):
            index = None
        elif i == 0:
            index = order
        else:
            index = torch.arange(encoder.centres[i]).expand(points.shape[0], -1)
        calls[f"set abstraction {i + 1}"] = lambda layer=layer, a=(xyz, features, index): layer(*a)
        xyz, features = layer(xyz, features, index)
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, nargs="+", default=[1, 5])
    parser.add_argument("--checkpoint", type=Path, help="default: the shipped model")
    add_options(parser, InferenceSettings, ["precision"])
    args = parser.parse_args()
    model, device, checkpoint = model_or_exit(args.checkpoint, "cpu")
    dtype = InferenceSettings(precision=args.precision).dtype(device)
    encoder = model.encoder.folded(dtype)
    gflops, bandwidth = machine_limits(dtype)
    print(f"machine: {describe_machine(device)}")
    print(f"network: {checkpoint}; encoder centres {model.config.encoder.centres}; layers in {dtype}")
    print(f"measured limits: {gflops:.0f} GFLOP/s ({dtype} 2048^3 matrix product), {bandwidth:.1f} GB/s (copy)\n")
    print("| objects | stage | ms | MFLOP / object | MB / object | FLOP/byte | GFLOP/s | GB/s | bound |")
    print("|---|---|---|---|---|---|---|---|---|")
    ridge = gflops / bandwidth
    with torch.no_grad():
        for count in args.objects:
            points = torch.randn(count, 1024, 3, generator=torch.Generator().manual_seed(0)) * 0.05
            for name, call in stages(encoder, points).items():
                ms = median_ms(call)
                with FlopCounterMode(display=False) as flops, BytesMoved() as moved:
                    call()
                flop, byte = flops.get_total_flops(), moved.bytes
                intensity = flop / byte if byte else 0.0
                bound = (
                    "overhead"
                    if ms > 2 * max(flop / gflops, byte / bandwidth) / 1e6
                    else ("compute" if intensity > ridge else "memory")
                )
                print(
                    f"| {count} | {name} | {ms:.2f} | {flop / count / 1e6:.1f} | {byte / count / 1e6:.2f} "
                    f"| {intensity:.1f} | {flop / ms / 1e6:.1f} | {byte / ms / 1e6:.2f} | {bound} |"
                )
    print(
        f"\nridge point {ridge:.1f} FLOP/byte; 'overhead': more than twice the time its FLOPs at the measured "
        "matrix rate or its bytes at the measured bandwidth would take (operator dispatch, small kernels)"
    )


if __name__ == "__main__":
    main()
