"""The estimator node's parameters and the engine they make.

The parameters are the fields of the engine's `InferenceSettings`, `SamplerSettings` and `TrackingSettings`,
with their defaults, descriptions, ranges and choices (settings.py), and the node's own.
config/estimator.yaml is `parameter_file()` written out (`python -m posediff_ros.ros.parameters
> config/estimator.yaml`; test_settings.py checks it). Importing this module needs no ROS,
so that check runs anywhere.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..categories import Category, CategoryTable
from ..checkpoint import CheckpointError
from ..estimator import LABEL_ENCODINGS, PoseEstimator, SamplerSettings
from ..geometry import MIN_POINTS
from ..model.inference import InferenceSettings
from ..paths import default_model_candidates, default_model_path
from ..settings import Setting, check_values, described
from ..tracking import TrackingSettings

MASK_SOURCES = ("mask", "detections")
NODE_LABEL_ENCODINGS = (*LABEL_ENCODINGS, "semantic")  # semantic: split into panoptic instances before the engine

# The node's own parameters; the engine's are described on their dataclass fields.
NODE_PARAMETERS = [
    Setting("model_path", "", "Checkpoint file; empty = the shipped model models/posediff_default.pt"),
    Setting("device", "auto", "Torch device: auto (cuda when available, else cpu), cpu, cuda or cuda:N"),
    Setting("num_threads", 0, "CPU threads for PyTorch; 0 = PyTorch's default", (0, 256)),
    Setting("track", True, "Sample tracked objects from their previous pose (tracking mode)"),
    Setting("min_points", MIN_POINTS, "Valid depth points an object needs; fewer: skipped", (1, 1000000)),
    Setting(
        "mask_source",
        "mask",
        "Where objects come from: mask (label images on 'mask') or detections (vision_msgs/Detection2DArray "
        "on 'detections', boxes in the depth image's pixels)",
        choices=MASK_SOURCES,
    ),
    Setting(
        "min_score",
        0.0,
        "Poses whose confidence score (P(within 10°5cm)) is below this are not published (counted in "
        "diagnostics); 0 = publish all",
        (0.0, 1.0),
    ),
    Setting(
        "label_encoding",
        "panoptic",
        "Mask labels: panoptic (category_id * 1000 + k), instance (instance ids of instance_category) or "
        "semantic (category id per pixel, split into instances by connectivity and depth)",
        choices=NODE_LABEL_ENCODINGS,
    ),
    Setting("instance_category", "", "The category of every object when label_encoding is instance"),
    Setting(
        "categories",
        [],
        "Mask category ids: empty = the checkpoint's category table as it is; entries 'id:name' give the "
        "segmenter's id of each of the checkpoint's categories to use (their symmetry is the checkpoint's)",
    ),
    Setting(
        "class_map",
        "",
        "With mask_source detections: YAML file naming the category of each detector class_id (names or numeric "
        "ids); empty = class_ids are category names. config/coco_classes.yaml maps COCO detectors' classes",
    ),
    Setting("frame_prefix", "posediff/", "Prefix of the objects' TF frames <prefix><category>_<k>"),
    Setting(
        "qos_reliability",
        "best_effort",
        "Reliability of the depth and mask subscriptions (best_effort matches every publisher)",
        choices=("best_effort", "reliable"),
    ),
    Setting("qos_depth", 5, "History depth of the depth and mask subscriptions", (1, 1000)),
    Setting(
        "camera_info_qos",
        "best_effort",
        "Camera info subscription: best_effort (matches every publisher), "
        "reliable, or transient_local (latched publishers)",
        choices=("best_effort", "reliable", "transient_local"),
    ),
    Setting("sync_queue_size", 10, "Synchronizer queue per input (messages)", (1, 1000)),
    Setting("sync_slop", 0.05, "Largest stamp difference in seconds between a depth and its mask", (1e-6, 10.0)),
    Setting("publish_tf", True, "Broadcast one TF frame per object"),
    Setting("publish_markers", True, "Publish ~/markers (boxes, axes, labels)"),
    Setting("publish_points", False, "Publish ~/points: the objects' back-projected depth points"),
    Setting("publish_overlay", False, "Publish ~/overlay: boxes drawn on the depth image"),
    Setting("publish_diagnostics", True, "Publish /diagnostics (rate, latency, objects, drops)"),
    Setting("diagnostics_period", 1.0, "Seconds between /diagnostics messages", (0.05, 3600.0)),
]
INFERENCE_PARAMETERS = described(InferenceSettings)
SAMPLER_PARAMETERS = described(SamplerSettings)
TRACKING_PARAMETERS = described(TrackingSettings)
# in this order in config/estimator.yaml: model, inference, sampling, tracking, input, output
PARAMETERS = (
    NODE_PARAMETERS[:3]
    + INFERENCE_PARAMETERS
    + SAMPLER_PARAMETERS
    + NODE_PARAMETERS[3:4]
    + TRACKING_PARAMETERS
    + NODE_PARAMETERS[4:]
)

RENAMED = {"schedule": "scaling"}
"""Old parameter name -> new one: the old name is still read, with a warning, until the next release."""

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
        lines.append(f"    {'# ' if p.default == [] else ''}{p.name}: {json.dumps(p.default)}")
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


def declare(node, parameters: list[Setting]) -> dict[str, Any]:
    """Declare `parameters` on `node` (read-only, with their descriptors); their values.

    rclpy would type an empty list default as a byte array and then refuse a list of
    strings, so such a parameter is declared as a string array without a value; left
    unset (or set to [] in a parameter file, which rcl reads as unset) it has its default.
    """
    from rclpy.exceptions import ParameterUninitializedException
    from rclpy.parameter import Parameter

    values = {}
    for p in parameters:
        node.declare_parameter(p.name, Parameter.Type.STRING_ARRAY if p.default == [] else p.default, descriptor(p))
        try:
            values[p.name] = node.get_parameter(p.name).value
        except ParameterUninitializedException:
            values[p.name] = p.default
    return values


def read_parameters(node) -> dict[str, Any]:
    """Declare the estimator node's parameters and return their values. A value given under an
    old name (RENAMED) becomes the new parameter's default, so that the new name, where given,
    wins. Checks the node's own parameters; the engine checks its settings."""
    under_old_name = {}
    for old, new in RENAMED.items():
        node.declare_parameter(old, "", descriptor(Setting(old, "", f"Deprecated: the old name of {new}")))
        under_old_name[new] = node.get_parameter(old).value
        if under_old_name[new] != "":
            node.get_logger().warning(
                f"parameter '{old}' is deprecated and will be removed in the next release: use '{new}'"
            )
    values = declare(
        node, [replace(p, default=under_old_name[p.name]) if under_old_name.get(p.name) else p for p in PARAMETERS]
    )
    check_values(values, NODE_PARAMETERS, kind="parameter ")
    return values


def parse_category_entry(entry: str) -> tuple[int, str, bool]:
    """'id:name' -> (id, name, False); the deprecated 'id:name:symmetric' -> (id, name, True)."""
    fields = entry.split(":")
    if len(fields) not in (2, 3) or (len(fields) == 3 and fields[2] != "symmetric") or not fields[0].isdigit():
        raise ValueError(f"parameter categories: entry {entry!r} is not 'id:name' (e.g. '3:mug')")
    return int(fields[0]), fields[1], len(fields) == 3


def node_categories(
    entries: list[str], checkpoint: CategoryTable, warn: Callable[[str], None], source: str = "the checkpoint"
) -> CategoryTable:
    """The node's category table (docs/conventions.md §1): `checkpoint`'s as it is when `entries`
    is empty, else the categories named by the entries 'id:name' under the mask ids given
    there, each with the checkpoint's symmetry. ValueError for a name the checkpoint lacks,
    a repeated id or name, or a ':symmetric' the checkpoint disagrees with; `warn` gets the
    deprecation of ':symmetric'. `source` names the checkpoint in messages."""
    if not entries:
        return checkpoint
    parsed = [parse_category_entry(e) for e in entries]
    unknown = [name for _, name, _ in parsed if name not in checkpoint]
    if unknown:
        raise ValueError(
            f"parameter categories names {', '.join(map(repr, unknown))}, not a category of {source}; "
            f"its categories are {', '.join(checkpoint.names)}"
        )
    check_symmetric_suffixes(parsed, checkpoint, warn, source)
    try:
        return CategoryTable(Category(cid, name, checkpoint.by_name(name).symmetry) for cid, name, _ in parsed)
    except ValueError as error:
        raise ValueError(f"parameter categories: {error}") from None


def check_symmetric_suffixes(
    parsed: list[tuple[int, str, bool]], checkpoint: CategoryTable, warn: Callable[[str], None], source: str
) -> None:
    """The old form 'id:name:symmetric' (symmetric about +y): accepted for one release where the
    checkpoint's table agrees, with a warning; refused where it does not."""
    marked = [name for _, name, symmetric in parsed if symmetric]
    disagree = [name for name in marked if not checkpoint.by_name(name).continuous_about_y]
    if disagree:
        symmetries = ", ".join(f"{name} symmetry ({checkpoint.by_name(name).symmetry})" for name in disagree)
        raise ValueError(
            f"parameter categories marks {', '.join(disagree)} ':symmetric' (about +y), but {source} "
            f"has {symmetries}: a checkpoint whose table disagrees with the node's mapping; the symmetry "
            "comes from the checkpoint, so drop ':symmetric'"
        )
    if marked:
        warn(
            "parameter categories: the ':symmetric' suffix is deprecated and will be removed in the next "
            "release; the symmetry comes from the checkpoint (write entries 'id:name')"
        )


def load_engine(p: dict[str, Any], warn: Callable[[str], None]) -> tuple[str | Path, PoseEstimator]:
    """The model file the parameters name and the engine they configure; `warn` gets
    deprecation warnings."""
    import torch

    if p["num_threads"]:
        torch.set_num_threads(p["num_threads"])
    path = p["model_path"] or default_model_path()
    if path is None:
        raise CheckpointError(
            "model_path is empty and no shipped model is installed (looked for "
            + ", ".join(map(str, default_model_candidates()))
            + ")"
        )
    settings = SamplerSettings(**{s.name: p[s.name] for s in SAMPLER_PARAMETERS})
    tracking = {s.name: p[s.name] for s in TRACKING_PARAMETERS}
    inference = InferenceSettings(**{s.name: p[s.name] for s in INFERENCE_PARAMETERS})
    engine = PoseEstimator.from_checkpoint(
        path, p["device"], settings=settings, inference=inference, min_points=p["min_points"], **tracking
    )
    engine.categories = node_categories(p["categories"], engine.categories, warn, f"checkpoint {path}")
    if p["label_encoding"] == "instance" and p["instance_category"] not in engine.categories:
        raise ValueError(
            f"label_encoding 'instance' needs instance_category to be one of {engine.categories.names}, "
            f"not {p['instance_category']!r}"
        )
    return path, engine


if __name__ == "__main__":
    print(parameter_file(), end="")
