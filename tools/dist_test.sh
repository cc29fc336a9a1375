#!/usr/bin/env bash
# Distributed evaluation with torchrun (the mmseg convention):
#
#   bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options...]
#   e.g. bash tools/dist_test.sh configs/dispart/synthetic_k4.py work_dirs/k4/iter_1500.pth 4
#
# Multi-node: run it on every node with NNODES (number of nodes), NODE_RANK (0..NNODES-1),
# MASTER_ADDR (address of node 0) and PORT (a free port on node 0) set the same way.
set -euo pipefail
if [ "$#" -lt 3 ]; then
    echo "usage: bash $0 CONFIG CHECKPOINT GPUS [test.py options...]" >&2
    exit 2
fi
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
shift 3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PARTSEG_VENV:-$ROOT/.venv}"
if [ -x "$VENV/bin/torchrun" ]; then TORCHRUN="$VENV/bin/torchrun"; else TORCHRUN=torchrun; fi

PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" exec "$TORCHRUN" \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$ROOT/tools/test.py" \
    "$CONFIG" \
    "$CHECKPOINT" \
    --launcher pytorch "$@"
