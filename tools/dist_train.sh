#!/usr/bin/env bash
# Distributed training on one or more nodes with torchrun (the mmseg convention):
#
#   bash tools/dist_train.sh CONFIG GPUS [train.py options...]
#   e.g. bash tools/dist_train.sh configs/dispart/synthetic_k4.py 4 --work-dir work_dirs/k4
#
# Multi-node: run it on every node with NNODES (number of nodes), NODE_RANK (0..NNODES-1),
# MASTER_ADDR (address of node 0) and PORT (a free port on node 0) set the same way.
set -euo pipefail
if [ "$#" -lt 2 ]; then
    echo "usage: bash $0 CONFIG GPUS [train.py options...]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
shift 2
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
    "$ROOT/tools/train.py" \
    "$CONFIG" \
    --launcher pytorch "$@"
