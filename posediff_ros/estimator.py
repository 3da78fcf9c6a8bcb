"""The ROS-free engine: (depth, instance mask, intrinsics) -> object poses, with tracking.

Every object of a frame goes through the encoder in one batch, and all K samples of all
objects through the sampler in one batch (one batch for new objects, one for tracked
objects, since they start at different noise levels). The node, the trainer's
validation, the evaluator and the benchmarks all call this class.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .categories import NOCS_CATEGORIES, CategoryTable
from .checkpoint import checkpoint_categories, load_model
from .confidence import Calibration, checkpoint_calibration, noise_disagreement, sampler_options
from .diffusion import SCALINGS, ScaledScore, sample_ddim, sample_ode
from .geometry import (
    MIN_POINTS,
    NUM_POINTS,
    Intrinsics,
    centre_points,
    mean_rotation,
    pose_to_vector,
    sample_labelled_points,
    too_few_points,
    vector_to_pose,
)
from .labels import PANOPTIC_DIVISOR, LabelEncoding, split_panoptic_label
from .model import PoseNet
from .model.inference import InferenceSettings, warm_up_sizes
from .settings import check_choices, setting
from .symmetry import (
    NO_AXIS,
    NO_SYMMETRY,
    Symmetry,
    SymmetryBatch,
    align_to_reference,
    same_representatives,
)
from .tracking import Track, Tracker, TrackingSettings, recheck_tracks, track_start, tracks_use_regression

SAMPLERS = ("ddim", "ode")
SAMPLING_STARTS = ("auto", "noise", "regression")


@dataclass
class SamplerSettings:
    """How poses are sampled. Defaults: the paper's single guided sample, 10-step DDIM.

    Tracking restarts from the previous pose at t = 0.15 (sigma = 0.036, i.e. 3.6 cm and
    about 2 degrees of noise, GenPose's tracking level) with 4 steps: enough to absorb
    inter-frame motion at camera rates while costing less than half a full sample.

    `start` is where a new object's sampling begins: "noise" (the paper: pure noise at
    t_start, `steps` steps), "regression" (not in the paper: the regression head's pose,
    refined as a track is, from track_t_start with track_steps steps), or "auto": regression
    when the model's regression head was trained (more accurate, measured in models/README.md),
    else noise. `PoseEstimator` resolves "auto" for its model.

    Each field's description, range and choices are also those of the node's parameter
    and of `evaluate`'s option of the same name (settings.py).
    """

    sampler: str = setting(
        "ddim", "Pose sampler: DDIM or the adaptive probability-flow ODE (RK45, GenPose's reference)", choices=SAMPLERS
    )
    steps: int = setting(10, "Sampler steps for a new object (ddim)", range=(1, 500))
    t_start: float = setting(0.55, "Diffusion time a new object's sampling starts from", range=(0.01, 1.0))
    eta: float = setting(0.0, "DDIM stochasticity (0 = deterministic)", range=(0.0, 1.0))
    scaling: str = setting(
        "exponential", "Score scaling (guidance): the schedule of the weight w(t) on the score", choices=SCALINGS
    )
    w_min: float = setting(1.0, "Score-scaling weight at high noise (t -> 1, where sampling starts)", range=(0.0, 50.0))
    w_max: float = setting(
        4.0, "Score-scaling weight at low noise (t -> 0, where sampling ends; constant: always)", range=(0.0, 50.0)
    )
    num_samples: int = setting(
        1,
        "K poses sampled per object and averaged (rotations by chordal mean); K > 1 also gives the covariance",
        range=(1, 256),
    )
    track_t_start: float = setting(0.15, "Diffusion time tracking mode starts from (<= t_start)", range=(0.01, 1.0))
    track_steps: int = setting(4, "Sampler steps in tracking mode", range=(1, 500))
    start: str = setting(
        "auto",
        "A new object's sampling starts from noise at t_start (the paper) or from the "
        "regression head's pose, refined like a track (track_t_start, track_steps); auto: regression "
        "when the model's regression head was trained (more accurate), else noise",
        choices=SAMPLING_STARTS,
    )

    def resolved(self, regression_head_trained: bool) -> SamplerSettings:
        """These settings with `start` "auto" replaced by what it means for such a model."""
        if self.start != "auto":
            return self
        return replace(self, start="regression" if regression_head_trained else "noise")

    def __post_init__(self):
        check_choices(self)
        if self.steps < 1 or self.track_steps < 1 or self.num_samples < 1:
            raise ValueError("steps, track_steps and num_samples must be >= 1")
        if not 0 < self.track_t_start <= self.t_start <= 1:
            raise ValueError("need 0 < track_t_start <= t_start <= 1")


@dataclass
class ObjectPose:
    """One object's estimate in the camera optical frame (metres)."""

    label: int
    category: str
    R: np.ndarray  # (3, 3) object -> camera
    t: np.ndarray  # (3,) bounding-box centre in the camera frame
    size: np.ndarray  # (3,) box extents along the object's x, y, z
    num_points: int  # valid depth points the object had
    centroid: np.ndarray  # (3,) mean of the object's sampled points, camera frame
    tracked: bool  # sampled from the previous frame's pose
    samples: np.ndarray | None = None  # (K, 9) [r1 | r2 | t] in the camera frame when K > 1
    mask_label: int | None = None  # its pixels' label in the mask; differs from `label` with track_by="centroid"
    score: float | None = None  # P(within 10°5cm), calibrated (confidence.py); None without a calibration
    signal: float | None = None  # the uncalibrated confidence signal (confidence.noise_disagreement)
    restarted: bool = False  # a new track under the label of one that exists or ended (tracking.py)


@dataclass
class SkippedObject:
    label: int
    reason: str


@dataclass
class FrameEstimate:
    objects: list[ObjectPose] = field(default_factory=list)
    skipped: list[SkippedObject] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)  # labels whose track ended in this frame (tracking.py)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage


@dataclass
class BatchPoses:
    """`PoseEstimator.estimate_points`' result for B objects (camera frame, metres)."""

    R: np.ndarray  # (B, 3, 3)
    t: np.ndarray  # (B, 3)
    tracked: np.ndarray  # (B,) bool: sampled from the previous pose (not re-initialised)
    samples: np.ndarray | None  # (B, K, 9) [r1 | r2 | t] when K > 1
    timings: dict[str, float]  # seconds per stage
    signal: np.ndarray | None = None  # (B,) confidence signal when the engine measures one


class FrameError(ValueError):
    """A frame that cannot be used (here: its images and camera info disagree; in the node also
    messages it cannot convert); the message says why."""


def check_frame(depth_m: np.ndarray, labels: np.ndarray, intrinsics: Intrinsics) -> None:
    """Raise FrameError unless the depth image, the mask and the camera info have one size."""
    if depth_m.shape != labels.shape:
        raise FrameError(f"depth {_size(depth_m)} and mask {_size(labels)} differ in size")
    if (intrinsics.height, intrinsics.width) != depth_m.shape:
        raise FrameError(f"images are {_size(depth_m)} but the camera info is {intrinsics.width}x{intrinsics.height}")


def _size(image: np.ndarray) -> str:
    return "x".join(map(str, image.shape[::-1]))  # width x height


def auto_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class PoseEstimator:
    """Category-level pose estimation for all labelled objects of a frame.

    `tracking` says how objects are followed from frame to frame (tracking.py); `self.tracking`
    holds it.

    `confidence` maps the confidence signal to each object's `score` (confidence.py); the
    signal is measured with `confidence_samples` noise-started samples per object (default:
    the calibration's M, else none: then objects have neither signal nor score).
    """

    def __init__(
        self,
        model: PoseNet,
        *,
        device: str | torch.device = "cpu",
        settings: SamplerSettings | None = None,
        inference: InferenceSettings | None = None,
        categories: CategoryTable = NOCS_CATEGORIES,
        num_points: int = NUM_POINTS,
        min_points: int = MIN_POINTS,
        seed: int = 0,
        confidence: Calibration | None = None,
        confidence_samples: int | None = None,
        tracking: TrackingSettings | None = None,
    ):
        """`categories` is the table the mask's category ids are looked up in, with each
        category's symmetry (docs/conventions.md §1); a bare network carries none, so it
        defaults to NOCS's. `from_checkpoint` takes the table the checkpoint was trained with."""
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.settings = (settings or SamplerSettings()).resolved(model.regression_head_trained)
        self.inference = inference or InferenceSettings()
        self.encoder = model.inference_encoder(self.device, self.inference)
        self.conditioned_score = model.inference_score()
        self.categories = categories
        self.num_points, self.min_points = num_points, min_points
        self.tracking = tracking or TrackingSettings()
        self.tracker = Tracker(self.tracking)
        self.rng = np.random.default_rng(seed)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.confidence = confidence
        self.confidence_samples = (
            (confidence.samples if confidence else 0) if confidence_samples is None else confidence_samples
        )
        # the paper's sampler as the calibration measured it, whatever this engine's settings
        self.confidence_settings = SamplerSettings(
            **sampler_options(confidence), num_samples=max(self.confidence_samples, 1)
        )
        # a stream of its own, so that measuring the confidence never changes the poses
        self.confidence_generator = torch.Generator(device=self.device).manual_seed(seed + 1)
        self.unscored: str | None = None  # why a checkpoint's poses have no score, warned at the first frame

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        device: str | torch.device = "auto",
        *,
        categories: CategoryTable | None = None,
        **kwargs: Any,
    ) -> PoseEstimator:
        """The engine of a checkpoint file, with the category table stored in it (NOCS for files
        from before tables were stored) unless `categories` is given, and its confidence
        calibration (without one its first frame warns: objects then have no score). Raises CheckpointError."""
        device = auto_device() if device == "auto" else torch.device(device)
        model, payload = load_model(path, device)
        table = checkpoint_categories(payload) if categories is None else categories
        calibration, why_none = checkpoint_calibration(payload)
        engine = cls(model, device=device, categories=table, confidence=calibration, **kwargs)
        engine.unscored = None if calibration else f"{path}: {why_none}; poses have no confidence score"
        return engine

    def warm_up(self, log: Callable[[str], None] = print) -> float:
        """Run the encoder once per batch size before the first frame (with `compile`: compile it),
        so that no frame pays for it; returns the seconds it took and logs them."""
        start = time.perf_counter()
        for size in warm_up_sizes(self.inference):
            self.encoder(torch.rand(size, self.num_points, 3, device=self.device).sub_(0.5).mul_(0.2))
        seconds = time.perf_counter() - start
        mode = "compiled" if self.inference.compile else "eager"
        log(f"encoder warmed up in {seconds:.2f} s ({mode}, {self.inference.dtype(self.device)}, {self.device})")
        return seconds

    def reset_tracks(self) -> None:
        self.tracker.reset()

    # ----------------------------------------------------------------- frames

    def estimate(
        self,
        depth_m: np.ndarray,
        labels: np.ndarray,
        intrinsics: Intrinsics,
        *,
        label_encoding: LabelEncoding = LabelEncoding.PANOPTIC,
        instance_category: str | None = None,
        track: bool = True,
    ) -> FrameEstimate:
        """Poses of every labelled object in a frame.

        depth_m: (H, W) metres, non-finite or <= 0 invalid; labels: (H, W) integer mask,
        0 background. `label_encoding` PANOPTIC: labels are category_id * 1000 + k; INSTANCE: labels
        are instance ids of the single category `instance_category` (labels.py). With `track`, each object
        takes the label of its track (tracking.py: its mask label, or with track_by="centroid"
        the nearest track's), and one whose track was seen in the last `max_missed` frames is
        sampled from its previous pose, unless its centroid jumped more than `max_jump` metres
        or the previous rotation is more than `recheck_angle` degrees from this frame's
        regression estimate (then it starts afresh, as a new object). Raises FrameError when
        the images and the camera info differ in size.
        """
        start = time.perf_counter()
        if self.unscored:
            warnings.warn(self.unscored, stacklevel=2)
            self.unscored = None
        check_frame(depth_m, labels, intrinsics)
        label_encoding = LabelEncoding(label_encoding)
        result = FrameEstimate()
        objects = sample_labelled_points(depth_m, labels, intrinsics, self.rng, self.num_points, self.min_points)
        categories, kept = [], []
        for i, label in enumerate(objects.labels.tolist()):
            category, reason = self._category_of(label, label_encoding, instance_category)
            if category is None:
                result.skipped.append(SkippedObject(label, reason))
            elif not objects.sampled[i]:
                result.skipped.append(SkippedObject(label, too_few_points(int(objects.counts[i]), self.min_points)))
            else:
                categories.append(category)
                kept.append(i)
        sampled_row = np.cumsum(objects.sampled) - 1  # row of each sampled label in objects.clouds
        clouds = list(objects.clouds[sampled_row[kept]])
        mask_labels = objects.labels[kept].tolist()
        counts = objects.counts[kept].tolist()
        result.timings["preprocess"] = time.perf_counter() - start
        if clouds:
            centroids = [cloud.mean(0) for cloud in clouds]
            track_labels, previous = mask_labels, None
            if track:
                track_labels = self.tracker.identify(mask_labels, categories, centroids, label_encoding)
                previous = list(map(self.tracker.previous_pose, track_labels, centroids))
            symmetries = [self.categories.by_name(c).symmetry for c in categories]
            poses = self.estimate_points(np.stack(clouds), previous, symmetries)
            result.timings.update(poses.timings)
            for i, label in enumerate(track_labels):
                scored = self._score(poses.signal, i)
                # a new track under the label of one that exists or ended (not when it starts none)
                restarts = track and not poses.tracked[i] and self.tracker.had_track(label)
                result.objects.append(
                    ObjectPose(
                        label=label,
                        category=categories[i],
                        R=poses.R[i],
                        t=poses.t[i],
                        size=box_size(clouds[i], poses.R[i], poses.t[i]),
                        num_points=counts[i],
                        centroid=centroids[i],
                        tracked=bool(poses.tracked[i]),
                        samples=poses.samples[i] if poses.samples is not None else None,
                        mask_label=mask_labels[i],
                        **scored,
                        restarted=bool(restarts and self.tracker.keeps(scored["score"])),
                    )
                )
        self._align_to_tracks(result.objects, track)
        if track:
            kept = [o for o in result.objects if self.tracker.keeps(o.score)]
            lost = {o.label for o in result.objects} - {o.label for o in kept}
            result.ended = self.tracker.update({o.label: Track(o.category, o.R, o.t, o.centroid) for o in kept}, lost)
        result.timings["total"] = time.perf_counter() - start
        return result

    def _category_of(
        self, label: int, encoding: LabelEncoding, instance_category: str | None
    ) -> tuple[str | None, str]:
        if encoding is LabelEncoding.INSTANCE:
            if instance_category is None or instance_category not in self.categories:
                raise ValueError(
                    f"label encoding 'instance' needs a known instance_category, got {instance_category!r}"
                )
            return instance_category, ""
        if encoding is not LabelEncoding.PANOPTIC:
            raise ValueError(f"label encoding must be panoptic or instance, not {encoding.value!r}")
        category_id, _ = split_panoptic_label(label)
        if category_id == 0:
            return None, f"label {label} is below {PANOPTIC_DIVISOR}: it names a category without an instance"
        if category_id not in self.categories:
            return None, f"label {label} has unknown category id {category_id}"
        return self.categories.by_id(category_id).name, ""

    def _align_to_tracks(self, objects: list[ObjectPose], track: bool) -> None:
        """Give each object with a symmetry the equivalent pose nearest its track's rotation (or
        the camera's axes), so that the published frame does not jump (docs/conventions.md §3)."""
        aligned = [o for o in objects if not self.categories.by_name(o.category).symmetry.none]
        if not aligned:
            return
        symmetry = SymmetryBatch.of([self.categories.by_name(o.category).symmetry for o in aligned])
        previous = [self.tracker.previous_rotation(o.label) if track else None for o in aligned]
        references = np.stack([np.eye(3) if p is None else p for p in previous])
        rotations = align_to_reference(np.stack([o.R for o in aligned]), references, symmetry)
        for o, R, axis in zip(aligned, rotations, symmetry.axis.tolist(), strict=True):
            # a rotation only turned (no continuous axis) holds R's values: it keeps R's dtype
            o.R = R if axis != NO_AXIS else R.astype(o.R.dtype)

    # ----------------------------------------------------------------- the network

    @torch.no_grad()
    def estimate_points(
        self,
        clouds: np.ndarray,
        previous: list[tuple[np.ndarray, np.ndarray] | None] | None = None,
        symmetries: list[Symmetry] | None = None,
    ) -> BatchPoses:
        """Poses of B objects from their (B, N, 3) camera-frame point clouds.

        `previous[i]` = (R, t) starts object i in tracking mode, unless that rotation is more
        than `recheck_angle` degrees from the regression head's, under the object's symmetry
        `symmetries[i]` (none by default; `symmetry.rotation_error`): then the track is
        re-initialised.
        """
        s = self.settings
        timings: dict[str, float] = {}
        previous = previous or [None] * len(clouds)
        symmetries = symmetries or [NO_SYMMETRY] * len(clouds)
        symmetry = SymmetryBatch.of(symmetries).to(self.device)
        start = time.perf_counter()
        points = torch.as_tensor(clouds, dtype=torch.float32, device=self.device)
        centred, centroid = centre_points(points)
        feature = self.encoder(centred)
        self._synchronize()
        timings["encoder"] = time.perf_counter() - start

        start = time.perf_counter()
        K = s.num_samples
        x = torch.empty(len(clouds), K, 9, device=self.device)
        regressed = self._regressed_pose(feature, previous)
        # Only a trained regression head may re-check or steer tracks (an explicit
        # start=regression on an untrained one still starts new objects from it).
        reference = regressed if self.model.regression_head_trained else None
        if reference is not None:
            previous = recheck_tracks(previous, reference[0], symmetry, self.tracking)
        fresh = [i for i, p in enumerate(previous) if p is None]
        tracked = [i for i, p in enumerate(previous) if p is not None]
        if fresh and s.start == "regression":
            R_reg, t_reg = regressed[0][fresh], regressed[1][fresh]
            x[fresh] = self.sample(feature[fresh], pose_to_vector(R_reg, t_reg), s.track_t_start, s.track_steps)
        elif fresh:
            x[fresh] = self.sample(feature[fresh], None, s.t_start, s.steps)
        if tracked:
            R0, t0 = track_start(
                [previous[i] for i in tracked],
                centroid[tracked],
                None if reference is None else (reference[0][tracked], reference[1][tracked]),
                [symmetries[i] for i in tracked],
                self.tracking,
            )
            x[tracked] = self.sample(feature[tracked], pose_to_vector(R0, t0), s.track_t_start, s.track_steps)
        self._synchronize()
        timings["sampler"] = time.perf_counter() - start

        R_samples, t_samples = vector_to_pose(x)
        R_samples = same_representatives(R_samples, symmetry)
        t_samples = t_samples + centroid.unsqueeze(1)
        R, t = mean_rotation(R_samples), t_samples.mean(1)
        samples = pose_to_vector(R_samples, t_samples).cpu().numpy() if K > 1 else None
        is_tracked = np.array([p is not None for p in previous], dtype=bool)
        signal = None
        if self.confidence_samples:
            start = time.perf_counter()
            signal = self._confidence_signal(feature, R, t - centroid, symmetry)
            timings["confidence"] = time.perf_counter() - start
        return BatchPoses(R.cpu().numpy(), t.cpu().numpy(), is_tracked, samples, timings, signal)

    def _confidence_signal(
        self, feature: torch.Tensor, R: torch.Tensor, t_rel: torch.Tensor, symmetry: SymmetryBatch
    ) -> np.ndarray:
        """confidence.noise_disagreement (B,) of the poses R (B, 3, 3), t_rel (B, 3) (relative to the
        centroid): `confidence_settings`' samples from noise, drawn from their own stream."""
        s = self.confidence_settings
        x = self.sample(feature, None, s.t_start, s.steps, settings=s, generator=self.confidence_generator)
        R_samples, t_samples = vector_to_pose(x)
        self._synchronize()
        return noise_disagreement(R_samples, t_samples, R, t_rel, symmetry).cpu().numpy()

    def _score(self, signal: np.ndarray | None, i: int) -> dict[str, float | None]:
        """Object i's `signal` and its calibrated `score` (None where unmeasured or uncalibrated)."""
        if signal is None:
            return {"signal": None, "score": None}
        score = float(self.confidence(signal[i])) if self.confidence is not None else None
        return {"signal": float(signal[i]), "score": score}

    def _regressed_pose(
        self, feature: torch.Tensor, previous: list[tuple[np.ndarray, np.ndarray] | None]
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The regression head's poses (R, t relative to the centroid) when the start needs them,
        or a track check (only with a trained head); the head is one small MLP pass."""
        checks_tracks = self.model.regression_head_trained and tracks_use_regression(self.tracking, previous)
        if self.settings.start != "regression" and not checks_tracks:
            return None
        # Through the pose: the raw 6D output is made orthonormal, as a track's start is.
        return vector_to_pose(self.model.regress(feature).float())

    def sample(
        self,
        feature: torch.Tensor,
        x_init: torch.Tensor | None,
        t_start: float,
        steps: int,
        *,
        settings: SamplerSettings | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """K = num_samples samples for each of B objects -> (B, K, 9); x_init (B, 9) or None for
        pure noise; with `settings` (default the engine's) and the random numbers of `generator`
        (default the engine's)."""
        s = settings or self.settings
        schedule = self.model.noise_schedule
        generator = generator or self.generator
        B, K = feature.shape[0], s.num_samples
        score = self.conditioned_score(feature.repeat_interleave(K, dim=0))
        sigma = float(schedule.sigma(torch.tensor(t_start)))
        noise = torch.randn(B * K, 9, generator=generator, device=self.device) * sigma
        x = noise if x_init is None else x_init.repeat_interleave(K, dim=0) + noise
        guided = ScaledScore(score, s.scaling, s.w_min, s.w_max)
        if s.sampler == "ode":
            x = sample_ode(guided, x, schedule, t_start)
        else:
            x = sample_ddim(guided, x, schedule, t_start, steps=steps, eta=s.eta, generator=generator)
        return x.reshape(B, K, 9)

    def _synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def box_size(points: np.ndarray, R: np.ndarray, t: np.ndarray, quantile: float = 0.98) -> np.ndarray:
    """Box extents (3,) of the observed points in the estimated object frame.

    2 * quantile(|R^T (p - t)|) per axis (GenPose++'s fallback, with a high quantile
    instead of the max so that a few depth outliers do not inflate the box).
    """
    local = np.abs((points - t) @ R)
    return 2.0 * np.quantile(local, quantile, axis=0)
