"""scripts/interpolate_weights.py: weight interpolation of two checkpoints of one network."""

import sys
from pathlib import Path

import pytest
import torch

from posediff_ros.checkpoint import CheckpointError, load_checkpoint, load_model, save_checkpoint
from posediff_ros.model import ModelConfig, PoseNet

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import interpolate_weights  # noqa: E402


def test_interpolation_mixes_floating_weights_and_keeps_the_flag(tmp_path):
    torch.manual_seed(0)
    base, tuned = PoseNet(), PoseNet()
    tuned.regression_head_trained = True
    save_checkpoint(tmp_path / "base.pt", base)
    save_checkpoint(tmp_path / "tuned.pt", tuned, stage="joint", step=7)
    interpolate_weights.main(
        [str(tmp_path / "base.pt"), str(tmp_path / "tuned.pt"), "--weight", "0.25", "--out", str(tmp_path / "mixed.pt")]
    )
    mixed, payload = load_model(tmp_path / "mixed.pt")
    a, b, m = base.state_dict(), tuned.state_dict(), mixed.state_dict()
    for key in a:
        if a[key].is_floating_point():
            torch.testing.assert_close(m[key], 0.75 * a[key] + 0.25 * b[key])
        else:
            assert torch.equal(m[key], b[key])
    assert mixed.regression_head_trained and payload["step"] == 7
    assert load_checkpoint(tmp_path / "mixed.pt")["interpolated"]["weight"] == 0.25


def test_different_networks_are_refused(tmp_path):
    save_checkpoint(tmp_path / "a.pt", PoseNet())
    save_checkpoint(tmp_path / "b.pt", PoseNet(ModelConfig(time_dim=32)))
    with pytest.raises(SystemExit, match="different networks"):
        interpolate_weights.main(
            [str(tmp_path / "a.pt"), str(tmp_path / "b.pt"), "--weight", "0.5", "--out", str(tmp_path / "c.pt")]
        )
    with pytest.raises(CheckpointError):
        interpolate_weights.interpolate(PoseNet(), PoseNet(ModelConfig(time_dim=32)), 0.5)
