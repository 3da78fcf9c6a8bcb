"""Per-object training samples: the sample dict, and a dataset over recorded frames.

Every data source (the synthetic stream, the docs/conventions.md §6 layout, NOCS) yields the dict of
`training_sample`. Items of FrameObjects are reproducible per (seed, epoch, index), so a
resumed run sees the same samples as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from ..geometry import MIN_POINTS, NUM_POINTS, TooFewPoints, backproject, sample_points
from .layout import Frame, FrameInstance


def training_sample(points: np.ndarray, instance: FrameInstance) -> dict:
    """The training-sample dict: points (N, 3) float32 camera frame, R, t, size, category, symmetric."""
    return {
        "points": torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32)),
        "R": torch.from_numpy(np.asarray(instance.R, dtype=np.float32)),
        "t": torch.from_numpy(np.asarray(instance.t, dtype=np.float32)),
        "size": torch.from_numpy(np.asarray(instance.size, dtype=np.float32)),
        "category": torch.tensor(int(instance.category), dtype=torch.int64),
        "symmetric": torch.tensor(bool(instance.symmetric)),
    }


class MixedFrames(Sequence):
    """Several frame collections as one, in a fixed ratio (GenPose: CAMERA25 : REAL275 = 3 : 1).

    Collection j fills a share weights[j] / sum(weights) of the indices; the smaller ones
    repeat their frames to fill it (index k of a share is frame k mod len). The length is
    set by the first collection, which appears exactly once.
    """

    def __init__(self, collections: Sequence[Sequence[Frame]], weights: Sequence[float]):
        if len(collections) != len(weights) or not collections or min(weights) <= 0:
            raise ValueError("need one positive weight per frame collection")
        total = float(sum(weights))
        length = round(len(collections[0]) * total / weights[0])
        self.collections = collections
        self.bounds = np.cumsum([round(length * w / total) for w in weights])

    def __len__(self) -> int:
        return int(self.bounds[-1])

    def __getitem__(self, i: int) -> Frame:
        j = int(np.searchsorted(self.bounds, i, side="right"))
        start = int(self.bounds[j - 1]) if j else 0
        collection = self.collections[j]
        return collection[(i - start) % len(collection)]


class FrameObjects(Dataset):
    """One random object of frame i per item (GenPose samples one object per image).

    `frames[i]` must return a `Frame` (the docs/conventions.md §6 layout reader, NOCS, ...). No index
    of (frame, instance) pairs is built, which for CAMERA25 would mean decoding 300k
    images at start-up. Item `epoch * len(self) + i` (what train.EpochSampler yields) is
    frame i in that epoch, and draws its object and points from
    `default_rng([seed, epoch, i])`; an object with fewer than `min_points` valid points is
    replaced by another of the same frame, then by the next frame's.
    """

    def __init__(
        self, frames: Sequence[Frame], seed: int = 0, num_points: int = NUM_POINTS, min_points: int = MIN_POINTS
    ):
        self.frames, self.seed, self.num_points, self.min_points = frames, seed, num_points, min_points

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, item: int) -> dict:
        epoch, i = divmod(item, len(self.frames))
        rng = np.random.default_rng([self.seed, epoch, i])
        for j in range(i, i + len(self.frames)):
            frame = self.frames[j % len(self.frames)]
            for k in rng.permutation(len(frame.instances)):
                instance = frame.instances[k]
                points = backproject(frame.depth, frame.mask == instance.label, frame.intrinsics)
                try:
                    return training_sample(sample_points(points, rng, self.num_points, self.min_points), instance)
                except TooFewPoints:
                    continue
        raise RuntimeError(f"no object in any frame has {self.min_points} valid depth points")
