#!/usr/bin/env bash
# The engine's speed on a lent GPU machine (the `device` tool), numbers into $OUT.
# Run from the repository root there, with the wheels from `make device-wheels` carried in
# .whl/ (that machine's Python 3.12 has PyTorch and NumPy but not embreex or trimesh, which
# render the benchmark frames):
#
#   bash scripts/device_bench.sh          (about 3 minutes; then read $OUT/*.txt)
#
# 1. `bench_engine --device cuda`, eager and compiled, 1/5/8/20 objects;
# 2. the CUDA hot path under torch.cuda.set_sync_debug_mode("error"): a host sync inside the
#    encoder or the sampler fails it (test/unit/test_cuda_path.py);
# 3. claim 1's speed rows (K=1 / K=20 / K=50, single frame and tracking) on 60 generated frames.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1
out="${OUT:-/tmp/out}"
mkdir -p "$out"
nvidia-smi > "$out/nvidia_smi.txt" 2>&1
python3 benchmarks/bench_engine.py --device cuda --objects 1 5 8 20 --repeats 50 > "$out/bench_engine_cuda.txt" 2>&1
python3 benchmarks/bench_engine.py --device cuda --objects 1 5 8 20 --repeats 50 --compile \
  > "$out/bench_engine_cuda_compiled.txt" 2>&1
python3 -m pytest -q test/unit/test_cuda_path.py > "$out/cuda_path_test.txt" 2>&1
python3 -m posediff_ros.data.generate --split test --scenes 60 --frames 1 --seed 777123 --out /tmp/claim1_data \
  > /dev/null 2>&1
python3 benchmarks/claim1_single_sample.py --data /tmp/claim1_data --device cuda --out "$out/claim1" \
  > "$out/claim1.txt" 2>&1
tail -n 12 "$out"/*.txt
