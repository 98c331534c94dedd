# Two commands matter: `make run` (bare clone -> running app) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-stamp

.PHONY: run test install lint typecheck unit migrate demo clean bench bench-quick fuzz load

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

# Long runs kept out of `make test`.
bench: install
	$(BIN)/python -m bench

bench-quick: install
	$(BIN)/python -m bench --quick

fuzz: install
	DVORIK_FUZZ_EXAMPLES=10000 $(BIN)/pytest -q -p no:cacheprovider tests/test_fuzz_graphql.py tests/test_fuzz_rest.py

load: install
	DVORIK_LOAD_SECONDS=60 $(BIN)/pytest -q -p no:cacheprovider tests/test_load.py

demo: install
	$(BIN)/dvorik demo-data

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache dvorik.db dvorik.db-*
