"""The estimator node's parameters and the engine they make.

The parameters are the fields of the engine's `InferenceSettings`, `SamplerSettings` and `TrackingSettings`,
with their defaults, descriptions, ranges and choices (settings.py), and the node's own, in
groups of the same kind; the node reads them once into a frozen `NodeParameters`.
config/estimator.yaml is `parameter_file()` written out (`python -m posediff_ros.ros.parameters
> config/estimator.yaml`; test_settings.py checks it). Importing this module needs no ROS,
so that check runs anywhere.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any, get_type_hints

from ..categories import Category, CategoryTable
from ..checkpoint import checkpoint_file
from ..estimator import PoseEstimator, SamplerSettings
from ..geometry import MIN_POINTS
from ..labels import LabelEncoding
from ..model.inference import InferenceSettings
from ..settings import Setting, check_values, described, setting
from ..tracking import TrackingSettings

MASK_SOURCES = ("mask", "detections")


@dataclass(frozen=True)
class ModelParameters:
    """Which model runs where."""

    model_path: str = setting("", "Checkpoint file; empty = the shipped model models/posediff_default.pt")
    device: str = setting("auto", "Torch device: auto (cuda when available, else cpu), cpu, cuda or cuda:N")
    num_threads: int = setting(0, "CPU threads for PyTorch; 0 = PyTorch's default", range=(0, 256))


@dataclass(frozen=True)
class ObjectParameters:
    """Where a frame's objects come from, which of them are published and under what names."""

    min_points: int = setting(MIN_POINTS, "Valid depth points an object needs; fewer: skipped", range=(1, 1000000))
    mask_source: str = setting(
        "mask",
        "Where objects come from: mask (label images on 'mask') or detections (vision_msgs/Detection2DArray "
        "on 'detections', boxes in the depth image's pixels)",
        choices=MASK_SOURCES,
    )
    min_score: float = setting(
        0.0,
        "Poses whose confidence score (P(within 10°5cm)) is below this are not published (counted in "
        "diagnostics); 0 = publish all",
        range=(0.0, 1.0),
    )
    label_encoding: LabelEncoding = setting(
        LabelEncoding.PANOPTIC,
        "Mask labels: panoptic (category_id * 1000 + k), instance (instance ids of instance_category) or "
        "semantic (category id per pixel, split into instances by connectivity and depth)",
        choices=tuple(e.value for e in LabelEncoding),
    )
    instance_category: str = setting("", "The category of every object when label_encoding is instance")
    # a tuple: a frozen dataclass field cannot default to a list
    categories: tuple[str, ...] = setting(
        (),
        "Mask category ids: empty = the checkpoint's category table as it is; entries 'id:name' give the "
        "segmenter's id of each of the checkpoint's categories to use (their symmetry is the checkpoint's)",
    )
    class_map: str = setting(
        "",
        "With mask_source detections: YAML file naming the category of each detector class_id (names or numeric "
        "ids); empty = class_ids are category names. config/coco_classes.yaml maps COCO detectors' classes",
    )
    frame_prefix: str = setting("posediff/", "Prefix of the objects' TF frames <prefix><category>_<k>")


@dataclass(frozen=True)
class SubscriptionParameters:
    """How the inputs are received and paired."""

    qos_reliability: str = setting(
        "best_effort",
        "Reliability of the depth and mask subscriptions (best_effort matches every publisher)",
        choices=("best_effort", "reliable"),
    )
    qos_depth: int = setting(5, "History depth of the depth and mask subscriptions", range=(1, 1000))
    camera_info_qos: str = setting(
        "best_effort",
        "Camera info subscription: best_effort (matches every publisher), "
        "reliable, or transient_local (latched publishers)",
        choices=("best_effort", "reliable", "transient_local"),
    )
    sync_queue_size: int = setting(10, "Synchronizer queue per input (messages)", range=(1, 1000))
    sync_slop: float = setting(
        0.05, "Largest stamp difference in seconds between a depth and its mask", range=(1e-6, 10.0)
    )


@dataclass(frozen=True)
class OutputParameters:
    """What is published besides the poses."""

    publish_tf: bool = setting(True, "Broadcast one TF frame per object")
    publish_markers: bool = setting(True, "Publish ~/markers (boxes, axes, labels)")
    publish_points: bool = setting(False, "Publish ~/points: the objects' back-projected depth points")
    publish_overlay: bool = setting(False, "Publish ~/overlay: boxes drawn on the depth image")
    publish_diagnostics: bool = setting(True, "Publish /diagnostics (rate, latency, objects, drops)")
    diagnostics_period: float = setting(1.0, "Seconds between /diagnostics messages", range=(0.05, 3600.0))


@dataclass(frozen=True)
class NodeParameters:
    """The estimator node's parameters, read once at start-up. Each field is a group of parameters
    (a settings dataclass), or, `track`, a parameter itself; config/estimator.yaml lists them in
    this order: model, inference, sampling, tracking, input, output."""

    model: ModelParameters = field(default_factory=ModelParameters)
    inference: InferenceSettings = field(default_factory=InferenceSettings)
    sampler: SamplerSettings = field(default_factory=SamplerSettings)
    track: bool = setting(True, "Sample tracked objects from their previous pose (tracking mode)")
    tracking: TrackingSettings = field(default_factory=TrackingSettings)
    objects: ObjectParameters = field(default_factory=ObjectParameters)
    subscriptions: SubscriptionParameters = field(default_factory=SubscriptionParameters)
    outputs: OutputParameters = field(default_factory=OutputParameters)


def groups() -> dict[str, type | None]:
    """NodeParameters' fields in order: the settings dataclass of each group, None for a parameter."""
    hints = get_type_hints(NodeParameters)
    return {f.name: None if "description" in f.metadata else hints[f.name] for f in fields(NodeParameters)}


def group_parameters(name: str, cls: type | None) -> list[Setting]:
    """The parameters of NodeParameters' field `name`: those of its group `cls`, or itself."""
    if cls is not None:
        return described(cls)
    f = next(f for f in fields(NodeParameters) if f.name == name)
    return [Setting(f.name, f.default, f.metadata["description"], f.metadata["range"], f.metadata["choices"])]


ENGINE_SETTINGS = (InferenceSettings, SamplerSettings, TrackingSettings)
"""The engine's settings, checked by their own dataclasses; the other parameters are the node's."""
PARAMETERS = [s for name, cls in groups().items() for s in group_parameters(name, cls)]
NODE_PARAMETERS = [
    s for name, cls in groups().items() if cls not in ENGINE_SETTINGS for s in group_parameters(name, cls)
]

KEEP_TOGETHER = "\u00a0"  # a space that textwrap does not break at: a range or the choices stay on one line
PARAMETER_FILE_HEADER = """\
# Parameters of the posediff_ros estimator node (`estimator`, node name posediff_estimator).
# Used by launch/estimator.launch.py (params_file:=...) or directly:
#   estimator --ros-args --params-file config/estimator.yaml
# Topic names are not parameters: remap depth, mask, camera_info and object_poses.
# All parameters are read at start-up (read-only afterwards).
# Written from the settings' definitions by `python -m posediff_ros.ros.parameters`.
/**:
  ros__parameters:
"""


def parameter_file() -> str:
    """config/estimator.yaml: every parameter with its default, and its description, range
    and choices as the comment above it; one whose default is an empty list commented out."""
    lines = []
    for p in PARAMETERS:
        comment = p.description + (f" [{p.range[0]},{KEEP_TOGETHER}{p.range[1]}]" if p.range else "")
        comment += f" ({f'{KEEP_TOGETHER}|{KEEP_TOGETHER}'.join(p.choices)})" if p.choices else ""
        lines += [
            line.replace(KEEP_TOGETHER, " ")
            for line in textwrap.wrap(comment, width=110, initial_indent="    # ", subsequent_indent="    # ")
        ]
        # An empty list has no type in a parameter file (rcl leaves it unset, rclcpp refuses it),
        # so a parameter whose default is one is shown as a comment: unset, it has that default.
        lines.append(f"    {'# ' if p.default == () else ''}{p.name}: {json.dumps(p.default)}")
    return PARAMETER_FILE_HEADER + "\n".join(lines) + "\n"


def descriptor(p: Setting):
    """The ParameterDescriptor of a parameter: description, range, choices; read-only (read at start-up only)."""
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

    d = ParameterDescriptor(description=p.description, read_only=True)
    if p.range and isinstance(p.default, float):
        d.floating_point_range = [FloatingPointRange(from_value=float(p.range[0]), to_value=float(p.range[1]))]
    elif p.range:
        d.integer_range = [IntegerRange(from_value=int(p.range[0]), to_value=int(p.range[1]), step=1)]
    if p.choices:
        d.additional_constraints = "one of: " + ", ".join(p.choices)
    return d


def declare(node, parameters: list[Setting]) -> None:
    """Declare `parameters` on `node` (read-only, with their descriptors).

    rclpy would type an empty list default as a byte array and then refuse a list of
    strings, so such a parameter is declared as a string array without a value; left
    unset (or set to [] in a parameter file, which rcl reads as unset) it has its default.
    """
    from rclpy.parameter import Parameter

    for p in parameters:
        node.declare_parameter(p.name, Parameter.Type.STRING_ARRAY if p.default == () else p.default, descriptor(p))


def parameter_values(node, parameters: list[Setting]) -> dict[str, Any]:
    """The values of `node`'s declared `parameters`, by name (an unset list: its default)."""
    from rclpy.exceptions import ParameterUninitializedException

    values = {}
    for p in parameters:
        try:
            values[p.name] = node.get_parameter(p.name).value
        except ParameterUninitializedException:
            values[p.name] = p.default
    return values


def settings_from(cls: type, values: dict[str, Any]) -> Any:
    """The settings dataclass `cls` of the parameter `values` of its fields, each as its field's
    type: a list as a tuple, a string as the field's Enum."""
    return cls(**{s.name: typed(values[s.name], s.default) for s in described(cls)})


def read_settings(node, cls: type) -> Any:
    """The settings dataclass `cls` of `node`'s declared parameters of its fields' names; ValueError
    names the first value that is not one of its choices."""
    settings = described(cls)
    values = parameter_values(node, settings)
    check_values(values, settings, kind="parameter ")
    return settings_from(cls, values)


def typed(value: Any, default: Any) -> Any:
    """A parameter's value as the type of its field's `default`."""
    if isinstance(default, tuple):
        return tuple(value)
    if isinstance(default, Enum):
        return type(default)(value)
    return value


def declare_parameters(node) -> None:
    """Declare the estimator node's parameters; ValueError names the first of the node's own whose
    value is not one of its choices (the engine's settings are checked when they are read)."""
    declare(node, PARAMETERS)
    check_values(parameter_values(node, NODE_PARAMETERS), NODE_PARAMETERS, kind="parameter ")


def read_parameters(node) -> NodeParameters:
    """The estimator node's parameters (declared by `declare_parameters`); ValueError for a value that
    is not one of its choices (the engine's settings say so through their dataclasses)."""
    values = parameter_values(node, PARAMETERS)
    check_values(values, NODE_PARAMETERS, kind="parameter ")
    return NodeParameters(
        **{name: settings_from(cls, values) if cls else values[name] for name, cls in groups().items()}
    )


def parse_category_entry(entry: str) -> tuple[int, str]:
    """'id:name' -> (id, name)."""
    fields = entry.split(":")
    if len(fields) != 2 or not fields[0].isdigit():
        raise ValueError(f"parameter categories: entry {entry!r} is not 'id:name' (e.g. '3:mug')")
    return int(fields[0]), fields[1]


def node_categories(
    entries: tuple[str, ...], checkpoint: CategoryTable, source: str = "the checkpoint"
) -> CategoryTable:
    """The node's category table (docs/conventions.md §1): `checkpoint`'s as it is when `entries`
    is empty, else the categories named by the entries 'id:name' under the mask ids given
    there, each with the checkpoint's symmetry. ValueError for a name the checkpoint lacks or
    a repeated id or name. `source` names the checkpoint in messages."""
    if not entries:
        return checkpoint
    parsed = [parse_category_entry(e) for e in entries]
    unknown = [name for _, name in parsed if name not in checkpoint]
    if unknown:
        raise ValueError(
            f"parameter categories names {', '.join(map(repr, unknown))}, not a category of {source}; "
            f"its categories are {', '.join(checkpoint.names)}"
        )
    try:
        return CategoryTable(Category(cid, name, checkpoint.by_name(name).symmetry) for cid, name in parsed)
    except ValueError as error:
        raise ValueError(f"parameter categories: {error}") from None


def load_engine(p: NodeParameters) -> tuple[str | Path, PoseEstimator]:
    """The model file the parameters name and the engine they configure."""
    import torch

    if p.model.num_threads:
        torch.set_num_threads(p.model.num_threads)
    path = checkpoint_file(p.model.model_path, "model_path")
    engine = PoseEstimator.from_checkpoint(
        path,
        p.model.device,
        settings=p.sampler,
        inference=p.inference,
        min_points=p.objects.min_points,
        tracking=p.tracking,
    )
    engine.categories = node_categories(p.objects.categories, engine.categories, f"checkpoint {path}")
    if p.objects.label_encoding is LabelEncoding.INSTANCE and p.objects.instance_category not in engine.categories:
        raise ValueError(
            f"label_encoding 'instance' needs instance_category to be one of {engine.categories.names}, "
            f"not {p.objects.instance_category!r}"
        )
    return path, engine


if __name__ == "__main__":
    print(parameter_file(), end="")
