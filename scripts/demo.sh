#!/usr/bin/env bash
# `make demo`: index this project's own docs with the embedded defaults, then search them.
set -euo pipefail
cd "$(dirname "$0")/.."
A=.venv/bin/assistant
echo "== assistant index README.md docs --collection project-docs"
$A index README.md docs --collection project-docs
echo
echo "== assistant search 'what happens if a build is killed halfway?' --collection project-docs --k 3"
$A search "what happens if a build is killed halfway?" --collection project-docs --k 3
echo
echo "== assistant collections"
$A collections
echo
# The first run converts the embedded SmolLM2 (GGUF) to safetensors once, about 30 s.
echo "== assistant ask 'How do I search only with BM25?' --collection project-docs --mode rag"
$A ask "How do I search only with BM25?" --collection project-docs --mode rag
