#!/usr/bin/env bash
# Collect what a training run on the GPU machine produced into $OUT (the `device` tool
# brings back at most 8 files of 16 MiB): the newest stage's EMA weights (model.pt), its
# resolved config, the end of the log, and the validation curve as CSV.
#
#   bash scripts/device_pack.sh [RUN_DIR]      (default /tmp/run, as scripts/device_train.sh)
set -euo pipefail
run="${1:-/tmp/run}"
stage=$(ls -td "$run"/*/ | head -n 1)
cp "$stage/model.pt" "$stage/config.yaml" "$OUT/"
tail -c 20000 "$run/train.log" > "$OUT/train_log_tail.txt"
python3 - "$stage" "$OUT/validation.csv" <<'PY'
import csv, sys
from pathlib import Path
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

events = EventAccumulator(str(Path(sys.argv[1]) / "tb"))
events.Reload()
tags = sorted(t for t in events.Tags()["scalars"] if t.startswith("val/") or t in ("train/total", "train/samples_per_s"))
rows = {}
for tag in tags:
    for e in events.Scalars(tag):
        rows.setdefault(e.step, {})[tag] = e.value
with open(sys.argv[2], "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["step"] + tags)
    for step in sorted(rows):
        writer.writerow([step] + [rows[step].get(tag, "") for tag in tags])
PY
ls -la "$OUT"
