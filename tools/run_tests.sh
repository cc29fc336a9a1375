#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite on CPU. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/tools/install.sh"
cd "$ROOT"
export CUDA_VISIBLE_DEVICES=""
exec "${PARTSEG_VENV:-$ROOT/.venv}/bin/python" -m pytest tests "$@"
