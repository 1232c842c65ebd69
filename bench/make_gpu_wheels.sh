#!/usr/bin/env bash
# Download, here (online), the wheels the offline GPU check host lacks, plus this project's own wheel.
# The host has Python 3.12, torch 2.11 (CUDA 13), torchaudio 2.11, transformers 5.17, tokenizers,
# nvidia-ml-py and onnxruntime; everything else the XTTS worker imports comes from DIR.
#   bench/make_gpu_wheels.sh [DIR]      (default: .whl; at most 64 MiB in all)
set -euo pipefail
DIR="${1:-.whl}"
LIMIT_MIB=64
PY="${PYTHON:-python3}"
mkdir -p "$DIR"

# What `import remote_worker.engines.xtts, TTS.tts.models.xtts` loads beyond the host's packages
# (measured with sys.modules); numba/llvmlite/scikit-learn (librosa) and docopt (num2words, sdist only) are
# declared dependencies the XTTS path never imports.
WANTED=(
  coqui-tts==0.28.0 coqui-tts-trainer==0.4.0 coqpit-config==0.2.5 anyascii==0.3.3 einops==0.8.2
  librosa==0.11.0 lazy-loader==0.6 soxr==1.1.0 ko-speech-tools==0.1.0 num2words==0.5.14
  inflect==7.6.0 more-itertools==11.2.1 typeguard==4.6.1 pysbd==0.3.4 scipy==1.17.1 six==1.17.0
  torchcodec==0.11.1 psutil==7.2.2
  fastapi==0.165.0 starlette==1.10.0 annotated-doc==0.0.7 uvicorn==0.54.0 h11==0.16.0 click==8.5.1
  anyio==4.16.0 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
  prometheus-client==0.26.0 soundfile==0.14.0 cffi==2.1.1 pycparser==3.12
)
for spec in "${WANTED[@]}"; do
  name="${spec%%==*}"
  if ls "$DIR" | grep -qi "^$(echo "$name" | tr '-' '_')-${spec##*==}-"; then continue; fi
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_28_x86_64 --platform any -d "$DIR" "$spec" \
    || { echo "make_gpu_wheels: cannot download $spec for Python 3.12 / manylinux x86_64" >&2; exit 1; }
done
rm -f "$DIR"/e2a_tui-*.whl
"$PY" -m pip wheel -q --no-deps -w "$DIR" "$(cd "$(dirname "$0")/.." && pwd)" \
  || { echo "make_gpu_wheels: building the project wheel failed" >&2; exit 1; }

total=$(du -cb "$DIR"/*.whl | tail -1 | cut -f1)
ls -S "$DIR"/*.whl | head -5 | while read -r f; do printf '  %6.1f MiB  %s\n' "$(echo "$(stat -c %s "$f")/1048576" | bc -l)" "$(basename "$f")"; done
printf 'make_gpu_wheels: %d wheels, %.1f MiB in %s\n' "$(ls "$DIR"/*.whl | wc -l)" "$(echo "$total/1048576" | bc -l)" "$DIR"
if [ "$total" -gt $((LIMIT_MIB * 1024 * 1024)) ]; then
  echo "make_gpu_wheels: more than ${LIMIT_MIB} MiB; drop what the host already has" >&2; exit 1
fi
