# Set-up, run and test the policy assistant. Every target installs what it needs first.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
TORCH_VERSION ?= 2.13.0
# Where a CPU-only torch comes from when no local CPU wheel is available (see README).
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
SAMPLE ?= ingest/sample_handbook

.PHONY: install run test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --no-deps --no-index "torch==$(TORCH_VERSION)" 2>/dev/null || $(PIP) install -q "torch==$(TORCH_VERSION)" --index-url $(TORCH_INDEX)
	$(PIP) install -q -c constraints.txt -e ".[dev]"
	$(VENV)/bin/rag prepare-model  # the default embedder (onnx-int8) exported from the packaged weights, once
	touch $@

GOLDEN ?= ingest/sample_handbook_golden/golden.jsonl

# The golden set (with unanswerable.jsonl beside it) calibrates each version's refusals and gates promotions.
run: install
	RAG_GOLDEN_SET=$${RAG_GOLDEN_SET:-$(GOLDEN)} $(VENV)/bin/rag ingest $(SAMPLE) --index policies --promote --if-changed
	$(VENV)/bin/rag source policies $(SAMPLE)
	$(VENV)/bin/rag keys bootstrap
	RAG_GOLDEN_SET=$${RAG_GOLDEN_SET:-$(GOLDEN)} $(VENV)/bin/rag serve

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy && $(VENV)/bin/lint-imports

bench: install
	$(PY) bench/build_throughput.py && $(PY) bench/query_latency.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
