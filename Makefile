# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install run test lint chromium bench screenshots clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/news-comments serve

lint: $(INSTALLED)
	$(BIN)/ruff check service tests bench docs
	$(BIN)/ruff format --check service tests bench docs
	$(BIN)/mypy

# The browser tests drive Debian's Chromium; installed with apt when missing.
chromium:
	tools/install-chromium

# The whole suite against one server, then again against a one-node Redis Cluster.
test: lint chromium
	$(BIN)/pytest
	env -u REDIS_URL TEST_REDIS_TOPOLOGY=cluster $(BIN)/pytest

bench: $(INSTALLED)
	$(BIN)/python bench/run.py

screenshots: $(INSTALLED)
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) build *.egg-info
