# Two commands on a fresh machine with only python3: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := constraints.txt
PYTEST_ARGS ?=

.PHONY: demo test test-slow test-latest test-neurogym bench lint docs clean constraints

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

# Stamps record what was installed, so a second `make test` does not reinstall.
$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[test,cluster]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/neurodyn demo --overwrite

test: $(VENV)/.installed-test
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

# The slow tests are bound by running (long training runs), not by compiling: they run
# fully optimised (tests/conftest.py compiles without LLVM's optimiser otherwise). On a 2-core
# Xeon the three longest took 187/115/77 s with it and 429/256/225 s without.
# NEURODYN_TEST_XLA_OPT=0 make test-slow keeps the cheaper compiles.
test-slow: $(VENV)/.installed-test
	NEURODYN_TEST_XLA_OPT=$${NEURODYN_TEST_XLA_OPT-1} $(BIN)/pytest -m slow -n 2 $(PYTEST_ARGS)

# The suite against the newest releases that pyproject's ranges admit, in a separate venv.
test-latest:
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade pip
	.venv-latest/bin/python -m pip install --quiet --upgrade -e ".[test,cluster]"
	.venv-latest/bin/pytest -n 2 $(PYTEST_ARGS)

# The NeuroGym bridge in its own venv: neurogym 2.3 pins numpy 2.2 and matplotlib 3.10, below
# the main pins, so it has its own tested constraints. torch comes from the configured index;
# TORCH_INDEX=https://download.pytorch.org/whl/cpu installs the CPU build from there first.
NEUROGYM_VENV := .venv-neurogym
NEUROGYM_CONSTRAINTS := constraints-neurogym.txt
TORCH_INDEX ?=

$(NEUROGYM_VENV)/.installed: pyproject.toml $(NEUROGYM_CONSTRAINTS)
	$(PYTHON) -m venv $(NEUROGYM_VENV)
	$(NEUROGYM_VENV)/bin/python -m pip install --quiet --upgrade "pip>=24"
	$(if $(TORCH_INDEX),$(NEUROGYM_VENV)/bin/python -m pip install --quiet -c $(NEUROGYM_CONSTRAINTS) --index-url $(TORCH_INDEX) torch)
	$(NEUROGYM_VENV)/bin/python -m pip install --quiet -c $(NEUROGYM_CONSTRAINTS) -e ".[test,neurogym]"
	touch $@

test-neurogym: $(NEUROGYM_VENV)/.installed
	$(NEUROGYM_VENV)/bin/pytest -m "slow or not slow" tests/tasks/test_neurogym.py $(PYTEST_ARGS)

bench: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[bench]"
	$(BIN)/python experiments/benchmark/run.py

# The documentation site into site/: API reference from the docstrings, the studies' pages with
# their examples executed during the build (a failing example fails it), warnings as errors.
$(VENV)/.installed-docs: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[docs]"
	touch $@ $(VENV)/.installed

docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# Regenerate the tested constraints file from the current venv (then run `make test`).
constraints: $(VENV)/.installed-test
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^torch==' > $(CONSTRAINTS)

clean:
	rm -rf $(VENV) .venv-latest $(NEUROGYM_VENV) build dist *.egg-info .jax_cache neurodyn-demo site
