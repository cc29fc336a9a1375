#!/usr/bin/env bash
# Build an mmcv 2.1.0 wheel with its C++ ops against the torch installed in PYTHON's environment.
#
#   bash tools/misc/build_mmcv_wheel.sh PYTHON OUT_DIR
#
# mmcv 2.1.0 ships only as an sdist on PyPI and does not compile against torch >= 2.10 as shipped
# (its setup.py asks for C++14/17; torch's headers need C++20). This downloads the sdist, switches
# it to -std=c++20 and builds the wheel into OUT_DIR (about 25 minutes on 2 cores). The ops are
# CPU ops unless PYTHON's torch sees a GPU or FORCE_CUDA=1 (then nvcc builds the CUDA ops too).
# mmcv's setup.py needs setuptools < 70 while it builds: PYTHON's environment is left with
# setuptools < 70, ninja and psutil; tools/install.sh restores its own setuptools afterwards.
# Used by tools/install.sh and tools/misc/offline_wheels.sh.
set -euo pipefail
if [ $# -ne 2 ]; then
    echo "usage: bash tools/misc/build_mmcv_wheel.sh PYTHON OUT_DIR" >&2
    exit 2
fi
PY="$1"
OUT="$2"
MMCV_VERSION=2.1.0
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pipq() { "$PY" -m pip install --disable-pip-version-check -q "$@"; }
pipq ninja psutil wheel
pipq --no-deps "setuptools<70"
# without build isolation: pip would prepare the sdist's metadata with the newest setuptools,
# which lacks the pkg_resources that mmcv's setup.py imports
"$PY" -m pip download --disable-pip-version-check -q --no-deps --no-binary :all: \
    --no-build-isolation "mmcv==${MMCV_VERSION}" -d "$work"
tar -xzf "$work"/mmcv-${MMCV_VERSION}.tar.gz -C "$work"
sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' \
    "$work/mmcv-${MMCV_VERSION}/setup.py"
mkdir -p "$OUT"
(cd "$work/mmcv-${MMCV_VERSION}" && MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
    "$PY" -m pip wheel --disable-pip-version-check -q --no-deps --no-build-isolation \
    -w "$OUT" .)
ls "$OUT"/mmcv-${MMCV_VERSION}-*.whl
