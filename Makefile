# Two commands for a newcomer: `make run` and `make test` (and `make samples` beside a running
# `make run`). They make their own virtualenv; the install is quiet (setup.cfg declares every
# package folder, so setuptools has nothing to warn about).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BIND ?= 127.0.0.1:8000
TEST_PROCESSES ?= auto

.PHONY: run samples test lint format bench clean

$(BIN)/wadule-bridge: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

## Set up and start the bridge on embedded defaults (SQLite, sandbox channels).
run: export BRIDGE_SANDBOX = 1
run: $(BIN)/wadule-bridge
	$(BIN)/python scripts/quickstart.py $(BIND)
	exec $(BIN)/wadule-bridge run --bind $(BIND)

## Send the sample complaints (examples/pacitan) through the API of the bridge `make run` started.
samples: $(BIN)/wadule-bridge
	$(BIN)/wadule-bridge samples load examples/pacitan/complaints.jsonl --url http://$(BIND)

## Run the whole suite (PostgreSQL and redis-server must be installed; see README).
## Tests that start the bridge's processes and time them run on their own, after the rest has
## run on every core (`serial` in tests/conftest.py); plain `pytest` runs everything in one go.
test: $(BIN)/wadule-bridge
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) -m "not serial"
	$(BIN)/python -m pytest -m serial

lint: $(BIN)/wadule-bridge
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/wadule-bridge
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(BIN)/wadule-bridge
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) instance *.egg-info
