# Two entry points: `make run` serves, `make test` checks. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test fuzz load bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m cds_service serve --profile local

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

# Long runs, not part of `make test` (see SECURITY.md and bench/README.md).
fuzz: $(STAMP)
	CDS_FUZZ_EXAMPLES=10000 $(BIN)/python -m pytest tests/security -m fuzz

load: $(STAMP)
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.load --postgres

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
