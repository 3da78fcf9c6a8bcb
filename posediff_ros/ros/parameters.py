"""The estimator node's parameters and the engine they make.

The parameters are the fields of the engine's `SamplerSettings` and `TrackingSettings`,
with their defaults, descriptions, ranges and choices (settings.py), and the node's own.
config/estimator.yaml is `parameter_file()` written out (`python -m posediff_ros.ros.parameters
> config/estimator.yaml`; test_node_launch.py checks it). Importing this module needs no ROS,
so that check runs anywhere.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..categories import ABOUT_Y, NO_SYMMETRY, NOCS_CATEGORIES, Category, CategoryTable
from ..checkpoint import CheckpointError
from ..estimator import LABEL_ENCODINGS, PoseEstimator, SamplerSettings
from ..geometry import MIN_POINTS
from ..paths import default_model_candidates, default_model_path
from ..settings import Setting, check_values, described
from ..tracking import TrackingSettings

NOCS_ENTRIES = [f"{c.id}:{c.name}" + (":symmetric" if c.symmetric else "") for c in NOCS_CATEGORIES]

# The node's own parameters; the engine's are described on their dataclass fields.
NODE_PARAMETERS = [
    Setting("model_path", "", "Checkpoint file; empty = the shipped model models/posediff_default.pt"),
    Setting("device", "auto", "Torch device: auto (cuda when available, else cpu), cpu, cuda or cuda:N"),
    Setting("num_threads", 0, "CPU threads for PyTorch; 0 = PyTorch's default", (0, 256)),
    Setting("track", True, "Sample tracked objects from their previous pose (tracking mode)"),
    Setting("min_points", MIN_POINTS, "Valid depth points an object needs; fewer: skipped", (1, 1000000)),
    Setting(
        "label_encoding",
        "panoptic",
        "Mask labels: panoptic (category_id * 1000 + k) or instance (instance ids of instance_category)",
        choices=LABEL_ENCODINGS,
    ),
    Setting("instance_category", "", "The category of every object when label_encoding is instance"),
    Setting(
        "categories",
        NOCS_ENTRIES,
        "Category table, entries 'id:name' or 'id:name:symmetric' (symmetric about +y); default NOCS",
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
SAMPLER_PARAMETERS = described(SamplerSettings)
TRACKING_PARAMETERS = described(TrackingSettings)
# in this order in config/estimator.yaml: model, sampling, tracking, input, output
PARAMETERS = NODE_PARAMETERS[:3] + SAMPLER_PARAMETERS + NODE_PARAMETERS[3:4] + TRACKING_PARAMETERS + NODE_PARAMETERS[4:]

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
    and choices as the comment above it."""
    lines = []
    for p in PARAMETERS:
        comment = p.description + (f" [{p.range[0]},{KEEP_TOGETHER}{p.range[1]}]" if p.range else "")
        comment += f" ({f'{KEEP_TOGETHER}|{KEEP_TOGETHER}'.join(p.choices)})" if p.choices else ""
        lines += [
            line.replace(KEEP_TOGETHER, " ")
            for line in textwrap.wrap(comment, width=110, initial_indent="    # ", subsequent_indent="    # ")
        ]
        lines.append(f"    {p.name}: {json.dumps(p.default)}")
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
    """Declare `parameters` on `node` (read-only, with their descriptors); their values."""
    for p in parameters:
        node.declare_parameter(p.name, p.default, descriptor(p))
    return {p.name: node.get_parameter(p.name).value for p in parameters}


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


def category_table(entries: list[str]) -> CategoryTable:
    def parse(entry: str) -> Category:
        fields = entry.split(":")
        if len(fields) not in (2, 3) or (len(fields) == 3 and fields[2] != "symmetric"):
            raise ValueError(f"category entry {entry!r} is not 'id:name' or 'id:name:symmetric'")
        return Category(int(fields[0]), fields[1], ABOUT_Y if len(fields) == 3 else NO_SYMMETRY)

    return CategoryTable([parse(e) for e in entries])


def load_engine(p: dict[str, Any]) -> tuple[str | Path, PoseEstimator]:
    """The model file the parameters name and the engine they configure."""
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
    categories = category_table(p["categories"])
    if p["label_encoding"] == "instance" and p["instance_category"] not in categories:
        raise ValueError(f"label_encoding 'instance' needs instance_category to be one of {categories.names}")
    settings = SamplerSettings(**{s.name: p[s.name] for s in SAMPLER_PARAMETERS})
    tracking = {s.name: p[s.name] for s in TRACKING_PARAMETERS}
    engine = PoseEstimator.from_checkpoint(
        path, p["device"], settings=settings, categories=categories, min_points=p["min_points"], **tracking
    )
    return path, engine


if __name__ == "__main__":
    print(parameter_file(), end="")
