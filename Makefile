# Two commands on a fresh machine with only python3: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := constraints.txt
PYTEST_ARGS ?=

.PHONY: demo test test-slow test-latest bench lint clean constraints

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

test-slow: $(VENV)/.installed-test
	$(BIN)/pytest -m slow -n 2 $(PYTEST_ARGS)

# The suite against the newest releases that pyproject's ranges admit, in a separate venv.
test-latest:
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade pip
	.venv-latest/bin/python -m pip install --quiet --upgrade -e ".[test,cluster]"
	.venv-latest/bin/pytest -n 2 $(PYTEST_ARGS)

bench: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[bench]"
	$(BIN)/python experiments/benchmark/run.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# Regenerate the tested constraints file from the current venv (then run `make test`).
constraints: $(VENV)/.installed-test
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^torch==' > $(CONSTRAINTS)

clean:
	rm -rf $(VENV) .venv-latest build dist *.egg-info .jax_cache neurodyn-demo
