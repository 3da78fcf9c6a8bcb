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

# This module is the command line and the set-up of each stage; the loop is trainer.py, the
# run's data train_data.py and what its checkpoints hold train_checkpoint.py.

from __future__ import annotations

import argparse
import os
import signal
from dataclasses import replace
from pathlib import Path

import torch
import torch.distributed as dist

from .categories import CategoryTable
from .checkpoint import CheckpointError, load_checkpoint, regression_head_trained
from .estimator import auto_device
from .model import ModelConfig, PoseNet
from .paths import default_train_config_candidates, default_train_config_path
from .train_checkpoint import initial_weights
from .train_config import TrainConfig, load_config
from .train_data import mesh_library, run_categories, training_frames
from .trainer import STOP, Placement, Trainer


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


# --------------------------------------------------------------------------- set-up


def placement(config: TrainConfig) -> Placement:
    """This process's rank, world size and device (under DDP on CUDA: its LOCAL_RANK's GPU)."""
    world = dist.get_world_size() if dist.is_initialized() else 1
    rank = dist.get_rank() if dist.is_initialized() else 0
    if config.device == "auto" and torch.cuda.is_available() and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    else:
        device = auto_device() if config.device == "auto" else torch.device(config.device)
    return Placement(rank, world, device)


def start_weights(
    config: TrainConfig, resume: dict | None
) -> tuple[ModelConfig, dict | None, bool, CategoryTable | None]:
    """The model config and start weights of a stage: the resumed run's raw weights, else init='s
    (with the run's model.* overrides), else none (a fresh network of `config.model`). Also whether
    their regression head was trained, and (init= only) the table they were trained on."""
    if resume is not None:
        return (
            ModelConfig.from_dict(resume["model_config"]),
            resume["train"]["model"],
            regression_head_trained(resume),
            None,
        )
    if config.init:
        return initial_weights(config.init, config.model)
    return ModelConfig.from_dict(config.model), None, False, None


def built_model(model_config: ModelConfig, weights: dict | None, regression_trained: bool) -> PoseNet:
    """The network of `model_config` with `weights` loaded; CheckpointError when they do not fit."""
    model = PoseNet(model_config)
    model.regression_head_trained = regression_trained
    if weights is not None:
        try:
            model.load_state_dict(weights)
        except RuntimeError as error:
            raise CheckpointError(
                f"the start weights do not fit the model config {model_config.as_dict()} "
                f"(model.* overrides must keep every layer's size): {error}"
            ) from None
    return model


def describe_categories(table: CategoryTable) -> str:
    return ", ".join(f"{c.name} ({c.id}, symmetry {c.symmetry})" for c in table)


def announce_categories(config: TrainConfig, table: CategoryTable, start: CategoryTable | None) -> None:
    """Log the run's table, and say so when the init= weights (trained on `start`) were trained on
    another: fine-tuning onto a new table is allowed, the network is category-agnostic."""
    print(f"train: categories {describe_categories(table)}", flush=True)
    if start is not None and start != table:
        print(
            f"train: fine-tuning {config.init}, trained on {', '.join(start.names)}, onto the "
            f"categories {', '.join(table.names)}: the network is category-agnostic, so all "
            "its weights carry over; the new checkpoints hold the new table",
            flush=True,
        )


def stage_trainer(config: TrainConfig, top: TrainConfig, stage_index: int, resume: dict | None = None) -> Trainer:
    """The Trainer of one stage of the plan: its data, category table, user meshes and model,
    seeded per rank (the model's initial weights are drawn from that seed), resumed from
    `resume` (a last.pt or best.pt payload) where given."""
    where = placement(config)
    torch.manual_seed(config.seed * 1000 + where.rank)
    frames, data_table = training_frames(config)
    categories = run_categories(config, data_table)
    library = mesh_library(config, categories)
    model_config, weights, trained, start_table = start_weights(config, resume)
    if where.main_process:
        announce_categories(config, categories, start_table)
    model = built_model(model_config, weights, trained or config.stage != "scratch").to(where.device)
    trainer = Trainer(config, top, stage_index, where, model, categories, frames, library)
    if resume is not None:
        trainer.resume(resume)
    return trainer


# --------------------------------------------------------------------------- command line


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
                trainer = stage_trainer(stage, top, index, resume if index == start else None)
            except (CheckpointError, ValueError, OSError) as error:  # OSError: data_dir's files
                parser.exit(2, f"train: error: {error}\n")
            trainer.train()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
