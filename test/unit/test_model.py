import hashlib
from pathlib import Path

import pytest
import torch

from posediff_ros.checkpoint import CheckpointError, load_model, save_checkpoint
from posediff_ros.geometry import centre_points
from posediff_ros.model import ModelConfig, PoseNet, count_parameters
from posediff_ros.model.inference import InferenceSettings
from posediff_ros.model.pointnet2 import EncoderConfig, _farthest_point_sample_torch, ball_query, farthest_point_sample
from posediff_ros.objective import TrainingObjective

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "posediff_default.pt"
SHIPPED_SHA256 = "4c1a5e7a45d26f73874fd0f15aa5fce8ce6e2221cb31bde1fdbeb31f6d912e39"
# (the model of 2026-12-08, models/README.md) The shipped model's outputs for the input of
# test_the_shipped_model_gives_its_reference_outputs, computed with the code it was trained with.
SHIPPED_REGRESSION = [
    [0.726021, 0.457333, -0.258388, 0.0169227, -0.617831, -0.914424, -0.00706413, -0.0139394, -0.0181363],
    [0.220032, -0.0962147, 0.0445352, 0.00675568, -0.383364, -0.73871, -0.0003843, -0.0081325, -0.0228277],
]
SHIPPED_SCORE = [  # at x = 0 and t = 0.1, 0.5
    [-12.824, 22.5466, -15.0426, 9.20667, -734.965, -722.349, -2.70563, -2.25075, -8.54342],
    [0.143312, -0.172354, 0.0583436, 0.0786516, -1.29734, -1.57872, -0.00383821, 0.024588, 0.0304492],
]


def test_parameter_count_matches_the_paper():
    model = PoseNet()
    encoder_and_score = count_parameters(model.encoder) + count_parameters(model.score_head)
    assert encoder_and_score == 2_196_841  # the paper's 2.2 M (GenPose ScoreNet: 2.197 M)
    assert count_parameters(model.regression_head) == 1024 * 512 + 512 + 512 * 512 + 512 + 512 * 9 + 9


def test_shapes_and_zero_initial_score():
    model = PoseNet().eval()
    points = torch.randn(3, 1024, 3) * 0.05
    with torch.no_grad():
        feature = model.encode(points)
        assert feature.shape == (3, 1024)
        assert model.regress(feature).shape == (3, 9)
        score = model.score(feature, torch.randn(3, 9), torch.rand(3))
    assert score.shape == (3, 9) and torch.count_nonzero(score) == 0  # zero-initialised readouts


def test_objects_are_encoded_independently_of_their_batch():
    model = PoseNet().eval()
    points = torch.randn(4, 1024, 3, generator=torch.Generator().manual_seed(0)) * 0.05
    with torch.no_grad():
        together = model.encode(points)
        alone = torch.cat([model.encode(p.unsqueeze(0)) for p in points])
    assert torch.allclose(together, alone, atol=1e-5)


def test_farthest_point_sample_is_nested():
    points = torch.rand(2, 400, 3, generator=torch.Generator().manual_seed(1))
    order = farthest_point_sample(points, 64)
    assert len(set(order[0].tolist())) == 64
    subset = torch.gather(points, 1, order.unsqueeze(-1).expand(-1, -1, 3))
    # a farthest-point sample of the first 64 is their own first 16
    assert torch.equal(farthest_point_sample(subset, 16), torch.arange(16).expand(2, 16))
    # and each new centre is the point farthest from the centres before it
    for k in (1, 10, 63):
        distance_to_chosen = torch.cdist(points[0], subset[0, :k]).min(1).values
        assert torch.isclose(distance_to_chosen[order[0, k]], distance_to_chosen.max())


def test_ball_query_returns_neighbours_inside_the_radius():
    points = torch.rand(1, 500, 3, generator=torch.Generator().manual_seed(2))
    centres = points[:, :10]
    index = ball_query(points, centres, 0.2, 16)
    assert index.shape == (1, 10, 16)
    neighbours = points[0][index[0]]  # (10, 16, 3)
    assert ((neighbours - centres[0].unsqueeze(1)).norm(dim=-1) <= 0.2 + 1e-6).all()
    # a lone point's ball holds only itself, repeated
    lone = torch.cat((points, torch.full((1, 1, 3), 5.0)), 1)
    assert (ball_query(lone, lone[:, -1:], 0.2, 16) == 500).all()


def test_checkpoint_round_trip_and_bad_files(tmp_path):
    model = PoseNet()
    with torch.no_grad():
        model.score_head.readouts[0][-1].weight.normal_()  # make the weights distinguishable
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, step=7)
    loaded, payload = load_model(path)
    assert payload["step"] == 7
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), name

    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "missing.pt")
    (tmp_path / "corrupt.pt").write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_model(tmp_path / "corrupt.pt")
    torch.save({"state_dict": model.state_dict()}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a posediff_ros checkpoint"):
        load_model(tmp_path / "foreign.pt")
    payload["model"].pop("regression_head.mlp.0.weight")
    torch.save(payload, tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match="does not fit"):
        load_model(tmp_path / "mismatch.pt")


def test_the_network_owns_its_noise_schedule():
    model = PoseNet(ModelConfig(sigma_min=0.02, sigma_max=20.0))
    t = torch.tensor([0.0, 0.5, 1.0])
    assert torch.allclose(model.noise_schedule.sigma(t), torch.tensor([0.02, 0.02 * 1000**0.5, 20.0]))
    # the score is the raw head output over sigma(t)
    with torch.no_grad():
        model.score_head.readouts[0][-1].bias.fill_(1.0)
        score = model.score(torch.zeros(3, 1024), torch.zeros(3, 9), t)
    assert torch.allclose(score[:, 0], 1.0 / model.noise_schedule.sigma(t))
    assert TrainingObjective(model, "joint").score_matching.schedule is model.noise_schedule


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped model (models/posediff_default.pt)")
def test_the_shipped_model_gives_its_reference_outputs():
    """The checkpoint format and the network's definition (layer names, the noise schedule in the
    score) still reproduce what the shipped model computed when it was trained. Within a tolerance
    for other CPUs' float rounding; the same machine reproduces them exactly."""
    assert hashlib.sha256(SHIPPED.read_bytes()).hexdigest() == SHIPPED_SHA256, (
        "models/posediff_default.pt changed: record its reference outputs here, computed with the code it was "
        "trained with, and its sha256"
    )
    model, _ = load_model(SHIPPED)
    points = torch.randn(2, 1024, 3, generator=torch.Generator().manual_seed(0)) * torch.tensor([0.05, 0.08, 0.03])
    with torch.no_grad():
        feature = model.encode(centre_points(points)[0])
        regression = model.regress(feature)
        score = model.score(feature, torch.zeros(2, 9), torch.tensor([0.1, 0.5]))
    torch.testing.assert_close(regression, torch.tensor(SHIPPED_REGRESSION), rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(score, torch.tensor(SHIPPED_SCORE), rtol=1e-3, atol=1e-4)


def test_farthest_point_sample_is_the_same_in_numpy_and_torch():
    points = torch.rand(3, 500, 3, generator=torch.Generator().manual_seed(3))
    assert torch.equal(farthest_point_sample(points, 64), _farthest_point_sample_torch(points, 64))


def test_inference_encoder_computes_the_training_encoders_features():
    """BatchNorm folded into the layers gives the same features in float32, and close ones in
    bfloat16 (as close as the old autocast path was: about 1 % of the feature's norm)."""
    model = PoseNet(ModelConfig(encoder=EncoderConfig(centres=[64, 32, 16])))
    with torch.no_grad():  # BatchNorm statistics that are not the identity, as after training
        for layer in model.encoder.layers:
            for mlp in layer.mlps:
                for norm in list(mlp)[1::3]:
                    norm.running_mean.uniform_(-0.2, 0.2), norm.running_var.uniform_(0.5, 2.0)
                    norm.weight.uniform_(0.5, 1.5), norm.bias.uniform_(-0.1, 0.1)
    model.eval()
    points = torch.randn(3, 1024, 3, generator=torch.Generator().manual_seed(4)) * 0.05
    with torch.no_grad():
        reference = model.encode(points)
        folded = model.inference_encoder(torch.device("cpu"), InferenceSettings(precision="float32"))(points)
        bf16 = model.inference_encoder(torch.device("cpu"), InferenceSettings(precision="bfloat16"))(points)
    torch.testing.assert_close(folded, reference, atol=1e-5, rtol=1e-5)
    assert bf16.dtype == torch.float32 and (bf16 - reference).norm() < 0.02 * reference.norm()


def test_a_version_1_checkpoint_loads_with_the_same_weights(tmp_path):
    """Version 1 stored the shared-MLP weights as 1x1 convolutions (checkpoint.py)."""
    model = PoseNet()
    save_checkpoint(tmp_path / "v2.pt", model)
    payload = torch.load(tmp_path / "v2.pt", weights_only=True)
    payload["version"] = 1
    payload["model"] = {
        key: value[..., None, None] if ".mlps." in key and value.dim() == 2 else value
        for key, value in payload["model"].items()
    }
    torch.save(payload, tmp_path / "v1.pt")
    loaded, _ = load_model(tmp_path / "v1.pt")
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_the_conditioned_score_is_the_score():
    """The merged readouts sum in another order: equal up to float32 rounding of the raw output,
    which the score divides by sigma(t) (down to 0.01)."""
    torch.manual_seed(5)
    model = PoseNet().eval()
    with torch.no_grad():
        for readout in model.score_head.readouts:  # non-zero readouts (they start at zero)
            readout[-1].weight.normal_(0, 0.1), readout[-1].bias.normal_(0, 0.1)
        feature, x, t = torch.randn(4, 1024), torch.randn(4, 9), torch.rand(4)
        sigma = model.noise_schedule.sigma(t).unsqueeze(-1)
        torch.testing.assert_close(
            model.inference_score()(feature)(x, t) * sigma, model.score(feature, x, t) * sigma, rtol=1e-5, atol=1e-5
        )
