"""posediff_ros: category-level 6D object pose estimation with score-scaled pose diffusion.

The engine is ROS-free: `from posediff_ros import PoseEstimator` needs only NumPy and
PyTorch. The ROS 2 nodes live in `posediff_ros.ros`, the only part importing rclpy.
"""

from .estimator import FrameEstimate, ObjectPose, PoseEstimator, SamplerSettings
from .geometry import CAMERA25_INTRINSICS, REAL275_INTRINSICS, Intrinsics

__all__ = [
    "CAMERA25_INTRINSICS",
    "REAL275_INTRINSICS",
    "FrameEstimate",
    "Intrinsics",
    "ObjectPose",
    "PoseEstimator",
    "SamplerSettings",
]
