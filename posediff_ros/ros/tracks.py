"""Stable track ids for segmenters whose labels change from frame to frame.

The engine tracks objects by label. A segmenter that keeps labels stable needs nothing
more (`track_by: label`). One that does not (`track_by: centroid`) gets its labels
rewritten before the engine sees them: each object is matched to the nearest track of
the same category whose last centroid lies within `gate` metres (greedy, closest pairs
first) and takes that track's label; an unmatched object starts a track under the
smallest free instance index. The engine's by-label tracking then does the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..categories import PANOPTIC_DIVISOR
from ..geometry import Intrinsics, backproject_labels


def track_name(category: str, label: int, encoding: str) -> str:
    """`<category>_<k>`: k is the panoptic instance index, or the instance label itself."""
    return f"{category}_{label % PANOPTIC_DIVISOR if encoding == 'panoptic' else label}"


@dataclass
class _Track:
    group: int  # category id (panoptic) or 0 (instance encoding)
    centroid: np.ndarray
    missed: int = 0


class CentroidAssociator:
    """Rewrites mask labels to stable track labels by nearest centroid within a gate."""

    def __init__(self, encoding: str, gate: float, max_missed: int):
        self.encoding, self.gate, self.max_missed = encoding, gate, max_missed
        self.tracks: dict[int, _Track] = {}  # stable label -> track

    def reset(self) -> None:
        self.tracks.clear()

    def _group(self, label: int) -> int:
        return label // PANOPTIC_DIVISOR if self.encoding == "panoptic" else 0

    def _free_label(self, group: int, taken: set[int]) -> int:
        k = 0 if self.encoding == "panoptic" else 1  # instance label 0 is background
        while group * PANOPTIC_DIVISOR + k in taken:
            k += 1
        return group * PANOPTIC_DIVISOR + k

    def relabel(self, labels: np.ndarray, depth_m: np.ndarray, intrinsics: Intrinsics) -> np.ndarray:
        """The mask with every object's label replaced by its track's label."""
        observed: dict[int, np.ndarray | None] = {}
        for raw, points in backproject_labels(depth_m, labels, intrinsics).items():
            # Panoptic labels without an instance (< 1000) pass through: the engine skips
            # them with a reason, and they cannot collide with track labels.
            if self.encoding == "panoptic" and raw < PANOPTIC_DIVISOR:
                continue
            observed[raw] = points.mean(0) if len(points) else None
        pairs = sorted(
            (float(np.linalg.norm(c - track.centroid)), raw, stable)
            for raw, c in observed.items() if c is not None
            for stable, track in self.tracks.items()
            if track.group == self._group(raw) and np.linalg.norm(c - track.centroid) <= self.gate
        )
        mapping: dict[int, int] = {}
        for _, raw, stable in pairs:
            if raw not in mapping and stable not in mapping.values():
                mapping[raw] = stable
        taken = set(self.tracks) | set(mapping.values())
        for raw in observed:
            if raw not in mapping:
                mapping[raw] = self._free_label(self._group(raw), taken)
                taken.add(mapping[raw])
        for stable in list(self.tracks):
            if stable not in mapping.values():
                self.tracks[stable].missed += 1
                if self.tracks[stable].missed > self.max_missed:
                    del self.tracks[stable]
        for raw, stable in mapping.items():
            if observed[raw] is not None:  # no valid depth: no position to track
                self.tracks[stable] = _Track(self._group(raw), observed[raw])
        relabelled = labels.copy()
        for raw, stable in mapping.items():
            relabelled[labels == raw] = stable
        return relabelled
