"""The `train` entry point end to end on CPU, with a small network and tiny batches."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from posediff_ros.checkpoint import load_checkpoint, load_model
from posediff_ros.data.generate import main as generate_dataset
from posediff_ros.estimator import PoseEstimator
from posediff_ros.train import main as train
from posediff_ros.train_data import EpochSampler

SMALL = [
    "model.encoder={centres: [64, 32, 16], radii: [[0.04], [0.08], [0.16]], neighbours: [[16], [16], [16]], "
    "mlps: [[[16, 32]], [[32, 64]], [[64, 128]], [[128, 256]]]}",
    "model.time_dim=32",
    "model.pose_dim=32",
    "model.head_hidden=32",
    "model.regression_hidden=64",
    "batch_size=4",
    "workers=0",
    "score_repeats=2",
    "val_samples=8",
    "log_every=1",
]


def test_pretrain_then_joint_writes_loadable_checkpoints(tmp_path, capsys):
    train([f"out={tmp_path}", "steps=3", "pretrain_steps=2", "val_every=2", "checkpoint_every=2", *SMALL])
    for stage in ("pretrain", "joint"):
        run = tmp_path / stage
        assert {"config.yaml", "last.pt", "best.pt", "model.pt"} <= {p.name for p in run.iterdir()}
        assert any((run / "tb").glob("events.out.tfevents.*"))
        assert "train" not in load_checkpoint(run / "model.pt")  # the shipped file has weights only
    joint = load_checkpoint(tmp_path / "joint" / "last.pt")
    assert joint["train"]["step"] == 3 and joint["stage"] == "joint"
    assert set(joint["metrics"]) == {"regression", "diffusion", "refined"}
    assert (
        joint["regression_head_trained"]
        and load_checkpoint(tmp_path / "pretrain" / "model.pt")["regression_head_trained"]
    )
    assert "stage: joint" in (tmp_path / "joint" / "config.yaml").read_text()
    model, _ = load_model(tmp_path / "joint" / "model.pt")
    assert model.config.time_dim == 32
    PoseEstimator.from_checkpoint(tmp_path / "joint" / "model.pt", device="cpu")  # as the node loads it
    out = capsys.readouterr().out
    assert "validation (diffusion head" in out
    # every validation pass is reported as it happens, not only at the end
    assert re.search(r"step 2 validation, regression head: 5deg2cm [\d.]+%.*median [\d.]+° [\d.]+ cm", out)
    assert re.search(r"step 3 validation, diffusion head: 5deg2cm [\d.]+%", out)


def test_resume_continues_exactly(tmp_path):
    generate_dataset(
        ["--out", str(tmp_path / "data"), "--scenes", "2", "--frames", "2", "--width", "160", "--height", "120"]
    )
    common = [
        f"data_dir={tmp_path / 'data'}",
        "data=disk",
        f"val_dir={tmp_path / 'data'}",
        "stage=scratch",
        "val_every=100",
        "checkpoint_every=2",
        "lr=1e-2",
        "warmup_steps=2",
        "lr_decay_every=1",
        *SMALL,
    ]
    train([f"out={tmp_path / 'straight'}", "steps=4", *common])
    train([f"out={tmp_path / 'resumed'}", "steps=2", *common])
    train(["--resume", str(tmp_path / "resumed" / "scratch" / "last.pt"), "steps=4"])
    straight = load_checkpoint(tmp_path / "straight" / "scratch" / "last.pt")
    resumed = load_checkpoint(tmp_path / "resumed" / "scratch" / "last.pt")
    assert resumed["train"]["step"] == 4
    assert set(resumed["metrics"]) == {"diffusion"}  # scratch trains (and validates) no regression head
    for key in ("model",):
        for name, value in straight["train"][key].items():
            assert torch.equal(value, resumed["train"][key][name]), name
    for name, value in straight["model"].items():  # EMA weights too
        assert torch.equal(value, resumed["model"][name]), name


def test_epoch_sampler_shards_and_resumes():
    def take(sampler, n):
        it = iter(sampler)
        return [next(it) for _ in range(n)]

    both = take(EpochSampler(10, 3, 0, 2), 7) + take(EpochSampler(10, 3, 1, 2), 7)
    first_epoch = [i for i in both if i < 10]
    assert sorted(first_epoch) == list(range(10))  # the two ranks split an epoch
    assert take(EpochSampler(10, 3, 0, 2, start=3), 4) == take(EpochSampler(10, 3, 0, 2), 7)[3:]


def test_bad_config_and_resume_are_clear(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train(["stepz=3"])
    assert exit_info.value.code == 2 and "unknown config keys ['stepz']" in capsys.readouterr().err
    torch.save({"hello": 1}, tmp_path / "foreign.pt")
    with pytest.raises(SystemExit):
        train(["--resume", str(tmp_path / "foreign.pt")])
    assert "not a posediff_ros checkpoint" in capsys.readouterr().err


def test_init_continues_a_model_in_a_new_encoder_configuration(tmp_path, capsys):
    train([f"out={tmp_path / 'a'}", "stage=pretrain", "steps=1", "val_every=100", *SMALL])
    start = tmp_path / "a" / "pretrain" / "model.pt"
    more_centres = "model.encoder={centres: [96, 48, 24]}"  # same weights, other centre counts
    train([f"out={tmp_path / 'b'}", "stage=joint", "steps=1", f"init={start}", "val_every=100", *SMALL, more_centres])
    model, _ = load_model(tmp_path / "b" / "joint" / "model.pt")
    assert model.config.encoder.centres == [96, 48, 24]
    assert model.config.encoder.mlps == load_model(start)[0].config.encoder.mlps  # the rest kept from init
    with pytest.raises(SystemExit) as exit_info:
        train([f"out={tmp_path / 'c'}", "stage=joint", "steps=1", f"init={start}", *SMALL, "model.time_dim=48"])
    assert exit_info.value.code == 2
    assert "start weights do not fit the model config" in capsys.readouterr().err


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not built")
def test_ddp_with_two_cpu_processes_keeps_replicas_in_sync(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    with socket.socket() as probe:  # a port free now (the OS picks it), not one fixed port per run
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(port),
        "-m",
        "posediff_ros.train",
        f"out={tmp_path}",
        "stage=joint",
        "steps=3",
        "val_every=3",
        *SMALL,
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "DDP: 2 replicas in sync" in result.stdout
    assert (tmp_path / "joint" / "model.pt").is_file()


def test_a_stop_signal_saves_the_run_and_exits(tmp_path):
    """SIGTERM (as `kill`, or Ctrl-C's SIGINT) ends the step, saves last.pt and model.pt, exits 130."""
    out = tmp_path / "scratch"  # the stage's folder under out=
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "posediff_ros.train",
            f"out={tmp_path}",
            "stage=scratch",
            "steps=100000",
            "val_every=100000",
            "checkpoint_every=100000",
            *SMALL,
        ],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(600):
            if (out / "tb").exists() or process.poll() is not None:
                break
            time.sleep(0.1)
        time.sleep(2.0)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, output
    assert "stopped at step" in output
    last = load_checkpoint(out / "last.pt")
    assert last["train"]["step"] >= 1 and not last["regression_head_trained"]  # scratch trains no regression
    assert "train" not in load_checkpoint(out / "model.pt")


def test_a_compiled_training_step_trains(tmp_path):
    """compile=true runs the objective through torch.compile: the same parameters learn."""
    train([f"out={tmp_path}", "stage=pretrain", "steps=2", "val_every=2", "checkpoint_every=2", "compile=true", *SMALL])
    last = load_checkpoint(tmp_path / "pretrain" / "last.pt")
    assert last["train"]["step"] == 2 and last["train"]["config"]["compile"] is True
    load_model(tmp_path / "pretrain" / "model.pt")  # the exported weights load as usual
