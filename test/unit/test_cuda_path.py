"""The engine's hot path on CUDA: no host synchronisation inside the encoder and the sampler.

Runs only where a CUDA GPU is (scripts/device_bench.sh runs it on a lent GPU machine); CI has none.
"""

from pathlib import Path

import pytest
import torch

from posediff_ros.estimator import PoseEstimator, SamplerSettings
from posediff_ros.model.inference import InferenceSettings

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "posediff_default.pt"

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (CI has none)")


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_the_encoder_and_the_sampler_never_wait_for_the_gpu(precision):
    engine = PoseEstimator.from_checkpoint(
        SHIPPED, "cuda", settings=SamplerSettings(num_samples=4), inference=InferenceSettings(precision=precision)
    )
    points = torch.randn(5, 1024, 3, device="cuda", generator=torch.Generator("cuda").manual_seed(0)) * 0.05
    engine.warm_up()
    torch.cuda.set_sync_debug_mode("error")  # any implicit device-to-host wait raises
    try:
        feature = engine.encoder(points)
        fresh = engine.sample(feature, None, 0.55, 10)
        tracked = engine.sample(feature, fresh[:, 0], 0.15, 4)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert torch.isfinite(tracked).all()
