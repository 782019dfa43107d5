# The two commands of README.md: `make demo` and `make test`. Each sets up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint check clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "stress needs Python >= 3.11; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

# Runs scenarios/demo.yaml against the bundled demo model server. The demo server has
# deliberate bugs, so the verdict is FAILED by design (exit 1 is a finished run, not an error).
demo: $(STAMP)
	@$(BIN)/stress run scenarios/demo.yaml || test $$? -eq 1

test: $(STAMP)
	$(BIN)/ruff check stress tests benchmarks
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check stress tests benchmarks
	$(BIN)/ruff format --check stress tests benchmarks
	$(BIN)/mypy stress

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
