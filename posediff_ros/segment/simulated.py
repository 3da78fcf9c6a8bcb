"""A detector's boxes and a semantic segmenter's class map made from ground-truth masks, for `evaluate`.

`evaluate --mask-source detections --box-jitter 4,0.08` gives every ground-truth instance
its tight box, shifted by up to ±4 pixels and resized by up to ±8 % per axis (a detector's
error), and hands the boxes to `boxes.box_objects`; `--mask-source semantic` gives the
ground truth's category per pixel to `semantic.semantic_instances`. Either way the labels
found are the ground truth's again (each box carries its instance's label; each semantic
instance takes the label of the ground-truth instance it overlaps most), so that scoring
matches instances by label as with ground-truth masks.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from ..categories import CategoryTable
from ..labels import panoptic_category
from .boxes import Box, box_objects
from .semantic import semantic_instances

MASK_SOURCES = ("masks", "detections", "semantic")


@dataclass(frozen=True)
class BoxJitter:
    """A detector's box error: centre shifted by up to ±shift pixels, size scaled by up to ±scale, per axis."""

    shift: float = 0.0
    scale: float = 0.0

    @classmethod
    def parse(cls, spec: str) -> BoxJitter:
        """'SHIFT,SCALE', e.g. '4,0.08'."""
        try:
            shift, scale = (float(x) for x in spec.split(","))
        except ValueError:
            raise ValueError(f"box jitter must be SHIFT,SCALE (pixels, fraction), e.g. 4,0.08, not {spec!r}") from None
        if shift < 0 or not 0 <= scale < 1:
            raise ValueError(f"box jitter needs SHIFT >= 0 and 0 <= SCALE < 1, not {spec!r}")
        return cls(shift, scale)

    def __call__(self, box: Box, rng: np.random.Generator) -> Box:
        du, dv = rng.uniform(-self.shift, self.shift, 2)
        sx, sy = rng.uniform(1 - self.scale, 1 + self.scale, 2)
        return Box(box.u + du, box.v + dv, box.width * sx, box.height * sy)


def mask_boxes(labels: np.ndarray) -> dict[int, Box]:
    """The tight axis-aligned box of every non-zero label of an (H, W) label image."""
    boxes = {}
    for label in np.unique(labels[labels != 0]).tolist():
        v, u = np.nonzero(labels == label)
        boxes[label] = Box(
            (u.min() + u.max()) / 2, (v.min() + v.max()) / 2, float(u.max() - u.min() + 1), float(v.max() - v.min() + 1)
        )
    return boxes


def truth_labels(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """`found`'s instances under the labels of `truth`'s (both (H, W) panoptic): each found label
    takes the truth label of its category that it overlaps most, greedily by overlap, at most one
    found label per truth label. Found instances that match none are left out (0): they are
    false positives, against which no ground truth would be scored."""
    pairs = np.stack((found.ravel(), truth.ravel()), axis=1)
    pairs = pairs[(pairs[:, 0] != 0) & (panoptic_category(pairs[:, 0]) == panoptic_category(pairs[:, 1]))]
    combos, overlap = np.unique(pairs, axis=0, return_counts=True)
    mapping: dict[int, int] = {}
    for index in np.argsort(-overlap, kind="stable"):
        f, t = (int(x) for x in combos[index])
        if f not in mapping and t not in mapping.values():
            mapping[f] = t
    lookup = np.zeros(int(found.max()) + 1, dtype=found.dtype)
    lookup[list(mapping)] = list(mapping.values())
    return lookup[found]


@dataclass(frozen=True)
class SimulatedSource:
    """The label image `evaluate` gives the engine for a frame, from its ground-truth mask."""

    source: str  # one of MASK_SOURCES
    jitter: BoxJitter
    categories: CategoryTable
    min_points: int
    seed: int = 0

    def labels(self, frame) -> np.ndarray:
        """The (H, W) labels of a data.layout.Frame (its depth, mask, intrinsics, scene and index);
        the jitter is drawn from (seed, scene, frame index), whatever the order of the frames."""
        if self.source == "masks":
            return frame.mask
        if self.source == "semantic":
            classes = panoptic_category(frame.mask)
            found = semantic_instances(frame.depth, classes, frame.intrinsics, self.categories, self.min_points).labels
            return truth_labels(found, frame.mask)
        rng = np.random.default_rng([self.seed, zlib.crc32(frame.scene.encode()), frame.index])
        boxes = mask_boxes(frame.mask)
        jittered = [self.jitter(box, rng) for box in boxes.values()]
        return box_objects(frame.depth, frame.intrinsics, jittered, list(boxes), self.min_points).labels
