#!/usr/bin/env bash
# GPU check of the XTTS worker on one NVIDIA host with no network (see bench/gpu_check.py).
#   bench/gpu_check.sh [--wheels DIR] [--dry-run]
# --wheels DIR: the folder made by bench/make_gpu_wheels.sh (default .whl), installed with --no-deps into a
#               venv that sees the host's torch/torchaudio/transformers (--system-site-packages).
# --dry-run:    the same steps on the CPU with replicas 1,2 and fewer units (checks the script anywhere).
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=.whl
DRY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --wheels) WHEELS="$2"; shift 2 ;;
    --dry-run) DRY=1; shift ;;
    *) echo "gpu_check: unknown argument $1" >&2; exit 2 ;;
  esac
done
PY="${PYTHON:-python3}"
VENV="${GPU_CHECK_VENV:-/tmp/e2a-gpu-check-venv}"
say() { echo "gpu_check: $*"; }
fail() { echo "gpu_check: FAILED: $*" >&2; exit 1; }

if [ "$DRY" = 1 ]; then
  DEVICE=cpu; REPLICAS=1,2; UNITS=1; TOKENS=30; LIMIT=600
else
  DEVICE=cuda; REPLICAS=1,2,4; UNITS=3; TOKENS=100; LIMIT=420
  command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: this is not an NVIDIA host"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | sed 's/^/gpu_check: GPU: /'
fi

if [ ! -x "$VENV/bin/python" ]; then
  say "making venv $VENV (sees the host's packages)"
  "$PY" -m venv --system-site-packages "$VENV"
fi
if [ -d "$WHEELS" ] && ls "$WHEELS"/*.whl >/dev/null 2>&1; then
  say "installing $(ls "$WHEELS"/*.whl | wc -l) wheels from $WHEELS (offline, no deps)"
  PIP_CONFIG_FILE=/dev/null "$VENV/bin/pip" install -q --no-index --no-deps --disable-pip-version-check \
    "$WHEELS"/*.whl || fail "pip install from $WHEELS"
elif [ "$DRY" = 1 ]; then
  say "no wheels in $WHEELS: dry run uses the project from this checkout"
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
  fail "no wheels in $WHEELS (make them with bench/make_gpu_wheels.sh on a machine with internet)"
fi

"$VENV/bin/python" - <<PYEOF || fail "the XTTS path does not import (see above)"
import importlib, sys
for name in ("torch", "torchaudio", "transformers", "TTS.tts.models.xtts", "remote_worker.engines.xtts", "pynvml"):
    try:
        mod = importlib.import_module(name)
    except Exception as exc:
        sys.exit(f"gpu_check: cannot import {name}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
import torch, transformers
print(f"gpu_check: torch {torch.__version__} (cuda {torch.version.cuda}, available {torch.cuda.is_available()}), "
      f"transformers {transformers.__version__}")
if "$DEVICE" == "cuda" and not torch.cuda.is_available():
    sys.exit("gpu_check: torch sees no CUDA device")
PYEOF

say "measuring on $DEVICE with replicas $REPLICAS (limit ${LIMIT}s)"
timeout "$LIMIT" "$VENV/bin/python" bench/gpu_check.py --device "$DEVICE" --replicas "$REPLICAS" --units "$UNITS" \
  --max-audio-tokens "$TOKENS" || fail "measurement (exit $?)"
