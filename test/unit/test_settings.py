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
from posediff_ros.ros.parameters import NODE_PARAMETERS, PARAMETERS, RENAMED, parameter_file
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
    assert all(new in parameters and old not in parameters for old, new in RENAMED.items())


def test_parameter_file_is_the_declared_parameters():
    text = (REPO / "config" / "estimator.yaml").read_text()
    written = {p.name: p.default for p in PARAMETERS if p.default != []}  # empty lists: commented out
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


def test_the_old_option_name_still_works_for_a_release(capsys):
    args = evaluate._parser().parse_args(["--data", "d", "--schedule", "linear", "--samples", "3"])
    assert evaluate.sampler_settings(args) == SamplerSettings(scaling="linear", num_samples=3)
    assert "--schedule is deprecated and will be removed in the next release; use --scaling" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("rclpy") is None, reason="rclpy is not installed")
@pytest.mark.parametrize("given", [{"schedule": "linear"}, {"schedule": "linear", "scaling": "constant"}, {}])
def test_the_old_parameter_name_still_works_for_a_release(rclpy_context, given):
    import rclpy
    from rclpy.parameter import Parameter

    from posediff_ros.ros.parameters import read_parameters

    node = rclpy.create_node(
        "posediff_parameters",
        context=rclpy_context,
        parameter_overrides=[Parameter(name, value=value) for name, value in given.items()],
    )
    warnings = []
    node.get_logger().warning = warnings.append
    try:
        values = read_parameters(node)
        expected = given.get("scaling", given.get("schedule", "exponential"))  # the new name wins
        assert values["scaling"] == node.get_parameter("scaling").value == expected
        assert len(warnings) == ("schedule" in given) and all("'schedule' is deprecated" in w for w in warnings)
    finally:
        node.destroy_node()
