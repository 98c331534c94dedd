# Two commands matter: `make run` (bare clone -> running app) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-stamp

.PHONY: run test install lint typecheck unit migrate demo clean

run: install
	$(BIN)/dvorik migrate
	$(BIN)/dvorik demo-data --if-empty
	$(BIN)/dvorik serve

test: lint typecheck unit

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest

migrate: install
	$(BIN)/dvorik migrate

demo: install
	$(BIN)/dvorik demo-data

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache dvorik.db dvorik.db-*
