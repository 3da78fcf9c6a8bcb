"""The data of a training run: its frames and category table, its batches and its validation set.

Training reads a dataset by name (data/sources.py) or renders scenes on the fly
(data=stream); validation takes a fixed set of held-out samples of val_dir or of the
synthetic val split.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from .categories import NOCS_CATEGORIES, CategoryTable, load_category_table
from .data.augment import Augmentations, augmented
from .data.layout import Frame, SyntheticDataset, dataset_categories
from .data.objects import FrameObjects
from .data.scene import SceneConfig
from .data.shapes import Shape, load_category_meshes
from .data.sources import open_dataset
from .data.stream import SyntheticPoseStream
from .train_config import TrainConfig


class EpochSampler(Sampler[int]):
    """Endless per-epoch permutations of a map-style dataset, sharded over ranks, resumable.

    Yields `epoch * n + i` so the dataset can seed item i's randomness by epoch; starts
    after the first `start` indices of this rank's sequence (what earlier steps consumed).
    """

    def __init__(self, n: int, seed: int, rank: int = 0, world: int = 1, start: int = 0):
        self.n, self.seed, self.rank, self.world, self.start = n, seed, rank, world, start

    def __iter__(self) -> Iterator[int]:
        per_rank = len(range(self.rank, self.n, self.world))
        epoch, offset = divmod(self.start, per_rank)
        while True:
            order = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed * 1_000_003 + epoch))
            for i in order[self.rank :: self.world][offset:].tolist():
                yield epoch * self.n + i
            epoch, offset = epoch + 1, 0


def training_frames(config: TrainConfig) -> tuple[Sequence[Frame] | None, CategoryTable | None]:
    """The training frames of data_dir (data/sources.py: NOCS splits mixed in `nocs_mix` ratio)
    and the table they are labelled with; (None, None) for data=stream, which draws the run's."""
    if config.data == "stream":
        return None, None
    return open_dataset(config.data, config.data_dir, config.data_split, mix=config.nocs_mix)


def run_categories(config: TrainConfig, data: CategoryTable | None) -> CategoryTable:
    """The run's category table: `categories=FILE`, else the training data's (`data`, as
    `training_frames` gives it), else NOCS. The categories of the training and validation
    data must be in it under the same ids and names."""
    table = load_category_table(config.categories) if config.categories else data or NOCS_CATEGORIES
    labelled = {f"data_dir {config.data_dir}": data}
    if config.val_dir:
        labelled[f"val_dir {config.val_dir}"] = dataset_categories(config.val_dir)
    for source, categories in labelled.items():
        if categories is not None:
            _check_within(categories, table, source)
    return table


def _check_within(categories: CategoryTable, table: CategoryTable, source: str) -> None:
    missing = [f"{c.id}: {c.name}" for c in categories if c.id not in table or table.by_id(c.id).name != c.name]
    if missing:
        raise ValueError(
            f"{source} has categories {missing} that the run's category table "
            f"({', '.join(f'{c.id}: {c.name}' for c in table)}) lacks or names differently; "
            "add them to the categories= file, or leave categories= out to use the data's own table"
        )


def mesh_library(config: TrainConfig, categories: CategoryTable) -> dict[str, list[Shape]] | None:
    """The user meshes of the run's categories for the synthetic scenes (None when none are
    rendered or given); ValueError when a category has neither a generator nor meshes."""
    if not config.uses_stream:
        return None
    return load_category_meshes(categories, config.meshes, config.mesh_scale)


def scene_config(config: TrainConfig, table: CategoryTable = NOCS_CATEGORIES, weighted: bool = True) -> SceneConfig:
    """The synthetic scenes of the run's categories, with its category weights when `weighted`
    (training; unknown names refused) and its user mesh mix."""
    unknown = set(config.category_weights) - set(table.names)
    if unknown:
        raise ValueError(f"category_weights: unknown categories {sorted(unknown)}; known: {table.names}")
    weights = None
    if weighted and config.category_weights:
        weights = tuple(float(config.category_weights.get(n, 1.0)) for n in table.names)
    return SceneConfig(table=table, category_weights=weights, user_mesh_prob=config.mesh_prob)


def training_batches(
    config: TrainConfig,
    frames: Sequence[Frame] | None,
    rank: int,
    world: int,
    start_step: int,
    pin: bool,
    categories: CategoryTable = NOCS_CATEGORIES,
    library: dict[str, list[Shape]] | None = None,
) -> Iterator[dict]:
    """Endless batches of per-object samples of `categories` for this rank (batch_size / world
    each): of `frames`, or rendered (data=stream, `frames` None) with the user meshes `library`."""
    augmentations = Augmentations(enabled=config.augment)  # training batches only, never validation_set
    batch = max(1, config.batch_size // world)
    # The loader's own generator keeps it from drawing its base seed from the global RNG,
    # which would make a resumed run's loss noise differ from an uninterrupted one.
    common = dict(
        batch_size=batch,
        num_workers=config.workers,
        pin_memory=pin,
        drop_last=True,
        persistent_workers=config.workers > 0,
        generator=torch.Generator().manual_seed(config.seed),
    )
    if frames is None:
        stream = SyntheticPoseStream(
            seed=config.seed + 7919 * rank, split="train", config=scene_config(config, categories), library=library
        )
        stream.set_epoch(start_step)  # a resumed run continues with a fresh, reproducible segment
        loader = DataLoader(augmented(stream, augmentations, stream.seed, categories), **common)
    else:
        objects = FrameObjects(frames, seed=config.seed)
        sampler = EpochSampler(len(objects), config.seed, rank, world, start=start_step * batch)
        loader = DataLoader(augmented(objects, augmentations, config.seed, categories), sampler=sampler, **common)
    yield from loader


def validation_set(
    config: TrainConfig, categories: CategoryTable = NOCS_CATEGORIES, library: dict[str, list[Shape]] | None = None
) -> dict[str, torch.Tensor]:
    """A fixed set of held-out samples: `val_samples` of val_dir, or of the synthetic val split of
    `categories` (unweighted; user meshes from `library`, the same as training's)."""
    if config.val_dir:
        objects = FrameObjects(SyntheticDataset(config.val_dir), seed=config.seed)
        picks = np.linspace(0, len(objects) - 1, min(config.val_samples, len(objects))).round().astype(int)
        samples = [objects[int(i)] for i in picks]
    else:
        val_config = scene_config(config, categories, weighted=False)
        stream = iter(SyntheticPoseStream(seed=config.seed, split="val", config=val_config, library=library))
        samples = [next(stream) for _ in range(config.val_samples)]
    return {key: torch.stack([s[key] for s in samples]) for key in samples[0]}
