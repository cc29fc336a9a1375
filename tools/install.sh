#!/usr/bin/env bash
# Set up partseg in a virtual environment at .venv/ (idempotent; a second run takes seconds).
#
#   bash tools/install.sh            # runtime + test requirements (pip install -e .[tests])
#
# Versions come from requirements/: runtime.txt holds the ranges partseg needs (setup.py's
# install_requires), tested.txt the exact versions installed here (a pip constraints file).
#
# Environment:
#   PARTSEG_VENV          where the venv lives                  (default: <repo>/.venv)
#   PARTSEG_WHEEL_CACHE   extra folder searched for an mmcv wheel (default: ../shared/wheels if present)
#   PYTHON                interpreter used to create the venv    (default: python3)
#
# mmcv 2.1.0 ships only as an sdist on PyPI and does not compile against torch 2.14 as shipped
# (its setup.py asks for C++14/17, torch 2.14's headers need C++20). When no cached wheel is found
# this script builds one with its C++ ops into <repo>/.cache/wheels/ (tools/misc/
# build_mmcv_wheel.sh: the sdist switched to -std=c++20, about 25 minutes on 2 cores) and
# installs it. Later runs reuse that wheel.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PARTSEG_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
LOCAL_WHEELS="$ROOT/.cache/wheels"
TESTED="$ROOT/requirements/tested.txt"
log() { printf '[install] %s\n' "$*"; }

# the version requirements/tested.txt pins for package $1
pinned() {
    local version
    version="$(sed -n "s/^$1==\([^ #]*\).*/\1/p" "$TESTED")"
    if [ -z "$version" ]; then
        echo "[install] error: $TESTED pins no $1==VERSION" >&2
        exit 1
    fi
    printf '%s' "$version"
}
TORCH_VERSION="$(pinned torch)"
TORCHVISION_VERSION="$(pinned torchvision)"
MMCV_VERSION="$(pinned mmcv)"
# the setuptools range of runtime.txt (torch 2.14 asks >= 77.0.3; mmengine's Config imports
# pkg_resources, gone in >= 81)
RUNTIME_SETUPTOOLS="$(grep -o '^setuptools[^ #]*' "$ROOT/requirements/runtime.txt")"

if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV"
    "$PY" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
pipq() { "$VPY" -m pip install --disable-pip-version-check -q "$@"; }

"$VPY" -c "import wheel" 2>/dev/null || pipq wheel

if ! "$VPY" -c "import sys, torch, torchvision; assert torch.__version__.split('+')[0] == sys.argv[1]" \
        "$TORCH_VERSION" 2>/dev/null; then
    log "installing torch $TORCH_VERSION + torchvision $TORCHVISION_VERSION"
    pipq "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
fi

have_mmcv_ops() {
    "$VPY" -c "import sys, mmcv, mmcv.ops; assert mmcv.__version__ == sys.argv[1]" \
        "$MMCV_VERSION" 2>/dev/null
}

find_mmcv_wheel() {
    local dirs=("$LOCAL_WHEELS")
    if [ -n "${PARTSEG_WHEEL_CACHE:-}" ]; then dirs+=("$PARTSEG_WHEEL_CACHE"); fi
    if [ -d "$ROOT/../shared/wheels" ]; then dirs+=("$ROOT/../shared/wheels"); fi
    local d
    for d in "${dirs[@]}"; do
        ls "$d"/mmcv-${MMCV_VERSION}-cp311-*.whl 2>/dev/null | head -n 1 && return 0
    done
    return 0
}

build_mmcv_wheel() {
    log "no cached mmcv ${MMCV_VERSION} wheel: building it from source (about 25 minutes on 2 cores)"
    bash "$ROOT/tools/misc/build_mmcv_wheel.sh" "$VPY" "$LOCAL_WHEELS"
    pipq "$RUNTIME_SETUPTOOLS"
}

if ! have_mmcv_ops; then
    wheel="$(find_mmcv_wheel)"
    if [ -z "$wheel" ]; then
        build_mmcv_wheel
        wheel="$(find_mmcv_wheel)"
    fi
    log "installing $(basename "$wheel")"
    pipq --no-deps "$wheel"
    # mmcv's own requirements (addict, yapf, opencv, ...) come from PyPI.
    pipq "mmcv==${MMCV_VERSION}" --find-links "$(dirname "$wheel")"
    have_mmcv_ops || { echo "[install] error: mmcv ${MMCV_VERSION} installed but mmcv.ops does not import" >&2; exit 1; }
fi

# partseg and its requirements: skipped when this venv installed them from the same setup.py and
# requirement files already (a stamp of their checksums) and partseg imports from this checkout
STAMP="$VENV/.partseg-install-stamp"
stamp="$(cat "$ROOT/setup.py" "$ROOT"/requirements/*.txt | sha256sum | cut -d' ' -f1) $ROOT"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$stamp" ] || ! (cd / && "$VPY" -c \
        "import partseg, sys; assert partseg.__file__.startswith(sys.argv[1])" "$ROOT/") 2>/dev/null; then
    pipq "$RUNTIME_SETUPTOOLS"
    log "installing partseg (editable) with test requirements"
    pipq -e "$ROOT[tests]" -c "$TESTED"
    printf '%s\n' "$stamp" >"$STAMP"
fi
"$VPY" -c "import partseg, mmseg.models; print('[install] partseg', partseg.__version__, 'ready in', '$VENV')"
