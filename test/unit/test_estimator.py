"""The engine end to end on depth images, with a network whose score is exact.

`PointMassNet` is a real PoseNet whose score is replaced by the exact score of a point
mass at a known pose, so the engine's own work (labels, back-projection, centring,
batching, K-sample aggregation, tracking, frames) is checked to the millimetre; the
untrained real network is run through the checkpoint path as a user loads it.
"""

import numpy as np
import pytest
import torch

from posediff_ros.categories import Category, CategoryTable
from posediff_ros.checkpoint import save_checkpoint
from posediff_ros.estimator import FrameError, PoseEstimator, SamplerSettings
from posediff_ros.geometry import (
    REAL275_INTRINSICS,
    Intrinsics,
    axis_angle_to_matrix,
    pose_to_vector,
)
from posediff_ros.labels import LabelEncoding
from posediff_ros.model import PoseNet
from posediff_ros.symmetry import Symmetry
from posediff_ros.tracking import TrackingSettings

K = REAL275_INTRINSICS


def plate(
    depth: np.ndarray, labels: np.ndarray, label: int, centre_uv: tuple[int, int], half: int, z: float
) -> np.ndarray:
    """Paint a square plate facing the camera; returns its centre in the camera frame."""
    u, v = centre_uv
    depth[v - half : v + half + 1, u - half : u + half + 1] = z
    labels[v - half : v + half + 1, u - half : u + half + 1] = label
    return np.array([(u - K.cx) * z / K.fx, (v - K.cy) * z / K.fy, z])


class PointMassNet(PoseNet):
    """Scores every object towards the rotation `target` with its translation at the centroid."""

    def __init__(self, target_rotations: torch.Tensor):
        super().__init__()
        self.targets = target_rotations  # (B, 3, 3), in label order

    def inference_encoder(self, device, settings=None):
        return self.encode

    def encode(self, points):
        assert torch.allclose(points.mean(1), torch.zeros(3), atol=1e-5)  # the engine centres
        return pose_to_vector(self.targets, torch.zeros(len(points), 3))

    def inference_score(self):
        return lambda feature: lambda x, t: -(x - feature) / self.noise_schedule.sigma(t).unsqueeze(-1) ** 2


def frame():
    depth = np.zeros((K.height, K.width), np.float32)
    labels = np.zeros((K.height, K.width), np.uint16)
    centres = {
        1001: plate(depth, labels, 1001, (200, 150), 20, 0.6),  # bottle
        6000: plate(depth, labels, 6000, (450, 300), 30, 0.9),  # mug
        3002: plate(depth, labels, 3002, (320, 400), 3, 0.7),  # a camera with 49 points
        999: plate(depth, labels, 999, (100, 400), 10, 0.7),  # no instance
        9001: plate(depth, labels, 9001, (550, 100), 10, 0.7),  # unknown category
    }
    return depth, labels, centres


@pytest.mark.parametrize(
    "settings", [SamplerSettings(), SamplerSettings(num_samples=4), SamplerSettings(sampler="ode")]
)
def test_poses_labels_and_skips(settings):
    rotations = axis_angle_to_matrix(torch.tensor([[0.0, 0.0, 0.0], [0.3, -0.5, 0.2]]))
    estimator = PoseEstimator(PointMassNet(rotations), settings=settings)
    depth, labels, centres = frame()
    result = estimator.estimate(depth, labels, K)

    assert [o.label for o in result.objects] == [1001, 6000]
    assert [o.category for o in result.objects] == ["bottle", "mug"]
    for o in result.objects:
        np.testing.assert_allclose(o.t, centres[o.label], atol=2e-3)
        assert not o.tracked
        assert o.size[0] > 0.03 and o.size[1] > 0.03  # the plate's extent in its own x-y plane
        assert (o.samples is None) == (settings.num_samples == 1)
    np.testing.assert_allclose(result.objects[1].R, rotations[1].numpy(), atol=1e-3)  # the mug is not symmetric
    # the bottle is symmetric: same +y axis, x chosen closest to the camera's x
    np.testing.assert_allclose(result.objects[0].R[:, 1], rotations[0, :, 1].numpy(), atol=1e-3)
    reasons = {s.label: s.reason for s in result.skipped}
    assert set(reasons) == {3002, 999, 9001}
    assert "49 valid depth points" in reasons[3002]
    assert "below 1000" in reasons[999] and "unknown category id 9" in reasons[9001]
    assert {"preprocess", "encoder", "sampler", "total"} <= set(result.timings)


def test_regression_start_refines_the_regression_pose_like_a_track():
    rotations = axis_angle_to_matrix(torch.tensor([[0.0, 0.0, 0.0], [0.3, -0.5, 0.2]]))

    class Recording(PointMassNet):
        regressed, times = 0, []

        def regress(self, feature):  # an exact regression head: the target pose
            self.regressed += 1
            return feature

        def inference_score(self):
            conditioned = super().inference_score()
            return lambda feature: lambda x, t: self.times.append(float(t.max())) or conditioned(feature)(x, t)

    net = Recording(rotations)
    settings = SamplerSettings(start="regression")
    result = PoseEstimator(net, settings=settings).estimate(*frame()[:2], K, track=False)
    assert net.regressed == 1  # all new objects in one batch
    assert len(net.times) == settings.track_steps and net.times[0] == pytest.approx(settings.track_t_start)
    np.testing.assert_allclose(result.objects[1].R, rotations[1].numpy(), atol=1e-3)
    np.testing.assert_allclose(result.objects[1].t, frame()[2][6000], atol=2e-3)
    with pytest.raises(ValueError, match="start must be one of"):
        SamplerSettings(start="zeros")


def test_tracking_uses_the_previous_pose_and_forgets_lost_objects():
    rotations = axis_angle_to_matrix(torch.tensor([[0.0, 0.0, 0.0], [0.3, -0.5, 0.2]]))
    estimator = PoseEstimator(PointMassNet(rotations), tracking=TrackingSettings(max_missed=1))
    depth, labels, centres = frame()
    estimator.estimate(depth, labels, K)
    second = estimator.estimate(depth, labels, K)
    assert [o.tracked for o in second.objects] == [True, True]
    np.testing.assert_allclose(second.objects[1].t, centres[6000], atol=2e-3)

    only_mug = np.where(labels == 6000, labels, 0)
    estimator.model.targets = rotations[1:]
    estimator.estimate(depth, only_mug, K)  # the bottle misses one frame: kept
    estimator.estimate(depth, only_mug, K)  # and a second: dropped
    assert set(estimator.tracker.tracks) == {6000}

    # a large object whose box centre lies far from its observed points is still tracked
    estimator.tracking.max_jump = 0.05
    estimator.model.targets = rotations[1:]
    far_box = estimator.tracker.tracks[6000]
    far_box.t = far_box.t + np.array([0.0, 0.0, 0.2])
    assert estimator.estimate(depth, only_mug, K).objects[0].tracked

    moved = np.zeros_like(depth)
    moved_labels = np.zeros_like(labels)
    plate(moved, moved_labels, 6000, (250, 300), 30, 0.9)  # jumped by ~0.3 m
    assert not estimator.estimate(moved, moved_labels, K).objects[0].tracked


def test_bad_frames_are_rejected_clearly():
    estimator = PoseEstimator(PoseNet())
    depth, labels, _ = frame()
    with pytest.raises(FrameError, match="depth 640x480 and mask 639x480 differ in size"):
        estimator.estimate(depth, labels[:, :-1], K)
    with pytest.raises(FrameError, match="images are 640x478 but the camera info is 640x480"):
        estimator.estimate(depth[:-2], labels[:-2], K)
    with pytest.raises(ValueError, match="instance_category"):
        estimator.estimate(depth, labels, K, label_encoding=LabelEncoding.INSTANCE)
    nan_depth = np.full_like(depth, np.nan)
    result = estimator.estimate(nan_depth, labels, K)
    assert not result.objects and all(
        "valid depth points" in s.reason for s in result.skipped if s.label in (1001, 6000)
    )


def test_instance_encoding_names_the_category_by_parameter():
    estimator = PoseEstimator(PointMassNet(axis_angle_to_matrix(torch.zeros(1, 3))))
    depth = np.zeros((K.height, K.width), np.float32)
    labels = np.zeros((K.height, K.width), np.uint16)
    plate(depth, labels, 7, (300, 200), 20, 0.5)
    result = estimator.estimate(depth, labels, K, label_encoding=LabelEncoding.INSTANCE, instance_category="laptop")
    assert [(o.label, o.category) for o in result.objects] == [(7, "laptop")]


def test_real_network_from_a_checkpoint(tmp_path):
    save_checkpoint(tmp_path / "model.pt", PoseNet())
    estimator = PoseEstimator.from_checkpoint(tmp_path / "model.pt", device="cpu")
    depth, labels, _ = frame()
    result = estimator.estimate(depth, labels, K)
    assert len(result.objects) == 2
    for o in result.objects:
        assert np.allclose(o.R.T @ o.R, np.eye(3), atol=1e-5) and np.isfinite(o.t).all()


def test_auto_start_follows_the_checkpoints_regression_head(tmp_path):
    assert SamplerSettings().start == "auto"
    assert SamplerSettings().resolved(True).start == "regression"
    assert SamplerSettings().resolved(False).start == "noise"
    assert SamplerSettings(start="noise").resolved(True).start == "noise"  # an explicit choice is kept

    trained = PoseNet()
    trained.regression_head_trained = True
    save_checkpoint(tmp_path / "joint.pt", trained)
    save_checkpoint(tmp_path / "scratch.pt", PoseNet())
    assert PoseEstimator.from_checkpoint(tmp_path / "joint.pt", device="cpu").settings.start == "regression"
    assert PoseEstimator.from_checkpoint(tmp_path / "scratch.pt", device="cpu").settings.start == "noise"

    # files written before the flag existed: their training stage tells
    for stage, start in (("joint", "regression"), ("pretrain", "regression"), ("scratch", "noise")):
        payload = torch.load(tmp_path / "scratch.pt", weights_only=True)
        del payload["regression_head_trained"]
        torch.save({**payload, "stage": stage}, tmp_path / f"old_{stage}.pt")
        assert PoseEstimator.from_checkpoint(tmp_path / f"old_{stage}.pt", device="cpu").settings.start == start


class RegressingPointMassNet(PointMassNet):
    """A PointMassNet with a trained regression head that regresses `regressed` (B, 3, 3)."""

    def __init__(self, target_rotations: torch.Tensor, regressed: torch.Tensor):
        super().__init__(target_rotations)
        self.regressed = regressed
        self.regression_head_trained = True

    def regress(self, feature):
        return pose_to_vector(self.regressed, torch.zeros(len(feature), 3))


def test_tracks_that_disagree_with_the_regression_head_are_reinitialised():
    identity = torch.eye(3).expand(2, 3, 3)
    net = RegressingPointMassNet(identity, identity)
    estimator = PoseEstimator(
        net, settings=SamplerSettings(start="noise"), tracking=TrackingSettings(recheck_angle=30.0)
    )
    depth, labels, _ = frame()
    estimator.estimate(depth, labels, K)
    assert [o.tracked for o in estimator.estimate(depth, labels, K).objects] == [True, True]

    # the regression head now sees both objects turned by 90° about x: the bottle's +y axis
    # moves, so both tracks restart; a turn about +y moves only the mug (the bottle is symmetric)
    net.regressed = axis_angle_to_matrix(torch.tensor([[np.pi / 2, 0.0, 0.0]] * 2))
    net.targets = net.regressed
    result = estimator.estimate(depth, labels, K)
    assert [o.tracked for o in result.objects] == [False, False]
    np.testing.assert_allclose(result.objects[1].R, net.regressed[1].numpy(), atol=1e-3)  # sampled afresh
    net.regressed = net.regressed @ axis_angle_to_matrix(torch.tensor([[0.0, 2.0, 0.0]] * 2))
    net.targets = net.regressed
    assert [o.tracked for o in estimator.estimate(depth, labels, K).objects] == [True, False]
    # 20° of disagreement is under the threshold; 180 turns the check off
    net.regressed = net.regressed @ axis_angle_to_matrix(torch.tensor([[0.35, 0.0, 0.0]] * 2))
    assert [o.tracked for o in estimator.estimate(depth, labels, K).objects] == [True, True]
    estimator.tracking.recheck_angle = 180.0
    net.regressed = identity
    assert [o.tracked for o in estimator.estimate(depth, labels, K).objects] == [True, True]


def test_a_track_starts_between_its_previous_pose_and_the_regression_estimate():
    class StillNet(RegressingPointMassNet):
        def inference_score(self):  # no pull: the sample stays where sampling starts (plus its noise)
            return lambda feature: lambda x, t: torch.zeros_like(x)

    turn = axis_angle_to_matrix(torch.tensor([[1.0, 0.0, 0.0]] * 2))  # 57° about x
    net = StillNet(torch.eye(3).expand(2, 3, 3), torch.eye(3).expand(2, 3, 3))
    estimator = PoseEstimator(
        net,
        settings=SamplerSettings(start="regression"),
        tracking=TrackingSettings(recheck_angle=180.0, track_blend=0.5),
    )
    depth, labels, _ = frame()
    first = estimator.estimate(depth, labels, K).objects[1]  # the mug starts at the regression pose
    net.regressed = turn
    second = estimator.estimate(depth, labels, K).objects[1]
    assert second.tracked

    def angle(R1, R2):
        return np.degrees(np.arccos(np.clip((np.trace(R1 @ R2.T) - 1) / 2, -1, 1)))

    halfway = axis_angle_to_matrix(torch.tensor([0.5, 0.0, 0.0])).numpy()
    assert angle(second.R, halfway) < 8.0 < angle(second.R, first.R)
    estimator.tracking.track_blend = 1.0  # the previous pose only
    assert angle(estimator.estimate(depth, labels, K).objects[1].R, second.R) < 8.0


def test_an_untrained_regression_head_never_steers_tracks():
    """start=regression on an untrained head starts new objects from it, but tracks ignore it."""
    net = RegressingPointMassNet(torch.eye(3).expand(2, 3, 3), torch.eye(3).expand(2, 3, 3))
    net.regression_head_trained = False
    estimator = PoseEstimator(
        net, settings=SamplerSettings(start="regression"), tracking=TrackingSettings(recheck_angle=30.0)
    )
    depth, labels, _ = frame()
    estimator.estimate(depth, labels, K)
    net.regressed = axis_angle_to_matrix(torch.tensor([[np.pi / 2, 0.0, 0.0]] * 2))  # 90° from the tracks
    second = estimator.estimate(depth, labels, K).objects
    assert [o.tracked for o in second] == [True, True]
    np.testing.assert_allclose(second[1].R, np.eye(3), atol=1e-3)  # from the previous pose, not a blend


# ----------------------------------------------------------------------------- tracking by centroid

SMALL = Intrinsics(100.0, 100.0, 16.0, 12.0, 32, 24)


class IdentityNet(PointMassNet):
    """Scores every object, however many, towards the identity rotation."""

    def __init__(self):
        super().__init__(torch.eye(3)[None])

    def encode(self, points):
        self.targets = torch.eye(3).expand(len(points), 3, 3)
        return super().encode(points)


def blob_frame(blobs: dict[int, tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """5x5-pixel objects at 0.5 m (1 pixel = 5 mm) with the given labels and centres (u, v)."""
    depth = np.full((SMALL.height, SMALL.width), 0.5, np.float32)
    labels = np.zeros(depth.shape, np.int32)
    for label, (u, v) in blobs.items():
        labels[v - 2 : v + 3, u - 2 : u + 3] = label
    return depth, labels


def by_position(result) -> dict[tuple[int, int], tuple[int, int, bool]]:
    """Each object under the pixel (u, v) its centroid projects to: (label, mask label, tracked)."""
    objects = {}
    for o in result.objects:
        u, v = np.rint(o.centroid[:2] / o.centroid[2] * SMALL.fx + [SMALL.cx, SMALL.cy]).astype(int)
        objects[(int(u), int(v))] = (o.label, o.mask_label, o.tracked)
    return objects


def test_centroid_tracking_keeps_labels_that_the_segmenter_changes():
    estimator = PoseEstimator(
        IdentityNet(), min_points=20, tracking=TrackingSettings(track_by="centroid", track_gate=0.05, max_missed=1)
    )
    first = by_position(estimator.estimate(*blob_frame({6005: (5, 5), 6009: (25, 15), 1003: (15, 5)}), SMALL))
    assert first == {(5, 5): (6000, 6005, False), (25, 15): (6001, 6009, False), (15, 5): (1000, 1003, False)}
    # the segmenter swaps the mugs' labels and the objects move by a pixel: labels follow the objects
    second = by_position(estimator.estimate(*blob_frame({6009: (6, 5), 6005: (26, 15), 1777: (15, 6)}), SMALL))
    assert second == {(6, 5): (6000, 6009, True), (26, 15): (6001, 6005, True), (15, 6): (1000, 1777, True)}
    # a jump beyond the gate starts a new track under a free index; the others go after max_missed misses
    (third,) = estimator.estimate(*blob_frame({6001: (6, 20)}), SMALL).objects
    assert (third.label, third.tracked) == (6002, False)
    estimator.estimate(*blob_frame({6001: (6, 20)}), SMALL)
    assert sorted(estimator.tracker.tracks) == [6002]


def test_centroid_tracking_of_instance_ids_starts_at_one():
    estimator = PoseEstimator(IdentityNet(), min_points=20, tracking=TrackingSettings(track_by="centroid"))
    result = estimator.estimate(
        *blob_frame({42: (5, 5), 7: (25, 15)}), SMALL, label_encoding=LabelEncoding.INSTANCE, instance_category="mug"
    )
    assert [(o.label, o.mask_label) for o in result.objects] == [(1, 7), (2, 42)]
    with pytest.raises(ValueError, match="track_by must be one of"):
        TrackingSettings(track_by="nearest")


def test_an_unknown_scaling_is_refused():
    with pytest.raises(ValueError, match="scaling must be one of"):
        SamplerSettings(scaling="cosine")


# ----------------------------------------------------------------------------- discrete symmetries

TOTES = CategoryTable([Category(1, "tote", Symmetry.parse("z2")), Category(6, "mug")])
"""frame()'s label 1001 becomes a tote, the same after a half turn about its z axis."""
HALF_TURN_Z = axis_angle_to_matrix(torch.tensor([0.0, 0.0, np.pi]))


def degrees_between(R1: np.ndarray, R2: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(R1 @ R2.T) - 1) / 2, -1, 1))))


def test_a_discretely_symmetric_frame_follows_its_track_when_the_network_flips():
    pose = axis_angle_to_matrix(torch.tensor([[0.3, -0.2, 0.4], [0.0, 0.0, 0.0]]))
    net = PointMassNet(pose)
    estimator = PoseEstimator(net, categories=TOTES, settings=SamplerSettings(start="noise"))
    depth, labels, _ = frame()
    first = estimator.estimate(depth, labels, K).objects[0]
    assert first.category == "tote"
    # the next frames' network answers the other, equivalent pose, slightly moved
    for step in range(1, 4):
        moved = axis_angle_to_matrix(torch.tensor([0.3 + 0.02 * step, -0.2, 0.4]))
        net.targets = torch.stack([moved @ HALF_TURN_Z if step % 2 else moved, torch.eye(3)])
        tote = estimator.estimate(depth, labels, K).objects[0]
        assert tote.tracked and degrees_between(tote.R, moved.numpy()) < 1.0  # not 180° away


def test_a_new_discretely_symmetric_object_takes_the_pose_nearest_the_camera_axes():
    near_camera = axis_angle_to_matrix(torch.tensor([0.2, 0.1, 0.3]))
    net = PointMassNet(torch.stack([near_camera @ HALF_TURN_Z, torch.eye(3)]))
    estimator = PoseEstimator(net, categories=TOTES)
    tote = estimator.estimate(*frame()[:2], K, track=False).objects[0]
    assert degrees_between(tote.R, near_camera.numpy()) < 1.0


def test_a_track_is_kept_when_the_regression_head_gives_an_equivalent_pose():
    identity = torch.eye(3).expand(2, 3, 3)
    net = RegressingPointMassNet(identity, identity)
    estimator = PoseEstimator(
        net, categories=TOTES, settings=SamplerSettings(start="noise"), tracking=TrackingSettings(recheck_angle=30.0)
    )
    depth, labels, _ = frame()
    estimator.estimate(depth, labels, K)
    net.regressed = torch.stack([HALF_TURN_Z, HALF_TURN_Z])  # the same pose for the tote, 180° off for the mug
    assert [o.tracked for o in estimator.estimate(depth, labels, K).objects] == [True, False]
