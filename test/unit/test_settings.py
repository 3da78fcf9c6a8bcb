"""Settings defined once: the engine's dataclass fields carry each setting's default,
description, range and choices; the node's ROS parameters, `evaluate`'s options and
config/estimator.yaml are derived from them. These tests fail when one of them drifts.
"""

import importlib.util
from pathlib import Path

import pytest
import yaml

from posediff_ros import evaluate
from posediff_ros.diffusion import SCALINGS
from posediff_ros.estimator import SamplerSettings
from posediff_ros.model.inference import InferenceSettings
from posediff_ros.ros.parameters import NODE_PARAMETERS, PARAMETERS, NodeParameters, parameter_file
from posediff_ros.settings import described
from posediff_ros.tracking import TrackingSettings

REPO = Path(__file__).resolve().parents[2]
ENGINE_SETTINGS = (InferenceSettings, SamplerSettings, TrackingSettings)


@pytest.mark.parametrize("cls", ENGINE_SETTINGS, ids=lambda c: c.__name__)
def test_every_engine_setting_is_described(cls):
    defaults = cls()
    for s in described(cls):
        assert s.description and getattr(defaults, s.name) == s.default
        assert s.choices is None or s.default in s.choices
        assert s.range is None or s.range[0] <= s.default <= s.range[1]
    assert {s.name: s.choices for s in described(SamplerSettings)}["scaling"] == SCALINGS


def test_node_parameters_are_the_engine_settings_and_the_nodes_own():
    parameters = {p.name: p for p in PARAMETERS}
    assert len(parameters) == len(PARAMETERS), "a parameter is declared twice"
    engine = [s for cls in ENGINE_SETTINGS for s in described(cls)]
    assert [parameters[s.name] for s in engine] == engine
    assert set(parameters) == {s.name for s in engine} | {p.name for p in NODE_PARAMETERS}
    for p in NODE_PARAMETERS:
        assert p.description and (p.choices is None or p.default in p.choices)
        assert p.range is None or p.range[0] <= p.default <= p.range[1]


def test_parameter_file_is_the_declared_parameters():
    text = (REPO / "config" / "estimator.yaml").read_text()
    written = {p.name: p.default for p in PARAMETERS if p.default != ()}  # empty lists: commented out
    assert yaml.safe_load(text)["/**"]["ros__parameters"] == written
    assert text == parameter_file(), (
        "a description, range or choice differs from config/estimator.yaml; "
        "rewrite it: python -m posediff_ros.ros.parameters > config/estimator.yaml"
    )


def test_evaluate_options_are_the_engine_settings():
    parser = evaluate._parser()
    args = parser.parse_args(["--data", "d"])
    assert evaluate.sampler_settings(args) == SamplerSettings()
    tracking = TrackingSettings()
    assert all(getattr(args, name) == getattr(tracking, name) for name in evaluate.TRACKING_OPTIONS)
    choices = {a.dest: a.choices for a in parser._actions if a.help != "==SUPPRESS=="}
    tracking_options = [s for s in described(TrackingSettings) if s.name in evaluate.TRACKING_OPTIONS]
    options = described(SamplerSettings) + tracking_options
    assert all(choices[s.name] == s.choices for s in options)


@pytest.mark.skipif(importlib.util.find_spec("rclpy") is None, reason="rclpy is not installed")
def test_the_node_reads_its_parameters_into_its_settings(rclpy_context):
    import rclpy
    from rclpy.parameter import Parameter

    from posediff_ros.labels import LabelEncoding
    from posediff_ros.ros.parameters import declare, read_parameters

    given = {
        "scaling": "linear",
        "max_missed": 9,
        "label_encoding": "instance",
        "categories": ["3:mug"],
        "track": False,
    }
    node = rclpy.create_node(
        "posediff_parameters",
        context=rclpy_context,
        parameter_overrides=[Parameter(name, value=value) for name, value in given.items()],
    )
    try:
        declare(node, PARAMETERS)
        p = read_parameters(node)
        assert p.sampler.scaling == "linear" and p.tracking.max_missed == 9 and not p.track
        assert p.objects.label_encoding is LabelEncoding.INSTANCE and p.objects.categories == ("3:mug",)
        assert p.model == NodeParameters().model  # the rest keep their defaults
        with pytest.raises(AttributeError):  # read once: frozen
            p.track = True
    finally:
        node.destroy_node()


@pytest.mark.skipif(importlib.util.find_spec("rclpy") is None, reason="rclpy is not installed")
@pytest.mark.parametrize("name, value", [("mask_source", "boxes"), ("scaling", "cubic")])
def test_a_value_outside_the_choices_is_refused(rclpy_context, name, value):
    import rclpy
    from rclpy.parameter import Parameter

    from posediff_ros.ros.parameters import declare, read_parameters

    node = rclpy.create_node(
        "posediff_parameters", context=rclpy_context, parameter_overrides=[Parameter(name, value=value)]
    )
    try:
        declare(node, PARAMETERS)
        with pytest.raises(ValueError, match=f"{name} must be one of .*, not '{value}'"):
            read_parameters(node)
    finally:
        node.destroy_node()
