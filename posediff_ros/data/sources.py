"""Choosing a dataset by name: its frames and the category table they are labelled with.

`train` (data=, data_dir=, the *_split keys) and `evaluate` (--data, --nocs, --housecat6d,
--omni6dpose) open their datasets here, so both read a name the same way.

    disk         a folder in the layout of docs/conventions.md §6 (its categories.yaml, else NOCS)
    nocs         NOCS splits (SPD-processed), several joined by + and mixed in a ratio
    housecat6d   HouseCat6D (docs/datasets.md)
    omni6dpose   Omni6DPose (docs/datasets.md; the table is the split's object meta file)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..categories import CategoryTable
from .housecat6d import HouseCat6DDataset
from .layout import Frame, SyntheticDataset, dataset_categories
from .nocs import NocsDataset
from .objects import MixedFrames
from .omni6dpose import Omni6DPoseDataset

DATASETS = ("disk", "nocs", "housecat6d", "omni6dpose")


def open_dataset(
    kind: str,
    root: str | Path,
    split: str | None = None,
    *,
    mix: Sequence[float] = (),
    categories: CategoryTable | None = None,
) -> tuple[Sequence[Frame], CategoryTable]:
    """The frames of dataset `kind` under `root` and the category table their ids are in.

    split: the split of nocs (several joined by +, mixed in the ratio `mix`, one weight per
    split), housecat6d or omni6dpose; disk has none. categories: the table that category
    names in a disk dataset's ground truth resolve against (default: its own). Raises
    OSError for missing files and ValueError for an unknown kind or split.
    """
    if kind == "disk":
        return SyntheticDataset(root, categories), dataset_categories(root)
    if kind == "housecat6d":
        dataset = HouseCat6DDataset(root, split)
        return dataset, dataset.categories
    if kind == "omni6dpose":
        dataset = Omni6DPoseDataset(root, split)
        return dataset, dataset.categories
    if kind != "nocs":
        raise ValueError(f"unknown dataset {kind!r}; choose one of {DATASETS}")
    splits = split.split("+")
    if len(splits) > 1 and len(splits) != len(mix):
        raise ValueError(f"the NOCS splits {split!r} need one mixing weight each, not {list(mix)}")
    parts = [NocsDataset(root, s) for s in splits]
    return (parts[0] if len(parts) == 1 else MixedFrames(parts, mix)), NocsDataset.categories
