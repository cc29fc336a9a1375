#!/usr/bin/env bash
# Wheels for running partseg's tools on a machine without internet that already has Python, torch
# and torchvision (a GPU node, say): mmcv 2.1.0 compiled against that machine's torch version, and
# mmengine, mmsegmentation, kornia and their small dependencies for its Python version.
#
#   bash tools/misc/offline_wheels.sh OUT_DIR
#
# Environment: PYTHON, an interpreter of the target's Python minor version (default python3.12);
# TORCH, the target's torch version (default 2.11.0); PLATFORM, pip's platform tag for the binary
# wheels (default manylinux_2_28_x86_64). Builds in OUT_DIR/.build (a venv with that torch from
# PyPI, its CUDA libraries included: a few GB; mmcv's ops compile as CPU ops, ~25 minutes on 2
# cores; partseg calls none of them, mmseg only imports them); the wheels land in OUT_DIR.
# On the target, from the repository root:
#   python3 -m pip install --no-index --no-deps --target /tmp/site OUT_DIR/*.whl
#   PYTHONPATH=/tmp/site PARTSEG_PYTHON=python3 bash tools/analysis_tools/speed_targets.sh RESULTS
set -euo pipefail
if [ $# -ne 1 ]; then
    echo "usage: bash tools/misc/offline_wheels.sh OUT_DIR" >&2
    exit 2
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$(mkdir -p "$1" && cd "$1" && pwd)"
PYTHON="${PYTHON:-python3.12}"
TORCH="${TORCH:-2.11.0}"
PLATFORM="${PLATFORM:-manylinux_2_28_x86_64}"
log() { printf '[offline_wheels] %s\n' "$*"; }

PYVER="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
VENV="$OUT/.build/venv"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
VPY="$VENV/bin/python"
log "torch $TORCH for Python $PYVER into $VENV"
"$VPY" -m pip install --disable-pip-version-check -q "torch==$TORCH" numpy

if ls "$OUT"/mmcv-2.1.0-cp${PYVER/./}-*.whl >/dev/null 2>&1; then
    log "mmcv wheel already in $OUT"
else
    log "building mmcv 2.1.0 against torch $TORCH"
    bash "$ROOT/tools/misc/build_mmcv_wheel.sh" "$VPY" "$OUT"
fi

# the pins of requirements/ (mmengine, mmsegmentation, kornia) and what they import at run time;
# setuptools < 81 keeps pkg_resources, which mmengine's Config imports
PINS=$(grep -h -E '^(mmengine|mmsegmentation|kornia)==' "$ROOT"/requirements/*.txt)
log "downloading $(echo $PINS) and their dependencies for cp${PYVER/./} / $PLATFORM"
# shellcheck disable=SC2086
"$VPY" -m pip download --disable-pip-version-check -q --no-deps --only-binary=:all: \
    --python-version "$PYVER" --implementation cp --platform "$PLATFORM" \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$OUT" \
    $PINS kornia_rs addict yapf termcolor ftfy prettytable wcwidth platformdirs \
    "setuptools>=77.0.3,<81"
ls -1 "$OUT"/*.whl
du -sh --exclude=.build "$OUT"
