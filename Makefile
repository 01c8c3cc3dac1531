# One command to set up and run the main job, one to run the tests (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: setup demo test lint
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The main job: the seed's example configuration, checked by the configuration engine.
demo: setup
	$(BIN)/netconf-device config check labs/mx304-p2p/peer1.set labs/mx304-p2p/peer2.set

test: setup
	$(BIN)/python -m pytest -q -ra --durations=15

lint: setup
	$(BIN)/ruff check .
