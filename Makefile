# One command to set up and run the main job, one to run the tests (see README.md).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: setup demo test lint
setup: $(VENV)/.installed

# setup.py and the C fast path are prerequisites too: a stale extension must be rebuilt.
$(VENV)/.installed: pyproject.toml setup.py netconf_device/pfe/_espfast.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The main job: the seed's example lab (two MX304s, an IPsec tunnel, Host1 pinging Host2 through it).
# One shell line, so the lab is stopped even when the ping fails.
demo: setup
	$(BIN)/netconf-device lab up labs/mx304-p2p && $(BIN)/netconf-device lab status && \
	  $(BIN)/netconf-device lab ping host1 2.2.2.2; s=$$?; $(BIN)/netconf-device lab down; exit $$s

test: setup
	$(BIN)/python -m pytest -q -ra --durations=15

lint: setup
	$(BIN)/ruff check .
