#!/usr/bin/env bash
# The numbers of a model card (models/README.md): a candidate checkpoint on the held-out
# synthetic test set, single-frame and tracking, and the paper's Table 2 rows.
#
#   bash scripts/evaluate_model.sh CHECKPOINT [OUT_DIR]      (default outputs/model_eval)
#
# The test set (generated once into $DATA, default data/heldout): split `test` (shape
# parameters never used in training), 100 scenes x 4 frames, seed 1, every scene with 1-2
# distractor objects of no category (issue #8's set; > 300 objects, > 1000 instances).
# Also the held-out-family set ($FAMILY, default data/family: split `family`, 60 scenes x 1
# frame, seed 777123), with both starts: the default (`auto`) and the paper's (`noise`).
# Writes OUT_DIR/{single,tracking,single_noise,family,family_noise}.json (per-category
# tables), predictions, plots (accuracy curves, Figure-2 samples, the worst estimates) and
# claim1/ (K=1 unguided, K=20/50 pooled, K=1 guided from noise, K=1 guided from the
# regression head; single-frame / tracking).
set -euo pipefail
checkpoint="$1"
out="${2:-outputs/model_eval}"
data="${DATA:-data/heldout}"
family="${FAMILY:-data/family}"
bin="${BIN:-.venv/bin}"
if [ ! -d "$data" ]; then
  "$bin/generate_dataset" --split test --scenes 100 --frames 4 --seed 1 --distractor-prob 1.0 --overview 4 --out "$data"
fi
if [ ! -d "$family" ]; then
  "$bin/generate_dataset" --split family --scenes 60 --frames 1 --seed 777123 --out "$family"
fi
mkdir -p "$out"
"$bin/evaluate" --data "$data" --checkpoint "$checkpoint" --json "$out/single.json" \
  --predictions "$out/single_predictions.jsonl" --plots "$out/plots" | tee "$out/single.txt"
"$bin/evaluate" --data "$data" --checkpoint "$checkpoint" --tracking --json "$out/tracking.json" \
  --predictions "$out/tracking_predictions.jsonl" | tee "$out/tracking.txt"
"$bin/evaluate" --data "$data" --checkpoint "$checkpoint" --start noise --json "$out/single_noise.json" \
  | tee "$out/single_noise.txt"
for start in auto noise; do
  suffix=$([ "$start" = auto ] && echo "" || echo "_$start")
  "$bin/evaluate" --data "$family" --checkpoint "$checkpoint" --start "$start" --json "$out/family$suffix.json" \
    | tee "$out/family$suffix.txt"
done
"$bin/python" benchmarks/claim1_single_sample.py --data "$data" --checkpoint "$checkpoint" --out "$out/claim1"
