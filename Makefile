# Golden Time — every command creates .venv and installs the pinned dependencies when needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt constraints.txt | sha1sum | cut -c1-12)
PYTEST_WORKERS ?= 2

.PHONY: help venv lint test test-fast demo serve bench admin clean $(addprefix bench-,foundation xray saferet links search infra monitor)

help:
	@echo "make demo    - run the platform's main scenario end-to-end on the local platform"
	@echo "make test    - lint (ruff, mypy) and run every test"
	@echo "make serve   - run the local platform in the foreground (Ctrl-C stops it)"
	@echo "make bench   - run all benchmarks (BENCH <name> <value> <unit> lines)"
	@echo "make admin ARGS='principal list' - the admin CLI against the running local platform"

$(STAMP):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q -r requirements-dev.txt -c constraints.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy app.py chalicelib functions local
	$(BIN)/mypy tests --allow-untyped-defs --allow-incomplete-defs --allow-untyped-calls --check-untyped-defs

test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) -q

test-fast: $(STAMP)
	$(BIN)/pytest -q -x

demo: $(STAMP)
	$(BIN)/python -m local demo

serve: $(STAMP)
	$(BIN)/python -m local serve

admin: $(STAMP)
	@. .local/env && $(BIN)/python -m chalicelib.cli $(ARGS)

bench: $(addprefix bench-,foundation)

bench-foundation: $(STAMP)
	$(BIN)/python tests/bench/bench_foundation.py

clean:
	rm -rf $(VENV) .local .mypy_cache .ruff_cache .pytest_cache
