#!/usr/bin/env bash
# Start a training run, detached, on a lent GPU machine (the `device` tool).
# Run from the repository root there, with the wheels from `make device-wheels`
# carried in .whl/: that machine's Python 3.12 has PyTorch, NumPy, SciPy, PyYAML,
# tqdm, TensorBoard and Pillow, but not embreex (the ray caster) or trimesh.
#
#   bash scripts/device_train.sh [key=value ...]      e.g. init=models/posediff_default.pt
#
# Logs and checkpoints go to /tmp/run (outside the copied tree); poll with
# `tail /tmp/run/train.log` and bring back /tmp/run/joint/model.pt through $OUT.
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1
mkdir -p /tmp/run
# 16 cores: 14 render training samples, the rest feed the GPU.
setsid nohup python3 -m posediff_ros.train --config config/train.yaml out=/tmp/run workers=14 "$@" \
  > /tmp/run/train.log 2>&1 < /dev/null &
echo "training started (pid $!); log: /tmp/run/train.log"
