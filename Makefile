# The two commands of README.md: `make demo` and `make test`. Each sets up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-all lint check clean real-mlflow real-kserve mutation

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

# The default test run: ruff, then every test not marked slow (about 3 minutes on 2 cores).
test: $(STAMP)
	$(BIN)/ruff check stress tests benchmarks action
	$(BIN)/python -m pytest -m "not slow"

# The integration tests marked slow: each starts its own local servers and runs real load
# (about 12 minutes on 2 cores). .ci/run runs them after `make test`.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

# Everything `make test` and `make test-slow` run, in one pytest session.
test-all: $(STAMP)
	$(BIN)/ruff check stress tests benchmarks action
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check stress tests benchmarks action
	$(BIN)/ruff format --check stress tests benchmarks action
	$(BIN)/mypy stress

# Mutation testing of the contract modules ([tool.mutmut] in pyproject.toml lists them and
# their fast tests): a figure like the benchmarks, not a CI gate (about 25 minutes on 2
# cores; results are kept in mutants/, so a second run re-checks only what changed).
# Prints the score per module; docs/testing.md has the last figures and the survivors.
mutation: $(STAMP)
	env -u PYTHONPATH $(BIN)/mutmut run || true
	$(BIN)/mutmut results --all true | $(BIN)/python tests/mutation_scores.py --survivors

# stress against a real third-party model server: MLflow's `mlflow models serve` with a
# scikit-learn model. MLflow is not a dependency of stress; it gets a venv of its own here
# (about a minute to install the first time).
MLFLOW_VENV ?= .venv-mlflow
MLFLOW_STAMP := $(MLFLOW_VENV)/.installed

$(MLFLOW_STAMP):
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MLFLOW_VENV)/bin/python -m pip install --quiet "mlflow-skinny>=3,<4" "scikit-learn>=1.5,<2" "pandas>=2.2,<4"
	@touch $(MLFLOW_STAMP)

real-mlflow: $(STAMP) $(MLFLOW_STAMP)
	MLFLOW_PYTHON=$(abspath $(MLFLOW_VENV))/bin/python $(BIN)/python -m pytest -q -rs tests/real/test_mlflow_server.py

# The same against KServe's ModelServer (kserve-v2 and kserve-v1 protocols), also in a venv of
# its own (about a minute to install).
KSERVE_VENV ?= .venv-kserve
KSERVE_STAMP := $(KSERVE_VENV)/.installed

$(KSERVE_STAMP):
	$(PYTHON) -m venv $(KSERVE_VENV)
	$(KSERVE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(KSERVE_VENV)/bin/python -m pip install --quiet "kserve>=0.14,<1" "scikit-learn>=1.5,<2"
	@touch $(KSERVE_STAMP)

real-kserve: $(STAMP) $(KSERVE_STAMP)
	KSERVE_PYTHON=$(abspath $(KSERVE_VENV))/bin/python $(BIN)/python -m pytest -q -rs tests/real/test_kserve_server.py

clean:
	rm -rf $(VENV) $(MLFLOW_VENV) $(KSERVE_VENV) .pytest_cache .mypy_cache .ruff_cache mutants
