#!/usr/bin/env bash
# The training-speed comparison of docs/benchmarks.md in one command: partseg's DisPart (official
# architecture) and GANSeg (celeba_wild_k8) steps in fp32, with mixed precision, with mixed
# precision + channels-last and without cuDNN autotuning, beside the plain-PyTorch stand-ins of
# the official steps, each in its own process, then one Markdown table per method.
#
#   bash tools/analysis_tools/speed_targets.sh OUT_DIR
#
# Settings (environment variables): DEVICE (cuda), ITERS (20), WARMUP (3), DISPART_BATCH (32),
# GANSEG_BATCH (64, the official batch), THREADS (torch's default), RUN_TIMEOUT (seconds per
# process, 240), BUDGET (seconds for the whole script, 0 = none: a run that would start past it
# is skipped and the others' runs are cut to what is left), ONLY (dispart | ganseg | both). A
# run that fails, times out or is skipped is reported in OUT_DIR/failed.txt, and the others
# still run. Written: OUT_DIR/<run>.json and
# .log, OUT_DIR/dispart.md, OUT_DIR/ganseg.md; exit status 1 when a run failed.
set -uo pipefail
if [ $# -ne 1 ]; then
    echo "usage: bash tools/analysis_tools/speed_targets.sh OUT_DIR" >&2
    exit 2
fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$1"
mkdir -p "$OUT" || exit 1
PY="${PARTSEG_PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PY" ] || PY=python
DEVICE="${DEVICE:-cuda}"
ITERS="${ITERS:-20}"
WARMUP="${WARMUP:-3}"
DISPART_BATCH="${DISPART_BATCH:-32}"
GANSEG_BATCH="${GANSEG_BATCH:-64}"
RUN_TIMEOUT="${RUN_TIMEOUT:-240}"
BUDGET="${BUDGET:-0}"
ONLY="${ONLY:-both}"
COMMON=(--device "$DEVICE" --iters "$ITERS" --warmup "$WARMUP")
[ -n "${THREADS:-}" ] && COMMON+=(--threads "$THREADS")
TOOLS="$ROOT/tools/analysis_tools"
# the official DisPart layout: 16 x 16 part maps (downsamplelast), random VGG (same speed)
DISPART_OFFICIAL=(model.reconstruction_loss.pretrained=None "model.shape_encoder.strides=(1,2,2)"
                  "model.appearance_encoder.strides=(1,2,2)" "model.decoder.upsample_blocks=(1,3,5)")
: >"$OUT/failed.txt"

run() {  # NAME TOOL ARGS...: one process, its JSON and log under OUT
    local name="$1" tool="$2"
    shift 2
    local limit="$RUN_TIMEOUT"
    if [ "$BUDGET" -gt 0 ]; then
        local left=$((BUDGET - SECONDS))
        if [ "$left" -lt 30 ]; then
            echo "$name: skipped, the ${BUDGET}-s budget is spent" | tee -a "$OUT/failed.txt" >&2
            return
        fi
        [ "$left" -lt "$limit" ] && limit="$left"
    fi
    echo "== $name" >&2
    timeout "$limit" "$PY" "$TOOLS/$tool" "$@" "${COMMON[@]}" --out "$OUT/$name.json" \
        >"$OUT/$name.log" 2>&1
    local status=$?
    if [ "$status" -ne 0 ]; then  # 124: timed out
        echo "$name: exit $status, see $name.log" | tee -a "$OUT/failed.txt" >&2
        rm -f "$OUT/$name.json"
    else
        tail -n 1 "$OUT/$name.log" >&2
    fi
}

summarize() {  # TITLE OUTFILE BASELINE RUN...: the runs that produced a record
    local title="$1" md="$2" base="$3"
    shift 3
    local files=()
    for name in "$base" "$@"; do
        [ -f "$OUT/$name.json" ] && files+=("$OUT/$name.json")
    done
    if [ ! -f "$OUT/$base.json" ]; then
        echo "$title: no baseline record ($base), no table" >&2
        return
    fi
    { echo "### $title"; echo; "$PY" "$TOOLS/summarize_benchmarks.py" "${files[@]}" \
        --baseline "$OUT/$base.json"; echo; } >"$OUT/$md" && cat "$OUT/$md"
}

if [ "$ONLY" = both ] || [ "$ONLY" = dispart ]; then
    DCFG="$ROOT/configs/dispart/celeba_wild_k8.py"
    B=(--batch-size "$DISPART_BATCH")
    run dispart_reference benchmark_dispart_reference.py "${B[@]}"
    B+=(--keep-freed-memory)  # ours on a CPU as docs/benchmarks.md measured it (no-op on a GPU)
    run dispart_fp32 benchmark_train.py "$DCFG" "${B[@]}" --cfg-options "${DISPART_OFFICIAL[@]}"
    run dispart_amp benchmark_train.py "$DCFG" "${B[@]}" --amp --cfg-options "${DISPART_OFFICIAL[@]}"
    run dispart_amp_cl benchmark_train.py "$DCFG" "${B[@]}" --amp --channels-last \
        --cfg-options "${DISPART_OFFICIAL[@]}"
    run dispart_amp_joint benchmark_train.py "$DCFG" "${B[@]}" --amp \
        --cfg-options "${DISPART_OFFICIAL[@]}" model.view_batching=joint
    run dispart_amp_no_autotune benchmark_train.py "$DCFG" "${B[@]}" --amp \
        --cfg-options "${DISPART_OFFICIAL[@]}" env_cfg.cudnn_benchmark=False
    summarize "DisPart, official architecture, batch $DISPART_BATCH" dispart.md dispart_reference \
        dispart_fp32 dispart_amp dispart_amp_cl dispart_amp_joint dispart_amp_no_autotune
fi

if [ "$ONLY" = both ] || [ "$ONLY" = ganseg ]; then
    GCFG="$ROOT/configs/ganseg/celeba_wild_k8.py"
    B=(--batch-size "$GANSEG_BATCH")
    run ganseg_reference benchmark_ganseg_reference.py "${B[@]}"
    run ganseg_fp32 benchmark_train.py "$GCFG" "${B[@]}"
    run ganseg_amp benchmark_train.py "$GCFG" "${B[@]}" --amp
    run ganseg_amp_cl benchmark_train.py "$GCFG" "${B[@]}" --amp --channels-last
    run ganseg_amp_no_autotune benchmark_train.py "$GCFG" "${B[@]}" --amp \
        --cfg-options env_cfg.cudnn_benchmark=False
    summarize "GANSeg celeba_wild_k8, batch $GANSEG_BATCH" ganseg.md ganseg_reference \
        ganseg_fp32 ganseg_amp ganseg_amp_cl ganseg_amp_no_autotune
fi

[ ! -s "$OUT/failed.txt" ]
