"""A tracking detector's ids -> stable panoptic labels, so that the engine tracks by them.

Detections carry an `id` (a string) that stays the same for one object while a detector
tracks. The engine tracks by label (track_by "label"), so each (category, id) keeps one
instance index k, and with it the label category_id * 1000 + k, for as long as it is seen
at least every `max_missed` frames. Detections without an id, and a repeated id's second
detection, get the free indices in their order; they have no identity, so their labels
are only stable while the detector's order is (track_by "centroid" suits them).
"""

from __future__ import annotations

from ..labels import PANOPTIC_DIVISOR, panoptic_label


class DetectorIds:
    """The instance index of each tracked (category id, detection id), across frames."""

    def __init__(self, max_missed: int):
        self.max_missed = max_missed
        self.known: dict[tuple[int, str], int] = {}  # (category id, detection id) -> k
        self.last_seen: dict[tuple[int, str], int] = {}  # -> frame number
        self.frame = 0

    def reset(self) -> None:
        self.known.clear()
        self.last_seen.clear()

    def labels(self, detections: list[tuple[int, str]]) -> list[int | None]:
        """The panoptic label of each (category id, detection id) of one frame, in order; None
        where a category has no free index left (1000 instances in one frame)."""
        self.frame += 1
        for key in [key for key, seen in self.last_seen.items() if self.frame - seen > self.max_missed + 1]:
            del self.known[key], self.last_seen[key]
        used: dict[int, set[int]] = {}  # category id -> indices taken this frame or by a kept id
        for (category, _), k in self.known.items():
            used.setdefault(category, set()).add(k)
        labels: list[int | None] = [None] * len(detections)
        fresh = []  # positions of detections that need a free index
        taken_ids = set()
        for i, (category, detection_id) in enumerate(detections):
            key = (category, detection_id)
            if detection_id and key not in taken_ids and key in self.known:
                labels[i] = panoptic_label(category, self.known[key])
                self.last_seen[key] = self.frame
                taken_ids.add(key)
            else:
                fresh.append(i)
        for i in fresh:
            category, detection_id = detections[i]
            free = next((k for k in range(PANOPTIC_DIVISOR) if k not in used.setdefault(category, set())), None)
            if free is None:
                continue
            used[category].add(free)
            labels[i] = panoptic_label(category, free)
            key = (category, detection_id)
            if detection_id and key not in taken_ids:
                self.known[key], self.last_seen[key] = free, self.frame
                taken_ids.add(key)
        return labels
