"""Synthetic category-level depth scenes (shapes, scenes, rendering, noise), the on-disk
dataset layout of docs/conventions.md §6, and a streaming training dataset."""

from .layout import Frame, SyntheticDataset, read_frame, write_frame
from .noise import DepthNoise, MaskNoise
from .render import FrameInstance, SceneRenderer, SyntheticFrame, render_frame
from .scene import CameraPose, Scene, SceneConfig, add_occluders, camera_trajectory, sample_camera, sample_scene
from .shapes import Shape, load_mesh, make_shape, sample_shape
from .stream import SyntheticPoseStream

__all__ = [
    "CameraPose",
    "DepthNoise",
    "Frame",
    "FrameInstance",
    "MaskNoise",
    "Scene",
    "SceneConfig",
    "SceneRenderer",
    "Shape",
    "SyntheticDataset",
    "SyntheticFrame",
    "SyntheticPoseStream",
    "add_occluders",
    "camera_trajectory",
    "load_mesh",
    "make_shape",
    "read_frame",
    "render_frame",
    "sample_camera",
    "sample_scene",
    "sample_shape",
    "write_frame",
]
