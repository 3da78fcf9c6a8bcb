"""A detector's class ids -> categories of the table: a category's own name, or a class map.

A class map file (YAML) names, for a detector's `class_id`s (its class names, or its
numeric ids written as strings), the table's category each one is:

    classes:
      cup: mug
      "41": mug

`config/coco_classes.yaml` is the map of the COCO classes that are NOCS categories.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..categories import Category, CategoryTable


class ClassMap:
    """Looks up a detector's class_id: in the map first, else as a category name of the table."""

    def __init__(self, classes: dict[str, str], categories: CategoryTable, source: str = "class map"):
        """ValueError naming the entries whose category the table lacks."""
        unknown = sorted({name for name in classes.values() if name not in categories})
        if unknown:
            raise ValueError(
                f"{source} maps to {', '.join(map(repr, unknown))}, not a category of the table "
                f"({', '.join(categories.names)})"
            )
        self.classes, self.categories = classes, categories

    @classmethod
    def load(cls, path: str | Path | None, categories: CategoryTable) -> ClassMap:
        """The map of a YAML file with one key `classes:` (detector class_id -> category name); an
        empty path gives the table's own names only. ValueError for a malformed file."""
        if not path:
            return cls({}, categories)
        entries = yaml.safe_load(Path(path).read_text())
        classes = entries.get("classes") if isinstance(entries, dict) else None
        if not isinstance(classes, dict) or not all(isinstance(v, str) for v in classes.values()):
            raise ValueError(f"class map {path}: want a key 'classes:' mapping class ids to category names")
        return cls({str(k): v for k, v in classes.items()}, categories, f"class map {path}")

    def category(self, class_id: str) -> Category | None:
        """The category a detection of `class_id` is, None when neither the map nor the table knows it."""
        name = self.classes.get(class_id, class_id)
        return self.categories.by_name(name) if name in self.categories else None
