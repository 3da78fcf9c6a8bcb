"""The encoder as inference runs it: BatchNorm folded, bfloat16 where the hardware has it,
optionally compiled, and warmed up before the first frame.

Training keeps the plain `PointNet2Encoder` (BatchNorm needs its batch statistics there);
the engine builds an `InferenceEncoder` from the same weights once, so a checkpoint of any
age gives the same features up to rounding (test_model.py checks both precisions).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from ..settings import check_choices, setting
from .pointnet2 import PointNet2Encoder, farthest_point_sample

PRECISIONS = ("auto", "float32", "bfloat16")
BUCKETS = (1, 2, 4, 8, 16, 32, 64)  # compiled batch sizes: a frame's objects are padded up to one


def bf16_is_fast(device: torch.device) -> bool:
    """bfloat16 pays on CUDA and on CPUs with native bf16 (AVX512-BF16/AMX: 1.5x per training step,
    2-3x per encoder pass); elsewhere, e.g. on AMD CPUs without it, it would be emulated and slower."""
    if device.type == "cuda":
        return True
    if device.type != "cpu" or not torch.backends.mkldnn.is_available():
        return False
    return torch.ops.mkldnn._is_mkldnn_bf16_supported()


@dataclass
class InferenceSettings:
    """How the engine runs the encoder; the node's parameters and `evaluate`'s options of the same name."""

    precision: str = setting(
        "auto",
        "Encoder arithmetic: auto (bfloat16 on CUDA and on CPUs with native bf16, else float32), float32 or bfloat16",
        choices=PRECISIONS,
    )
    compile: bool = setting(
        False,
        "torch.compile the encoder for each batch size of BUCKETS at start-up (needs a C++ compiler; "
        "falls back to eager with a message when compiling fails)",
    )

    def __post_init__(self):
        check_choices(self)

    def dtype(self, device: torch.device) -> torch.dtype:
        if self.precision == "auto":
            return torch.bfloat16 if bf16_is_fast(device) else torch.float32
        return getattr(torch, self.precision)


class InferenceEncoder:
    """(B, N, 3) centred points -> (B, 1024) float32 features, as `PointNet2Encoder` computes them.

    With `compile`, each batch size is padded up to one of BUCKETS, so that a frame with a
    new number of objects reuses a compiled graph instead of compiling another; the
    farthest-point loop stays outside the graph (unrolled, it would take minutes to compile).
    A failing compilation falls back to eager with a warning.
    """

    def __init__(self, encoder: PointNet2Encoder, device: torch.device, settings: InferenceSettings | None = None):
        self.settings = settings or InferenceSettings()
        self.dtype = self.settings.dtype(device)
        self.encoder = encoder.folded(self.dtype).to(device)
        self.num_centres = encoder.centres[0]
        self.compiled = torch.compile(self.encoder.abstract, dynamic=False) if self.settings.compile else None

    @torch.no_grad()
    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        order = farthest_point_sample(points, self.num_centres).to(points.device)
        B = points.shape[0]
        if self.compiled is None or B > BUCKETS[-1]:
            return self.encoder.abstract(points, order)
        size = next(b for b in BUCKETS if b >= B)
        if size > B:  # copies of the first object fill the bucket
            points = torch.cat((points, points[:1].expand(size - B, -1, -1)))
            order = torch.cat((order, order[:1].expand(size - B, -1)))
        try:
            return self.compiled(points, order)[:B]
        except Exception as error:  # noqa: BLE001 - any backend failure (no C++ compiler, ...) means eager
            warnings.warn(
                f"torch.compile failed, running the encoder eager: {type(error).__name__}: {error}", stacklevel=2
            )
            self.compiled = None
            return self.encoder.abstract(points[:B], order[:B])


def warm_up_sizes(settings: InferenceSettings) -> tuple[int, ...]:
    """The batch sizes to run before the first frame: every bucket when compiling, else the
    few sizes whose first oneDNN set-up is slowest."""
    return BUCKETS if settings.compile else (1, 2, 4)
