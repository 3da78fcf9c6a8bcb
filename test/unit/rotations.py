"""Random rotations for tests (the package itself never draws one)."""

import torch
import torch.nn.functional as F

from posediff_ros.geometry import quaternion_to_matrix


def random_rotation(*shape: int, generator: torch.Generator | None = None, dtype=torch.float32) -> torch.Tensor:
    """Rotations uniform on SO(3) (normalised Gaussian quaternions), shape (*shape, 3, 3)."""
    q = F.normalize(torch.randn(*shape, 4, generator=generator, dtype=dtype), dim=-1)
    return quaternion_to_matrix(q)
