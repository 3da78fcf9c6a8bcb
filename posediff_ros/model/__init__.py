"""The network: PointNet++ encoder, regression head, score head."""

from ..geometry import POSE_DIM
from .network import ModelConfig, PoseNet, count_parameters
from .pointnet2 import EncoderConfig

__all__ = ["POSE_DIM", "EncoderConfig", "ModelConfig", "PoseNet", "count_parameters"]
