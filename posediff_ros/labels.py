"""Mask labels: how an integer label names an object (docs/conventions.md §4.2).

The one home of the label arithmetic: a panoptic label is `category_id * 1000 + k` (the
Cityscapes convention), an instance label is the instance id k >= 1 of one category, and a
semantic label is a category id per pixel (the node splits those into panoptic instances
before the engine sees them). 0 is the background in every encoding.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

import numpy as np

PANOPTIC_DIVISOR = 1000
"""Panoptic mask labels are `category_id * 1000 + k`, k in 0..999."""

Labels = TypeVar("Labels", int, np.ndarray)


class LabelEncoding(StrEnum):
    """What a mask's labels say: its value is the name the node's `label_encoding` parameter takes."""

    PANOPTIC = "panoptic"  # category_id * 1000 + k
    INSTANCE = "instance"  # instance id k >= 1, every object of one category
    SEMANTIC = "semantic"  # category id per pixel: split into panoptic instances before the engine

    def instance_index(self, label: int) -> int:
        """The k of an object's name `<category>_<k>`: the panoptic instance index, or the label itself."""
        return split_panoptic_label(label)[1] if self is LabelEncoding.PANOPTIC else int(label)

    def first_free_label(self, label: int, taken: set[int]) -> int:
        """The smallest label not in `taken` of `label`'s category: category_id * 1000 + k (panoptic),
        or k >= 1 (instance ids, where 0 is the background)."""
        base, k = (panoptic_label(panoptic_category(label), 0), 0) if self is LabelEncoding.PANOPTIC else (0, 1)
        while base + k in taken:
            k += 1
        return base + k


def panoptic_category(labels: Labels) -> Labels:
    """The category id of panoptic labels (an int or an integer array); 0 for a label below 1000."""
    return labels // PANOPTIC_DIVISOR


def split_panoptic_label(label: int) -> tuple[int, int]:
    """Return `(category_id, k)` of a panoptic label; category 0 means "no instance"."""
    label = int(label)
    return panoptic_category(label), label % PANOPTIC_DIVISOR


def panoptic_label(category_id: int, k: int) -> int:
    """Compose a panoptic label from a category id and an instance index k in 0..999."""
    if not 0 <= k < PANOPTIC_DIVISOR:
        raise ValueError(f"instance index {k} outside 0..{PANOPTIC_DIVISOR - 1}")
    return int(category_id) * PANOPTIC_DIVISOR + int(k)
