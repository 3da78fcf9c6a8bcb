"""The object categories: the one table of ids, names and symmetries, and its file format.

NOCS ids and names are the default table (docs/conventions.md §1). Each category carries
its `symmetry.Symmetry` (the rotations that leave its shape unchanged; `bottle`, `bowl`
and `can` are `y: any`). A `mug` is continuously symmetric about +y only when its handle
is not visible, which is a property of the observation and therefore travels per instance
(the ground truth's `symmetric` flag), not in this table.
A table is written as a YAML file (`load_category_table`), stored in every checkpoint that
`train` writes, and read back from it by the node, `evaluate`, `demo` and the Python API.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from .labels import PANOPTIC_DIVISOR
from .symmetry import ABOUT_Y, NO_SYMMETRY, Symmetry


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    symmetry: Symmetry = NO_SYMMETRY

    @property
    def continuous_about_y(self) -> bool:
        """Whether its symmetry is `y` exactly (ABOUT_Y: NOCS's bottle, bowl, can): such a category's
        instances are flagged `symmetric` in the ground truth whatever the view (docs/conventions.md §1)."""
        return self.symmetry == ABOUT_Y


class CategoryTable:
    """Lookup of categories by id and by name; ids and names unique, ids positive."""

    def __init__(self, categories: Iterable[Category]):
        categories = list(categories)
        for key in ("id", "name"):
            seen = [getattr(c, key) for c in categories]
            duplicates = sorted({str(v) for v in seen if seen.count(v) > 1})
            if duplicates:
                raise ValueError(f"category {key}s must be unique; repeated: {', '.join(duplicates)}")
        bad = [c.id for c in categories if c.id <= 0]
        if bad:
            raise ValueError(f"category ids must be positive (0 is background), not {bad}")
        too_large = [c.id for c in categories if c.id >= 2**31 // PANOPTIC_DIVISOR]
        if too_large:
            raise ValueError(f"category ids {too_large} do not fit a 32-bit panoptic label (id * 1000 + k)")
        self._by_id = {c.id: c for c in categories}
        self._by_name = {c.name: c for c in categories}

    def __iter__(self) -> Iterator[Category]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __eq__(self, other) -> bool:
        return isinstance(other, CategoryTable) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"CategoryTable({list(self)!r})"

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

    def as_entries(self) -> list[dict]:
        """Plain entries (ids, names, symmetry specs): the table file's and checkpoints' form."""
        return [{"id": c.id, "name": c.name, "symmetry": c.symmetry.as_spec()} for c in self]

    @classmethod
    def from_entries(cls, entries, source: str = "category table") -> CategoryTable:
        """The table of `as_entries` form; ValueError naming `source` and the entry."""
        if not isinstance(entries, list) or not entries:
            raise ValueError(f"{source}: expected a non-empty list of categories")
        categories = []
        for n, entry in enumerate(entries, 1):
            if not isinstance(entry, Mapping) or not {"id", "name"} <= set(entry):
                raise ValueError(f"{source}: entry {n} ({entry!r}) needs an id and a name")
            unknown = set(entry) - {"id", "name", "symmetry"}
            if unknown:
                raise ValueError(f"{source}: entry {n} has unknown keys {sorted(unknown)}; use id, name, symmetry")
            cid, name = entry["id"], entry["name"]
            if isinstance(cid, bool) or not isinstance(cid, int):
                raise ValueError(f"{source}: entry {n}: id {cid!r} is not an integer")
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(
                    f"{source}: entry {n}: name {name!r} must be a word of letters, digits and _ "
                    "(it names TF frames and folders)"
                )
            try:
                symmetry = Symmetry.parse(entry.get("symmetry"))
            except ValueError as error:
                raise ValueError(f"{source}: entry {n} ({name}): {error}") from None
            categories.append(Category(cid, name, symmetry))
        try:
            return cls(categories)
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None


NOCS_CATEGORIES = CategoryTable(
    (
        Category(1, "bottle", ABOUT_Y),
        Category(2, "bowl", ABOUT_Y),
        Category(3, "camera"),
        Category(4, "can", ABOUT_Y),
        Category(5, "laptop"),
        Category(6, "mug"),
    )
)


def load_category_table(path: str | Path) -> CategoryTable:
    """A category table file (docs/conventions.md §1): YAML, `categories:` a list of
    `{id, name, symmetry}` entries. ValueError with the file and the entry at fault."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"category table {path} cannot be read: {error}") from None
    if not isinstance(document, Mapping) or "categories" not in document:
        raise ValueError(f"category table {path}: expected a mapping with a 'categories:' list")
    return CategoryTable.from_entries(document["categories"], source=f"category table {path}")


def write_category_table(path: str | Path, table: CategoryTable) -> None:
    Path(path).write_text(yaml.safe_dump({"categories": table.as_entries()}, sort_keys=False))
