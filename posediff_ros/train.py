"""`train`: regression pre-training, joint training, or diffusion from scratch.

    train [--config FILE] [--resume RUN/STAGE/last.pt] [key=value ...]
    torchrun --nproc_per_node N -m posediff_ros.train ...      # several GPUs (DDP)

Without --config the installed share/posediff_ros/config/train.yaml is read (in a
checkout: config/train.yaml), found as the node finds its model; its path is printed.

Each stage writes into OUT/<stage>/: config.yaml (the resolved config), last.pt and
best.pt (resumable: model, EMA, optimizer, scheduler, step, RNG), model.pt (the EMA
weights alone, what the node loads), and TensorBoard logs under tb/. `pretrain+joint`
runs OUT/pretrain and then OUT/joint initialised from the pre-trained weights. Every
checkpoint holds the run's category table (`categories=FILE`, else the data's own, else
NOCS; docs/conventions.md §1), and validation reports per category of it.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import numpy as np
import torch
import torch.distributed as dist
import yaml
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Sampler
from tqdm import tqdm

from .categories import NOCS_CATEGORIES, CategoryTable, load_category_table
from .checkpoint import (
    CheckpointError,
    checkpoint_categories,
    load_checkpoint,
    regression_head_trained,
    save_checkpoint,
)
from .ema import EMA
from .estimator import PoseEstimator, SamplerSettings, auto_device
from .geometry import centre_points, pose_to_vector, vector_to_pose
from .metrics import THRESHOLDS, accuracy_table, format_table, pose_errors, threshold_name
from .model import ModelConfig, PoseNet
from .model.inference import bf16_is_fast
from .objective import TrainingObjective
from .paths import default_train_config_candidates, default_train_config_path
from .symmetry import CategorySymmetries, SymmetryBatch
from .train_config import TrainConfig, load_config

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

    from .data.scene import SceneConfig
    from .data.shapes import Shape


# Validation rows sampled by the diffusion head per stage, and where their sampling starts.
VALIDATED_STARTS = {
    "pretrain": {},
    "joint": {"diffusion": "noise", "refined": "regression"},
    "scratch": {"diffusion": "noise"},
}


STOP = threading.Event()
"""Set by Ctrl-C or SIGTERM (main): the running stage saves last.pt and model.pt after its step and exits."""


def request_stop(signum: int, frame) -> None:
    STOP.set()
    signal.signal(signum, signal.SIG_DFL)  # a second signal stops at once


def stage_plan(config: TrainConfig) -> list[TrainConfig]:
    """The single-stage runs a config asks for, in order."""
    out = Path(config.out)
    if config.stage != "pretrain+joint":
        return [replace(config, out=str(out / config.stage))]
    return [
        replace(config, stage="pretrain", steps=config.pretrain_steps, out=str(out / "pretrain")),
        replace(config, stage="joint", init=str(out / "pretrain" / "last.pt"), out=str(out / "joint")),
    ]


def match_state_shapes(optimizer: torch.optim.Optimizer) -> None:
    """Give each parameter's optimizer state (Adam's moments) the parameter's shape: a version-1
    checkpoint holds the encoder's 1x1-convolution moments (C_out, C_in, 1, 1) for what is now a
    Linear weight (checkpoint.py)."""
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            state = optimizer.state.get(parameter, {})
            for key, value in state.items():
                if torch.is_tensor(value) and value.shape != parameter.shape and value.numel() == parameter.numel():
                    state[key] = value.reshape(parameter.shape)


# --------------------------------------------------------------------------- data


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


def frames_for(config: TrainConfig):
    """The training frames: a folder in the docs/conventions.md §6 layout, HouseCat6D or Omni6DPose
    (docs/datasets.md), or NOCS splits mixed in `nocs_mix` ratio."""
    from .data import SyntheticDataset
    from .data.housecat6d import HouseCat6DDataset
    from .data.nocs import NocsDataset
    from .data.objects import MixedFrames
    from .data.omni6dpose import Omni6DPoseDataset

    if config.data == "disk":
        return SyntheticDataset(config.data_dir)  # names in its ground truth resolve against its own table
    if config.data == "housecat6d":
        return HouseCat6DDataset(config.data_dir, config.housecat6d_split)
    if config.data == "omni6dpose":
        return Omni6DPoseDataset(config.data_dir, config.omni6dpose_split)
    splits = config.nocs_split.split("+")
    if len(splits) != len(config.nocs_mix) and len(splits) > 1:
        raise ValueError(f"nocs_mix needs one weight per split of {config.nocs_split!r}")
    datasets = [NocsDataset(config.data_dir, split) for split in splits]
    return datasets[0] if len(datasets) == 1 else MixedFrames(datasets, config.nocs_mix)


def data_categories(config: TrainConfig) -> CategoryTable | None:
    """The table the training data are labelled with; None for data=stream, which draws the run's."""
    from .data.housecat6d import HOUSECAT6D_CATEGORIES
    from .data.layout import dataset_categories
    from .data.omni6dpose import Omni6DPoseDataset

    if config.data == "disk":
        return dataset_categories(config.data_dir)
    if config.data == "housecat6d":
        return HOUSECAT6D_CATEGORIES
    if config.data == "omni6dpose":  # the split's object meta file (149 classes for SOPE)
        return Omni6DPoseDataset(config.data_dir, config.omni6dpose_split).categories
    return NOCS_CATEGORIES if config.data == "nocs" else None


def run_categories(config: TrainConfig) -> CategoryTable:
    """The run's category table: `categories=FILE`, else the training data's, else NOCS. The
    categories of the training and validation data must be in it under the same ids and names."""
    from .data.layout import dataset_categories

    data = data_categories(config)
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


def describe_categories(table: CategoryTable) -> str:
    return ", ".join(f"{c.name} ({c.id}, symmetry {c.symmetry})" for c in table)


def scene_config(config: TrainConfig, table: CategoryTable = NOCS_CATEGORIES, weighted: bool = True) -> SceneConfig:
    """The synthetic scenes of the run's categories, with its category weights when `weighted`
    (training; unknown names refused) and its user mesh mix."""
    from .data.scene import SceneConfig

    unknown = set(config.category_weights) - set(table.names)
    if unknown:
        raise ValueError(f"category_weights: unknown categories {sorted(unknown)}; known: {table.names}")
    weights = None
    if weighted and config.category_weights:
        weights = tuple(float(config.category_weights.get(n, 1.0)) for n in table.names)
    return SceneConfig(table=table, category_weights=weights, user_mesh_prob=config.mesh_prob)


def training_batches(
    config: TrainConfig,
    rank: int,
    world: int,
    start_step: int,
    pin: bool,
    categories: CategoryTable = NOCS_CATEGORIES,
    library: dict[str, list[Shape]] | None = None,
) -> Iterator[dict]:
    """Endless batches of per-object samples of `categories` for this rank (batch_size / world
    each); `library`: user meshes for data=stream."""
    from .data import SyntheticPoseStream
    from .data.augment import Augmentations, augmented
    from .data.objects import FrameObjects

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
    if config.data == "stream":
        stream = SyntheticPoseStream(
            seed=config.seed + 7919 * rank, split="train", config=scene_config(config, categories), library=library
        )
        stream.set_epoch(start_step)  # a resumed run continues with a fresh, reproducible segment
        loader = DataLoader(augmented(stream, augmentations, stream.seed, categories), **common)
    else:
        objects = FrameObjects(frames_for(config), seed=config.seed)
        sampler = EpochSampler(len(objects), config.seed, rank, world, start=start_step * batch)
        loader = DataLoader(augmented(objects, augmentations, config.seed, categories), sampler=sampler, **common)
    yield from loader


def validation_set(
    config: TrainConfig, categories: CategoryTable = NOCS_CATEGORIES, library: dict[str, list[Shape]] | None = None
) -> dict[str, torch.Tensor]:
    """A fixed set of held-out samples: `val_samples` of val_dir, or of the synthetic val split of
    `categories` (unweighted; user meshes from `library`, the same as training's)."""
    from .data import SyntheticDataset, SyntheticPoseStream
    from .data.objects import FrameObjects

    if config.val_dir:
        objects = FrameObjects(SyntheticDataset(config.val_dir), seed=config.seed)
        picks = np.linspace(0, len(objects) - 1, min(config.val_samples, len(objects))).round().astype(int)
        samples = [objects[int(i)] for i in picks]
    else:
        val_config = scene_config(config, categories, weighted=False)
        stream = iter(SyntheticPoseStream(seed=config.seed, split="val", config=val_config, library=library))
        samples = [next(stream) for _ in range(config.val_samples)]
    return {key: torch.stack([s[key] for s in samples]) for key in samples[0]}


# --------------------------------------------------------------------------- the loop


def learning_rate_factor(config: TrainConfig):
    def factor(step: int) -> float:
        warm = min(1.0, (step + 1) / max(1, config.warmup_steps))
        decay = config.lr_decay ** (step / config.lr_decay_every)
        return warm * max(decay, config.min_lr / config.lr)

    return factor


def initial_weights(path: str, overrides: dict) -> tuple[ModelConfig, dict, bool, CategoryTable]:
    """The raw (non-EMA) weights of a checkpoint, or its EMA weights if it has no train state,
    and its model config with the run's `model.*` overrides applied on top: those that keep
    every weight's shape (e.g. the encoder's centre counts or radii) continue a model in a
    new configuration; the others fail when the weights are loaded. Also whether its
    regression head was trained, and the category table it was trained with."""
    payload = load_checkpoint(path)
    weights = payload["train"]["model"] if "train" in payload else payload["model"]
    values = dict(payload["model_config"])
    for key, value in overrides.items():
        merge = key == "encoder" and isinstance(value, dict) and isinstance(values.get(key), dict)
        values[key] = {**values[key], **value} if merge else value
    return ModelConfig.from_dict(values), weights, regression_head_trained(payload), checkpoint_categories(payload)


class TrainingLog:
    """The training losses and gradient norm summed over the steps since the last write, written
    as means to TensorBoard (train/*, main process) and the progress bar, with the throughput."""

    def __init__(self, writer: SummaryWriter | None, progress: tqdm, world: int):
        self.writer, self.progress, self.world = writer, progress, world
        self.reset()

    def reset(self) -> None:
        self.sums: dict[str, float] = {}
        self.samples, self.tic = 0, time.perf_counter()

    def add(self, terms: dict[str, torch.Tensor], grad_norm: torch.Tensor, samples: int) -> None:
        self.samples += samples
        for key, value in terms.items():
            self.sums[key] = self.sums.get(key, 0.0) + value.item()
        self.sums["grad_norm"] = self.sums.get("grad_norm", 0.0) + grad_norm.item()

    def write(self, step: int, count: int, lr: float) -> None:
        """The means over `count` steps at `step`, then start over."""
        rate = self.samples * self.world / (time.perf_counter() - self.tic)
        if self.writer:
            for key, value in self.sums.items():
                self.writer.add_scalar(f"train/{key}", value / count, step)
            self.writer.add_scalar("train/lr", lr, step)
            self.writer.add_scalar("train/samples_per_s", rate, step)
        self.progress.set_postfix(loss=f"{self.sums['total'] / count:.4f}", samples_s=f"{rate:.0f}")
        self.reset()


class Trainer:
    def __init__(self, config: TrainConfig, top: TrainConfig, stage_index: int, resume: dict | None = None):
        self.config, self.top, self.stage_index = config, top, stage_index
        self.world = dist.get_world_size() if dist.is_initialized() else 1
        self.rank = dist.get_rank() if dist.is_initialized() else 0
        if config.device == "auto" and torch.cuda.is_available() and self.world > 1:
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        else:
            self.device = auto_device() if config.device == "auto" else torch.device(config.device)
        torch.manual_seed(config.seed * 1000 + self.rank)

        self.main_process = self.rank == 0
        self.categories = run_categories(config)
        self.symmetries = CategorySymmetries(self.categories)  # of the loss and the validation errors
        self.library = self.load_meshes()
        trained, start_categories = False, None  # the start weights' regression head and table
        if resume is not None:
            model_config, weights = ModelConfig.from_dict(resume["model_config"]), resume["train"]["model"]
            trained = regression_head_trained(resume)
        elif config.init:
            model_config, weights, trained, start_categories = initial_weights(config.init, config.model)
        else:
            model_config, weights = ModelConfig.from_dict(config.model), None
        self.announce_categories(start_categories)
        self.model = PoseNet(model_config)
        self.model.regression_head_trained = trained or config.stage != "scratch"
        if weights is not None:
            try:
                self.model.load_state_dict(weights)
            except RuntimeError as error:
                raise CheckpointError(
                    f"the start weights do not fit the model config {model_config.as_dict()} "
                    f"(model.* overrides must keep every layer's size): {error}"
                ) from None
        self.model.to(self.device)
        objective = TrainingObjective(self.model, config.stage, config.translation_weight, config.score_repeats)
        self.objective = objective
        if self.world > 1:
            self.objective = DistributedDataParallel(
                objective,
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=not objective.uses_all_parameters,
            )
        # The training step compiled (measured 1.8x on the 2-core CPU, BENCHMARKS.md); same parameters
        self.step_objective = torch.compile(self.objective) if config.compile else self.objective
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, learning_rate_factor(config))
        self.ema = EMA(self.model, config.ema_decay)
        self.step, self.best = 0, -math.inf
        if resume is not None:
            train = resume["train"]
            self.ema.model.load_state_dict(resume["model"])
            self.ema.load_state_dict(train["ema"])
            self.optimizer.load_state_dict(train["optimizer"])
            match_state_shapes(self.optimizer)
            self.scheduler.load_state_dict(train["scheduler"])
            self.step, self.best = int(train["step"]), float(train["best"])
            torch.set_rng_state(train["rng"]["torch"])
            if self.device.type == "cuda" and train["rng"]["cuda"]:
                torch.cuda.set_rng_state_all(train["rng"]["cuda"])
        self.out = Path(config.out)
        self.amp = config.amp and bf16_is_fast(self.device)

    # ----------------------------------------------------------------- categories

    def load_meshes(self) -> dict | None:
        """The user meshes of the run's categories for the synthetic scenes (None when none are
        rendered or given); ValueError when a category has neither a generator nor meshes."""
        from .data.shapes import load_category_meshes

        if not self.config.uses_stream:
            return None
        return load_category_meshes(self.categories, self.config.meshes, self.config.mesh_scale)

    def announce_categories(self, start: CategoryTable | None) -> None:
        """Log the run's table, and say so when the init= weights (trained on `start`) were trained on
        another: fine-tuning onto a new table is allowed, the network is category-agnostic."""
        if not self.main_process:
            return
        print(f"train: categories {describe_categories(self.categories)}", flush=True)
        if start is not None and start != self.categories:
            print(
                f"train: fine-tuning {self.config.init}, trained on {', '.join(start.names)}, onto the "
                f"categories {', '.join(self.categories.names)}: the network is category-agnostic, so all "
                "its weights carry over; the new checkpoints hold the new table",
                flush=True,
            )

    # ----------------------------------------------------------------- checkpoints

    def save(self, name: str, metrics: dict | None = None) -> None:
        if not self.main_process:
            return
        rng = {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
        }
        train = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "ema": self.ema.state_dict(),
            "step": self.step,
            "best": self.best,
            "rng": rng,
            "config": self.top.as_dict(),
            "stage_index": self.stage_index,
        }
        save_checkpoint(
            self.out / name,
            self.ema.model,
            stage=self.config.stage,
            step=self.step,
            metrics=metrics or {},
            categories=self.categories.as_entries(),
            train=train,
        )

    def export(self, metrics: dict) -> None:
        """model.pt: the EMA weights, config and metrics only (small; what is shipped and loaded)."""
        if self.main_process:
            save_checkpoint(
                self.out / "model.pt",
                self.ema.model,
                stage=self.config.stage,
                step=self.step,
                metrics=metrics,
                categories=self.categories.as_entries(),
            )

    # ----------------------------------------------------------------- validation

    @torch.no_grad()
    def validate(self, val: dict[str, torch.Tensor]) -> dict:
        """Accuracy of the EMA model on the validation set: the regression head, the diffusion head from
        noise (K=1, guided DDIM: the paper's sampler) and, in joint training, the diffusion head refining
        the regression head's pose (`start=regression`, what `auto` uses for such a model)."""
        model = self.ema.model
        points = val["points"].to(self.device)
        centred, centroid = centre_points(points)
        names = [self.categories.by_id(int(c)).name for c in val["category"]]
        symmetry = self.symmetries(val["category"], val["symmetric"])
        results = {}
        chunks = range(0, len(points), 64)
        if self.config.stage != "scratch":  # scratch trains no regression head
            R_reg, t_reg = vector_to_pose(torch.cat([model.regress(model.encode(centred[i : i + 64])) for i in chunks]))
            results["regression"] = self._table(R_reg, t_reg + centroid, val, names, symmetry)
        for head, start in VALIDATED_STARTS[self.config.stage].items():
            estimator = PoseEstimator(
                model,
                device=self.device,
                settings=SamplerSettings(steps=self.config.val_sampler_steps, start=start),
                seed=self.config.seed,
            )
            poses = [estimator.estimate_points(val["points"][i : i + 64].numpy()) for i in chunks]
            R = np.concatenate([p.R for p in poses])
            t = np.concatenate([p.t for p in poses])
            results[head] = self._table(R, t, val, names, symmetry)
        return results

    @staticmethod
    def _table(R, t, val, names, symmetry: SymmetryBatch) -> dict:
        R, t = (x.cpu().numpy() if torch.is_tensor(x) else x for x in (R, t))
        rotation, translation = pose_errors(R, t, val["R"].numpy(), val["t"].numpy(), symmetry)
        return accuracy_table(rotation, translation, names)

    def headline(self, results: dict) -> float:
        """The number `best.pt` maximises: mean accuracy over the four thresholds of what inference uses."""
        head = {"pretrain": "regression", "joint": "refined", "scratch": "diffusion"}[self.config.stage]
        table = results[head]["mean"]
        return float(np.mean([table[threshold_name(d, c)] for d, c in THRESHOLDS]))

    # ----------------------------------------------------------------- training

    def train(self) -> dict:
        """Train to `steps`, validating, logging and checkpointing on the way; the last validation's results.

        Ctrl-C or SIGTERM (STOP) ends the run after the current step (`stop`)."""
        config = self.config
        writer = self.open_run()
        val = validation_set(config, self.categories, self.library) if self.main_process else None
        pin = self.device.type == "cuda"
        batches = training_batches(config, self.rank, self.world, self.step, pin, self.categories, self.library)
        progress = tqdm(
            total=config.steps,
            initial=self.step,
            desc=f"{config.stage}",
            disable=not self.main_process,
            dynamic_ncols=True,
        )
        log = TrainingLog(writer, progress, self.world)
        results: dict = {}
        self.objective.train()
        while self.step < config.steps:
            batch = next(batches)
            terms, grad_norm = self.train_step(batch)
            log.add(terms, grad_norm, len(batch["points"]))
            progress.update()
            if self.due(config.log_every):
                # the steps since the last write: log_every, or the remainder at the last step
                log.write(self.step, self.step % config.log_every or config.log_every, self.scheduler.get_last_lr()[0])
            if self.main_process and self.due(config.val_every):
                results = self.validation_round(val, writer, progress)
            if self.due(config.checkpoint_every):
                self.save("last.pt", results)
            if STOP.is_set():
                break
        progress.close()
        if STOP.is_set():
            self.stop(results)
        self.finish(results, writer)
        return results

    def due(self, every: int) -> bool:
        """Whether a periodic job (logging, validation, a checkpoint) runs after this step: every
        `every` steps and after the last."""
        return self.step % every == 0 or self.step == self.config.steps

    def open_run(self) -> SummaryWriter | None:
        """The main process's run folder with its config.yaml, and its TensorBoard writer (None elsewhere)."""
        if not self.main_process:
            return None
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "config.yaml").write_text(yaml.safe_dump(self.config.as_dict(), sort_keys=False))
        from torch.utils.tensorboard import SummaryWriter

        return SummaryWriter(self.out / "tb")

    def train_step(self, batch: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """One optimisation step on a batch, the EMA updated and the step counted: its loss terms and
        gradient norm (before clipping)."""
        points, centroid = centre_points(batch["points"].to(self.device, non_blocking=True))
        target = pose_to_vector(batch["R"].to(self.device), batch["t"].to(self.device) - centroid)
        symmetry = self.symmetries(batch["category"], batch["symmetric"]).to(self.device, non_blocking=True)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            terms = self.step_objective(points, target, symmetry)
        self.optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        self.ema.update(self.model)
        self.step += 1
        return terms, grad_norm

    def validation_round(self, val: dict[str, torch.Tensor], writer: SummaryWriter, progress: tqdm) -> dict:
        """Validate (main process), log it (val/<head>/<metric> and one line per head), keep a new best
        in best.pt, and return the results."""
        results = self.validate(val)
        score = self.headline(results)
        for head, table in results.items():
            mean = table["mean"]
            for key, value in mean.items():
                if key != "count":
                    writer.add_scalar(f"val/{head}/{key}", value, self.step)
            progress.write(
                f"step {self.step} validation, {head} head: "
                + ", ".join(f"{threshold_name(d, c)} {100 * mean[threshold_name(d, c)]:.1f}%" for d, c in THRESHOLDS)
                + f", median {mean['rotation_median_deg']:.1f}° {mean['translation_median_cm']:.2f} cm"
            )
        if score > self.best:
            self.best = score
            self.save("best.pt", results)
        self.objective.train()
        return results

    def stop(self, results: dict) -> NoReturn:
        """After STOP: save last.pt (resumable) and model.pt, say so, and exit with status 130."""
        self.save("last.pt", results)
        self.export(results)
        if self.main_process:
            print(
                f"stopped at step {self.step}: saved {self.out / 'last.pt'} (continue with --resume) "
                f"and {self.out / 'model.pt'}",
                flush=True,
            )
        raise SystemExit(130)

    def finish(self, results: dict, writer: SummaryWriter | None) -> None:
        """After the last step: check the DDP replicas agree, export model.pt, print the final tables."""
        self.check_replicas_in_sync()
        self.export(results)
        if writer:
            writer.close()
            for head, table in results.items():
                print(
                    f"\n{self.config.stage} step {self.step}, validation ({head} head, "
                    f"{table['mean']['count']} samples):"
                )
                print(format_table(table))

    def check_replicas_in_sync(self) -> None:
        """Under DDP every rank must end with the same weights (all-reduced gradients)."""
        if self.world == 1:
            return
        flat = torch.cat([p.detach().reshape(-1) for p in self.model.parameters()])
        reference = flat.clone()
        dist.broadcast(reference, src=0)
        difference = (flat - reference).abs().max()
        dist.all_reduce(difference, op=dist.ReduceOp.MAX)
        if difference > 1e-5:
            raise RuntimeError(f"DDP replicas diverged: max weight difference {difference.item():.3g}")
        if self.main_process:
            print(f"DDP: {self.world} replicas in sync (max weight difference {difference.item():.1e})")


def setup_distributed() -> None:
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))


def config_file(path: str | None) -> str | Path | None:
    """`path`, else the installed config/train.yaml (None: built-in defaults); says which, once per run."""
    found = path or default_train_config_path()
    if int(os.environ.get("RANK", "0")) == 0:
        print(
            f"train: config {found}"
            if found
            else "train: no config/train.yaml installed (looked for "
            + ", ".join(map(str, default_train_config_candidates()))
            + "); using the built-in defaults",
            flush=True,
        )
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML file of TrainConfig fields (default: the installed config/train.yaml)")
    parser.add_argument("--resume", help="a last.pt/best.pt to continue from (its run's config is used)")
    parser.add_argument(
        "overrides", nargs="*", metavar="key=value", help="config overrides, e.g. steps=2000 stage=joint"
    )
    args = parser.parse_args(argv)
    resume, start = None, 0
    try:
        if args.resume:
            resume = load_checkpoint(args.resume)
            if "train" not in resume:
                raise CheckpointError(
                    f"{args.resume} holds no training state (an exported model.pt?); use init=... instead"
                )
            top = load_config(None, args.overrides, base=resume["train"]["config"])
            start = int(resume["train"]["stage_index"])
        else:
            top = load_config(config_file(args.config), args.overrides)
    except (CheckpointError, ValueError, OSError) as error:
        parser.exit(2, f"train: error: {error}\n")
    setup_distributed()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)
    try:
        for index, stage in enumerate(stage_plan(top)):
            if index < start:
                continue
            try:
                trainer = Trainer(stage, top, index, resume if index == start else None)
            except (CheckpointError, ValueError) as error:
                parser.exit(2, f"train: error: {error}\n")
            trainer.train()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
