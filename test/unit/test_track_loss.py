"""Track loss and recovery in the engine: an object that leaves and re-enters the view, a
mask label reused for a different object, and a track whose confidence falls."""

import numpy as np
import torch
from test_estimator import PointMassNet, plate

from posediff_ros.confidence import Calibration
from posediff_ros.estimator import PoseEstimator
from posediff_ros.geometry import REAL275_INTRINSICS as K
from posediff_ros.geometry import axis_angle_to_matrix
from posediff_ros.tracking import TrackingSettings

BOTTLE, MUG = 1001, 6000


def scene(*objects: tuple[int, tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Depth and labels with a plate per (label, pixel centre)."""
    depth = np.zeros((K.height, K.width), np.float32)
    labels = np.zeros((K.height, K.width), np.uint16)
    for label, centre in objects:
        plate(depth, labels, label, centre, 20, 0.6)
    return depth, labels


def engine(**tracking) -> PoseEstimator:
    """An engine of two target rotations whose TrackingSettings are `tracking`."""
    targets = axis_angle_to_matrix(torch.tensor([[0.0, 0.0, 0.0], [0.3, -0.5, 0.2]]))
    return PoseEstimator(PointMassNet(targets), tracking=TrackingSettings(**tracking))


def test_an_object_that_leaves_ends_its_track_and_starts_afresh_when_it_returns():
    estimator = engine(max_missed=1)
    both = scene((BOTTLE, (200, 150)), (MUG, (450, 300)))
    estimator.estimate(*both, K)
    estimator.model.targets = estimator.model.targets[1:]  # the mug alone
    mug_only = scene((MUG, (450, 300)))
    assert estimator.estimate(*mug_only, K).ended == []  # one frame unseen: kept
    assert estimator.estimate(*mug_only, K).ended == [BOTTLE]  # two: ended
    assert estimator.estimate(*mug_only, K).ended == []  # reported once

    estimator.model.targets = axis_angle_to_matrix(torch.tensor([[0.0, 0.0, 0.0], [0.3, -0.5, 0.2]]))
    back = {o.label: o for o in estimator.estimate(*both, K).objects}
    assert not back[BOTTLE].tracked and back[BOTTLE].restarted
    assert back[MUG].tracked and not back[MUG].restarted
    again = {o.label: o for o in estimator.estimate(*both, K).objects}
    assert again[BOTTLE].tracked and not again[BOTTLE].restarted  # its new track goes on


def test_a_brief_absence_keeps_the_track():
    estimator = engine(max_missed=2)
    both = scene((BOTTLE, (200, 150)), (MUG, (450, 300)))
    estimator.estimate(*both, K)
    estimator.model.targets = estimator.model.targets[1:]
    estimator.estimate(*scene((MUG, (450, 300))), K)
    estimator.model.targets = axis_angle_to_matrix(torch.tensor([[0.0, 0.0, 0.0], [0.3, -0.5, 0.2]]))
    back = {o.label: o for o in estimator.estimate(*both, K).objects}
    assert back[BOTTLE].tracked and not back[BOTTLE].restarted


def test_a_mask_label_reused_for_another_object_starts_a_new_track():
    estimator = engine(max_jump=0.1)
    estimator.model.targets = estimator.model.targets[:1]
    first = estimator.estimate(*scene((BOTTLE, (150, 150))), K).objects[0]
    other = estimator.estimate(*scene((BOTTLE, (500, 350))), K).objects[0]  # ~0.4 m away: another bottle
    assert not other.tracked and other.restarted
    assert np.linalg.norm(other.t - first.t) > 0.3
    assert estimator.estimate(*scene((BOTTLE, (500, 350))), K).objects[0].tracked


def test_a_track_whose_confidence_falls_ends_and_restarts():
    always_unsure = Calibration((0.0, 1.0), (0.2, 0.2))
    estimator = engine(lose_score=0.5)
    estimator.confidence, estimator.confidence_samples = always_unsure, 4
    both = scene((BOTTLE, (200, 150)), (MUG, (450, 300)))
    first = estimator.estimate(*both, K)
    assert first.ended == [] and not estimator.tracker.tracks  # new objects below it start no track
    assert all(o.score == 0.2 for o in first.objects)
    second = estimator.estimate(*both, K)
    assert not any(o.tracked for o in second.objects)

    estimator.tracking.lose_score = 0.1  # sure enough now: tracks begin, then end when it rises
    estimator.estimate(*both, K)
    assert set(estimator.tracker.tracks) == {BOTTLE, MUG}
    estimator.tracking.lose_score = 0.5
    ended = estimator.estimate(*both, K)
    assert all(o.tracked for o in ended.objects) and ended.ended == [BOTTLE, MUG]
    still_unsure = estimator.estimate(*both, K).objects
    assert not any(o.tracked or o.restarted for o in still_unsure)  # afresh, but no new track yet
    estimator.tracking.lose_score = 0.1
    restarted = estimator.estimate(*both, K).objects
    assert all(o.restarted and not o.tracked for o in restarted)
    assert all(o.tracked and not o.restarted for o in estimator.estimate(*both, K).objects)


def test_without_scores_tracks_never_end_for_confidence():
    estimator = engine(lose_score=0.9)  # no calibration: objects have no score
    both = scene((BOTTLE, (200, 150)), (MUG, (450, 300)))
    estimator.estimate(*both, K)
    assert all(o.tracked and o.score is None for o in estimator.estimate(*both, K).objects)
