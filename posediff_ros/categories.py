"""The object categories: the one table of ids, names and symmetries.

NOCS ids and names (docs/conventions.md §1). `bottle`, `bowl` and `can` are continuously symmetric
about their +y axis; a `mug` is symmetric only when its handle is not visible, which is a
property of the observation and therefore travels per instance (`symmetric` flags), not
in this table. Users training on other categories build their own `CategoryTable` (the
node: its `categories` parameter).
"""

from __future__ import annotations

from dataclasses import dataclass

PANOPTIC_DIVISOR = 1000
"""Panoptic mask labels are `category_id * 1000 + k` (the Cityscapes convention)."""


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    symmetric: bool
    """Continuously symmetric about +y whatever the view."""


class CategoryTable:
    """Lookup of categories by id and by name."""

    def __init__(self, categories: list[Category] | tuple[Category, ...]):
        self._by_id = {c.id: c for c in categories}
        self._by_name = {c.name: c for c in categories}
        if len(self._by_id) != len(categories) or len(self._by_name) != len(categories):
            raise ValueError("category ids and names must be unique")
        if any(c.id <= 0 for c in categories):
            raise ValueError("category ids must be positive (0 is background)")

    def __iter__(self):
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, key: int | str) -> bool:
        return key in (self._by_name if isinstance(key, str) else self._by_id)

    def by_id(self, category_id: int) -> Category:
        try:
            return self._by_id[int(category_id)]
        except KeyError:
            raise KeyError(f"unknown category id {category_id}; known: {sorted(self._by_id)}") from None

    def by_name(self, name: str) -> Category:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"unknown category {name!r}; known: {sorted(self._by_name)}") from None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self._by_id.values()]


NOCS_CATEGORIES = CategoryTable(
    (
        Category(1, "bottle", True),
        Category(2, "bowl", True),
        Category(3, "camera", False),
        Category(4, "can", True),
        Category(5, "laptop", False),
        Category(6, "mug", False),
    )
)


def split_panoptic_label(label: int) -> tuple[int, int]:
    """Return `(category_id, k)` of a panoptic label; category 0 means "no instance"."""
    label = int(label)
    return label // PANOPTIC_DIVISOR, label % PANOPTIC_DIVISOR


def panoptic_label(category_id: int, k: int) -> int:
    """Compose a panoptic label from a category id and an instance index k in 0..999."""
    if not 0 <= k < PANOPTIC_DIVISOR:
        raise ValueError(f"instance index {k} outside 0..{PANOPTIC_DIVISOR - 1}")
    return int(category_id) * PANOPTIC_DIVISOR + int(k)
