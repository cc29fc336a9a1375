#!/usr/bin/env bash
# The main job, from a fresh clone: set up (idempotent), train DisPart on the embedded synthetic
# dataset, evaluate it on held-out synthetic images, and write metrics, overlay PNGs and one
# summary figure (held-out images with their parts, metrics beside the trivial baselines, losses).
#
#   bash tools/quickstart.sh [WORK_DIR]        (default: work_dirs/quickstart)
#
# Extra settings: CONFIG (default configs/dispart/synthetic_k4.py).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK_DIR="${1:-work_dirs/quickstart}"
CONFIG="${CONFIG:-configs/dispart/synthetic_k4.py}"
bash "$ROOT/tools/install.sh"
cd "$ROOT"
PY="${PARTSEG_VENV:-$ROOT/.venv}/bin/python"

echo "[quickstart] training $CONFIG into $WORK_DIR"
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR"
CKPT="$(cat "$WORK_DIR/last_checkpoint")"
echo "[quickstart] evaluating $CKPT on held-out synthetic images"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR" --show-dir overlays
echo "[quickstart] drawing the summary figure"
"$PY" tools/analysis_tools/summary_figure.py "$WORK_DIR"
echo "[quickstart] done: metrics in $WORK_DIR/metrics.json, overlays in $WORK_DIR/overlays/," \
    "summary figure $WORK_DIR/summary.png"
