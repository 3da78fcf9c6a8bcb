"""The training loop of one stage: steps, logging, validation and checkpoints.

`train.py` builds a `Trainer` from the command line and the config (the set-up); the
Trainer runs the steps, logs the losses, validates the EMA model, keeps best.pt and last.pt
(train_checkpoint.py says what they hold) and exports model.pt at the end.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
import torch
import torch.distributed as dist
import yaml
from torch.nn.parallel import DistributedDataParallel
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from .categories import CategoryTable
from .checkpoint import save_checkpoint
from .data.layout import Frame
from .data.shapes import Shape
from .ema import EMA
from .estimator import PoseEstimator, SamplerSettings
from .geometry import centre_points, pose_to_vector, vector_to_pose
from .metrics import THRESHOLDS, accuracy_table, format_table, pose_errors, threshold_name
from .model import PoseNet
from .model.inference import bf16_is_fast
from .objective import TrainingObjective
from .symmetry import CategorySymmetries, SymmetryBatch
from .train_checkpoint import restore_training_state, training_state
from .train_config import TrainConfig
from .train_data import training_batches, validation_set

# Validation rows sampled by the diffusion head per stage, and where their sampling starts.
VALIDATED_STARTS = {
    "pretrain": {},
    "joint": {"diffusion": "noise", "refined": "regression"},
    "scratch": {"diffusion": "noise"},
}


STOP = threading.Event()
"""Set by Ctrl-C or SIGTERM (train.main): the running stage saves last.pt and model.pt after its step and exits."""


@dataclass(frozen=True)
class Placement:
    """Where this process trains: its rank among `world` processes (DDP) and its device."""

    rank: int
    world: int
    device: torch.device

    @property
    def main_process(self) -> bool:
        """Rank 0 validates, logs and writes the files."""
        return self.rank == 0


def learning_rate_factor(config: TrainConfig):
    def factor(step: int) -> float:
        warm = min(1.0, (step + 1) / max(1, config.warmup_steps))
        decay = config.lr_decay ** (step / config.lr_decay_every)
        return warm * max(decay, config.min_lr / config.lr)

    return factor


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
    """One stage's run of `model` (built, on its device) to `config.steps`.

    config: the stage's config; top: the whole run's (saved for --resume, with the stage's
    `stage_index` in the stage plan); categories: the run's table; frames: the training frames
    (None: rendered, data=stream, with the user meshes `library`).
    """

    def __init__(
        self,
        config: TrainConfig,
        top: TrainConfig,
        stage_index: int,
        placement: Placement,
        model: PoseNet,
        categories: CategoryTable,
        frames: Sequence[Frame] | None,
        library: dict[str, list[Shape]] | None,
    ):
        self.config, self.top, self.stage_index = config, top, stage_index
        self.rank, self.world, self.device = placement.rank, placement.world, placement.device
        self.main_process = placement.main_process
        self.model, self.categories, self.frames, self.library = model, categories, frames, library
        self.symmetries = CategorySymmetries(categories)  # of the loss and the validation errors
        objective = TrainingObjective(model, config.stage, config.translation_weight, config.score_repeats)
        self.objective = objective
        if self.world > 1:
            self.objective = DistributedDataParallel(
                objective,
                device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=not objective.uses_all_parameters,
            )
        # The training step compiled (measured 1.8x on the 2-core CPU, BENCHMARKS.md); same parameters
        self.step_objective = torch.compile(self.objective) if config.compile else self.objective
        self.optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, learning_rate_factor(config))
        self.ema = EMA(model, config.ema_decay)
        self.step, self.best = 0, -math.inf
        self.out = Path(config.out)
        self.amp = config.amp and bf16_is_fast(self.device)

    # ----------------------------------------------------------------- checkpoints

    def resume(self, payload: dict) -> None:
        """Continue from a resumable checkpoint (last.pt or best.pt; its raw weights are the model's already)."""
        self.step, self.best = restore_training_state(payload, self.optimizer, self.scheduler, self.ema, self.device)

    def save(self, name: str, metrics: dict | None = None) -> None:
        """A resumable checkpoint `name` in the run's folder (main process)."""
        if not self.main_process:
            return
        state = training_state(self.model, self.optimizer, self.scheduler, self.ema, self.step, self.best, self.device)
        save_checkpoint(
            self.out / name,
            self.ema.model,
            stage=self.config.stage,
            step=self.step,
            metrics=metrics or {},
            categories=self.categories.as_entries(),
            train={**state, "config": self.top.as_dict(), "stage_index": self.stage_index},
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
        batches = training_batches(
            config, self.frames, self.rank, self.world, self.step, pin, self.categories, self.library
        )
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
