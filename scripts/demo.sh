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
# A made-up product's docs (with a few broken files, reported and skipped): only they hold the answer.
echo "== assistant index tests/fixtures/docs_mixed --collection zorblax"
$A index tests/fixtures/docs_mixed --collection zorblax
echo
# The first run converts the embedded SmolLM2 (GGUF) to safetensors once, about 30 s.
echo "== assistant ask 'What is the default port of the Zorblax 3000?' --collection zorblax --mode rag"
$A ask "What is the default port of the Zorblax 3000?" --collection zorblax --mode rag --max-new-tokens 96
