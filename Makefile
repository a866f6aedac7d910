# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv first:
# `make run` with the service's own dependencies only, the others with the dev extras too.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps: the service alone (what `make run` needs), then the dev tools on top of it.
SERVICE_INSTALLED := $(VENV)/.installed-service
DEV_INSTALLED := $(VENV)/.installed-dev

.PHONY: install run test lint chromium bench bench-memory screenshots clean

$(SERVICE_INSTALLED): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[offensive]'
	touch $@

$(DEV_INSTALLED): $(SERVICE_INSTALLED)
	$(BIN)/python -m pip install --quiet -e '.[offensive,dev]'
	touch $@

install: $(DEV_INSTALLED)

run: $(SERVICE_INSTALLED)
	$(BIN)/news-comments serve

lint: $(DEV_INSTALLED)
	$(BIN)/ruff check service tests bench docs
	$(BIN)/ruff format --check service tests bench docs
	$(BIN)/mypy

# The browser tests drive Debian's Chromium; installed with apt when missing.
chromium:
	tools/install-chromium

# The whole suite against one server, then again against a one-node Redis Cluster.
test: $(DEV_INSTALLED) lint chromium
	$(BIN)/pytest
	env -u REDIS_URL TEST_REDIS_TOPOLOGY=cluster $(BIN)/pytest

bench: $(DEV_INSTALLED)
	$(BIN)/python bench/run.py

# Bytes and keys per comment, by kind of key, for 100,000 comments over 1,000 articles.
bench-memory: $(DEV_INSTALLED)
	$(BIN)/python bench/memory.py

screenshots: $(DEV_INSTALLED)
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) build *.egg-info
