"""Which object of a frame continues which object of the frames before, and from what pose.

`PoseEstimator` owns one `Tracker`. An object is tracked under a label: its mask label
(`track_by="label"`, for segmenters that keep labels stable from frame to frame), or the
label of the nearest track of its category whose centroid lies within `track_gate` metres
(`track_by="centroid"`, for segmenters that do not; greedy, closest pairs first). An object
no track takes starts one under the smallest free label of its category. A track ends when
it is unseen for more than `max_missed` frames, or when its object's confidence score falls
below `lose_score`; an object seen again under an ended track's label starts afresh, and
counts as restarted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .geometry import project_to_so3
from .labels import LabelEncoding
from .settings import check_choices, setting
from .symmetry import Symmetry, SymmetryBatch, align_to_reference, rotation_error

TRACK_BY = ("label", "centroid")


@dataclass
class TrackingSettings:
    """How the engine follows objects from frame to frame: `PoseEstimator(tracking=...)`.

    The defaults of track_blend and recheck_angle were measured on sequences with the
    shipped model (models/README.md, "Tracking"), lose_score's on validation sequences
    (models/README.md, "Confidence").
    """

    track_by: str = setting(
        "label",
        "Associate objects across frames by mask label (the segmenter keeps labels "
        "stable) or by nearest centroid within track_gate (it does not)",
        choices=TRACK_BY,
    )
    track_gate: float = setting(0.1, "Largest centroid distance in metres for track_by=centroid", range=(0.001, 10.0))
    max_missed: int = setting(5, "Frames an unseen object keeps its track", range=(0, 100000))
    max_jump: float = setting(
        0.1, "Centroid jump in metres beyond which a track restarts with full sampling", range=(0.0, 1000.0)
    )
    track_blend: float = setting(
        0.5,
        "A track starts from this weight x its previous pose + the rest x the "
        "regression head's pose of the frame (1 = the previous pose only)",
        range=(0.0, 1.0),
    )
    recheck_angle: float = setting(
        30.0,
        "A track restarts as a new object when its previous rotation is more than "
        "this many degrees from the regression head's estimate of the frame; 180 = never",
        range=(0.0, 180.0),
    )
    lose_score: float = setting(
        0.2,
        "A track ends when its object's confidence score (P(within 10°5cm)) falls below this; "
        "the object then starts afresh; 0 = never (objects without a score never end this way)",
        range=(0.0, 1.0),
    )

    def __post_init__(self) -> None:
        check_choices(self)


@dataclass
class Track:
    category: str
    R: np.ndarray
    t: np.ndarray
    centroid: np.ndarray  # of the observed points: comparable frame to frame, unlike t
    missed: int = 0


class Tracker:
    """The tracks of the recent frames, by label."""

    def __init__(self, settings: TrackingSettings):
        self.settings = settings
        self.tracks: dict[int, Track] = {}
        self.ended: set[int] = set()  # labels whose track ended and has not restarted

    def reset(self) -> None:
        self.tracks.clear()
        self.ended.clear()

    def had_track(self, label: int) -> bool:
        """Whether `label` has a track now or had one that ended: an object under it that is not
        sampled from a previous pose restarts its track."""
        return label in self.tracks or label in self.ended

    def keeps(self, score: float | None) -> bool:
        """Whether an object of this confidence score keeps (or starts) its track."""
        return score is None or score >= self.settings.lose_score

    def identify(
        self, labels: list[int], categories: list[str], centroids: list[np.ndarray], encoding: LabelEncoding
    ) -> list[int]:
        """The label each object of a frame is tracked under (its mask label, with track_by="label")."""
        if self.settings.track_by == "label":
            return list(labels)
        pairs = sorted(
            (distance, i, label)
            for i, (category, c) in enumerate(zip(categories, centroids, strict=True))
            for label, track in self.tracks.items()
            if track.category == category
            and (distance := float(np.linalg.norm(c - track.centroid))) <= self.settings.track_gate
        )
        chosen: dict[int, int] = {}  # object index -> track label
        for _, i, label in pairs:
            if i not in chosen and label not in chosen.values():
                chosen[i] = label
        taken = set(self.tracks) | set(chosen.values())
        for i, label in enumerate(labels):
            if i not in chosen:
                chosen[i] = encoding.first_free_label(label, taken)
                taken.add(chosen[i])
        return [chosen[i] for i in range(len(labels))]

    def previous_pose(self, label: int, centroid: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The track's (R, t) moved with its observed points; None without a track or when its
        centroid jumped more than max_jump."""
        track = self.tracks.get(label)
        if track is None:
            return None
        # Compare centroids of the observed points: the box centre t can sit a large
        # object's half-size away from them, which would break tracking for laptops.
        shift = centroid - track.centroid
        if np.linalg.norm(shift) > self.settings.max_jump:
            return None
        # The box centre moves with the observed points (a moving camera or object): start
        # from where it is now, not where it was.
        return track.R, track.t + shift

    def previous_rotation(self, label: int) -> np.ndarray | None:
        track = self.tracks.get(label)
        return None if track is None else track.R

    def update(self, seen: dict[int, Track], lost: set[int] | frozenset[int] = frozenset()) -> list[int]:
        """Replace the tracks of this frame's objects; end those of the objects `lost` (seen, but
        not kept: `keeps`), and count a miss for the others, ending those missed more than
        max_missed times. Returns the labels of the tracks ended in this frame, sorted."""
        ended = [label for label in self.tracks if label in lost]
        for label in list(self.tracks):
            if label not in seen and label not in lost:
                self.tracks[label].missed += 1
                if self.tracks[label].missed > self.settings.max_missed:
                    ended.append(label)
        for label in ended:
            del self.tracks[label]
        self.ended.update(ended)
        self.ended.difference_update(seen)
        self.tracks.update(seen)
        return sorted(ended)


# ----------------------------------------------------------------- where a track starts sampling

Previous = list[tuple[np.ndarray, np.ndarray] | None]
"""Per object of a frame: its track's last pose (R (3, 3), t (3,) in the camera frame), or None."""


def tracks_use_regression(settings: TrackingSettings, previous: Previous) -> bool:
    """Whether this frame's regression estimate re-checks or steers a track of `previous`."""
    uses = settings.recheck_angle < 180.0 or settings.track_blend < 1.0
    return uses and any(p is not None for p in previous)


def recheck_tracks(
    previous: Previous, R_reg: torch.Tensor, symmetry: SymmetryBatch, settings: TrackingSettings
) -> Previous:
    """`previous` with the tracks whose rotation is more than `recheck_angle` degrees from this
    frame's regression estimate R_reg (B, 3, 3), under each object's symmetry, dropped."""
    tracked = [i for i, p in enumerate(previous) if p is not None]
    if settings.recheck_angle >= 180.0 or not tracked:
        return previous
    R_prev = torch.as_tensor(np.stack([previous[i][0] for i in tracked]), dtype=R_reg.dtype, device=R_reg.device)
    errors = rotation_error(R_prev, R_reg[tracked], symmetry.select(tracked))
    disagree = torch.rad2deg(errors) > settings.recheck_angle
    dropped = {tracked[j] for j in torch.nonzero(disagree).flatten().tolist()}
    return [None if i in dropped else p for i, p in enumerate(previous)]


def track_start(
    previous: list[tuple[np.ndarray, np.ndarray]],
    centroid: torch.Tensor,
    regressed: tuple[torch.Tensor, torch.Tensor] | None,
    symmetries: list[Symmetry],
    settings: TrackingSettings,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Where T tracked objects' sampling starts: R (T, 3, 3), t (T, 3) relative to their
    centroids (T, 3), on the centroids' device.

    The previous pose, blended with this frame's regression estimate `regressed` (weight
    1 - track_blend) when there is one: the previous pose alone lags behind a moving camera,
    since a short refinement moves a rotation by little.
    """
    R0 = np.stack([p[0] for p in previous])
    t0 = torch.as_tensor(np.stack([p[1] for p in previous]), dtype=torch.float32, device=centroid.device) - centroid
    if regressed is not None and settings.track_blend < 1.0:
        R_reg = regressed[0].cpu().numpy()
        # the regression may give any of an object's equivalent poses: take the track's
        R_reg = align_to_reference(R_reg, R0, SymmetryBatch.of(symmetries))
        w = settings.track_blend
        R0 = project_to_so3(torch.as_tensor(w * R0 + (1.0 - w) * R_reg, dtype=torch.float32)).numpy()
        t0 = w * t0 + (1.0 - w) * regressed[1]
    return torch.as_tensor(R0, dtype=torch.float32, device=centroid.device), t0
