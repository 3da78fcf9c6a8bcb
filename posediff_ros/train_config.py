"""Training configuration: dataclass defaults, YAML files and `key=value` overrides.

    train --config config/train.yaml stage=joint steps=20000 init=runs/pre/last.pt

A YAML file sets any subset of the fields; `key=value` arguments on the command line
override it (values parsed as YAML, so `amp=false`, `lr=3e-4`, `model.time_dim=64`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import yaml

STAGES = ("pretrain", "joint", "scratch", "pretrain+joint")
DATA_SOURCES = ("stream", "disk", "nocs", "housecat6d", "omni6dpose")


@dataclass
class TrainConfig:
    stage: str = "pretrain+joint"  # pretrain | joint | scratch | pretrain+joint (one command, two runs)
    out: str = "runs/default"
    steps: int = 20000  # of this stage (of the joint stage for pretrain+joint)
    pretrain_steps: int = 5000  # the pretrain part of pretrain+joint
    init: str | None = None  # start weights (e.g. a pretrain checkpoint for `joint`)
    batch_size: int = 192  # paper §5.1
    # Adam with linear warm-up, then x lr_decay every lr_decay_every steps, down to min_lr (GenPose)
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 100
    lr_decay: float = 0.98
    lr_decay_every: int = 1000
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    score_repeats: int = 20  # (t, z) draws per pose and step, one encoder pass (GenPose)
    translation_weight: float = 1.0
    compile: bool = False  # torch.compile the training step: 1.8x on a 2-core CPU, minutes to compile first
    amp: bool = True  # bfloat16 autocast on CUDA and on CPUs with native bf16 (model.inference.bf16_is_fast)
    device: str = "auto"
    seed: int = 0
    # data
    # stream (synthetic, rendered on the fly) | disk (docs/conventions.md §6 layout) | nocs | housecat6d | omni6dpose
    data: str = "stream"
    data_dir: str | None = None
    nocs_split: str = "camera_train+real_train"  # NOCS splits joined by +, mixed in nocs_mix ratio
    nocs_mix: list = field(default_factory=lambda: [3.0, 1.0])  # CAMERA : Real = 3 : 1 (GenPose)
    housecat6d_split: str = "train"  # train | val | test (docs/datasets.md)
    omni6dpose_split: str = "sope_train"  # sope_train | sope_test | rope (docs/datasets.md)
    workers: int = 4
    # the category table (a YAML file like config/nocs_categories.yaml), written into every
    # checkpoint; default: the data's own (a data=disk dataset's categories.yaml), else NOCS
    categories: str | None = None
    # data=stream and the synthetic validation set: user meshes DIR/<category>/*.obj|ply|stl,
    # required for categories without a procedural generator (docs/conventions.md §2.1)
    meshes: str | None = None
    mesh_scale: float = 1.0  # mesh file units to metres (0.001 for millimetres)
    mesh_prob: float = 0.5  # chance to take a user mesh for a procedural category that has some
    # data=stream: relative frequency per category name (others 1), e.g. {camera: 2, laptop: 2}
    category_weights: dict = field(default_factory=dict)
    augment: bool = True  # the baseline's point-cloud augmentations (data/augment.py) on training batches
    # validation: a fixed set of held-out samples, 10-step guided DDIM with K = 1
    val_dir: str | None = None  # docs/conventions.md §6 dataset; default: val_samples synthetic samples, val split
    val_samples: int = 512
    val_every: int = 1000
    val_sampler_steps: int = 10
    checkpoint_every: int = 1000
    log_every: int = 50
    model: dict = field(default_factory=dict)  # ModelConfig fields to change

    def __post_init__(self):
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, not {self.stage!r}")
        if self.data not in DATA_SOURCES:
            raise ValueError(f"data must be one of {DATA_SOURCES}, not {self.data!r}")
        if self.category_weights and self.data != "stream":
            raise ValueError("category_weights applies to data=stream only")
        if self.data != "stream" and not self.data_dir:
            raise ValueError(f"data={self.data} needs data_dir")
        if self.meshes and not self.uses_stream:
            raise ValueError("meshes applies to data=stream, or to validation without val_dir, only")
        if self.mesh_scale <= 0 or not 0 <= self.mesh_prob <= 1:
            raise ValueError(
                f"mesh_scale must be positive and mesh_prob in [0, 1]: {self.mesh_scale}, {self.mesh_prob}"
            )

    @property
    def uses_stream(self) -> bool:
        """Whether synthetic scenes are rendered: for training (data=stream) or validation (no val_dir)."""
        return self.data == "stream" or not self.val_dir

    @property
    def data_split(self) -> str | None:
        """The split of data_dir that is trained on: nocs_split, housecat6d_split or omni6dpose_split
        (None for stream and disk, which have none)."""
        return {
            "nocs": self.nocs_split,
            "housecat6d": self.housecat6d_split,
            "omni6dpose": self.omni6dpose_split,
        }.get(self.data)

    def as_dict(self) -> dict:
        return asdict(self)


def load_config(path: str | Path | None = None, overrides: list[str] = (), base: dict | None = None) -> TrainConfig:
    """Defaults (or `base`, e.g. a resumed run's config), then the YAML file, then `key=value`
    overrides; unknown keys are errors."""
    values: dict = dict(base or {})
    if path is not None:
        loaded = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: expected a mapping of config keys")
        values.update(loaded)
    known = {f.name for f in fields(TrainConfig)}
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} is not key=value")
        value = yaml.safe_load(text)
        if key.startswith("model."):
            values.setdefault("model", {})[key.removeprefix("model.")] = value
        else:
            values[key] = value
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown)}; known: {sorted(known)}")
    defaults = TrainConfig()
    for key, value in values.items():
        # YAML reads "1e-3" as a string (1.1 floats need a dot): coerce to the field's type
        if isinstance(getattr(defaults, key), float) and isinstance(value, (str, int)) and not isinstance(value, bool):
            try:
                values[key] = float(value)
            except ValueError:
                raise ValueError(f"{key} must be a number, not {value!r}") from None
    return TrainConfig(**values)
