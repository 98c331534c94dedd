# Two commands matter: `make run` (bare clone -> running app) and `make test`.
# Everything is installed from uv.lock (see docs/dependencies.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
INSTALLED := $(VENV)/.installed-stamp
# The suite runs in this many pytest-xdist processes (whole files each); 0 runs it in one.
TEST_WORKERS ?= 2

# uv works on this venv with the interpreter it was made from, and never downloads a Python.
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test test-quick install lock upgrade-check audit lint typecheck unit migrate demo clean \
	bench bench-quick bench-databases fuzz load frontend-kit mini-apps-kit

run: install
	$(BIN)/dvorik migrate
	$(BIN)/dvorik demo-data --if-empty
	$(BIN)/dvorik serve

test: lint typecheck unit

install: $(INSTALLED)

# uv itself, at the version and hashes uv.lock records, installed by the venv's own pip.
$(UV): uv.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PYTHON) scripts/locked_requirement.py uv | $(BIN)/python -m pip install --quiet \
		--disable-pip-version-check --require-hashes --no-deps -r /dev/stdin
	touch $(UV)

# Exactly the lock; --locked stops with a message when pyproject.toml and uv.lock disagree.
# Compiled once here, as in the image: where PYTHONDONTWRITEBYTECODE is set (CI's
# machines), every process would otherwise compile what it imports, and the app
# took 13.7 s to import instead of 7.7 s on one (issue 19).
$(INSTALLED): pyproject.toml uv.lock $(UV)
	$(UV) sync --locked --quiet --compile-bytecode
	touch $(INSTALLED)

# After editing dependencies in pyproject.toml: resolve again, keeping every other pin.
lock: $(UV)
	$(UV) lock
	$(MAKE) install

# The newest versions the ranges allow, tried in a throwaway copy; changes nothing here.
upgrade-check: $(UV)
	bash scripts/upgrade-check

# Known vulnerabilities in the locked set (pip-audit, PyPI's advisory data; needs the network).
audit: $(UV)
	bash scripts/audit

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy

unit: install frontend-kit mini-apps-kit
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --durations=25

# While working: everything but the slow tests (chaos, faults, load, fuzz, whole processes).
test-quick: install frontend-kit mini-apps-kit
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile -m "not slow"

# The front-end kit (frontend-contract/): codegen, tsc and esbuild, exactly as its lock says.
# The suite runs them: the generated types must be fresh, the example must build.
KIT := frontend-contract
KIT_INSTALLED := $(KIT)/node_modules/.installed-stamp
frontend-kit: $(KIT_INSTALLED)

$(KIT_INSTALLED): $(KIT)/package.json $(KIT)/package-lock.json
	cd $(KIT) && npm ci --no-audit --no-fund --loglevel=error
	touch $(KIT_INSTALLED)

# The Mini Apps' sources (mini-apps/): tsc and esbuild, exactly as their lock says. The bundles
# they build are committed in backend/mini_apps/static/ (`make run` needs no Node.js); the suite
# builds them again and fails when the committed ones differ. After editing mini-apps/src/:
# `cd mini-apps && npm run build`.
MINI_APPS := mini-apps
MINI_APPS_INSTALLED := $(MINI_APPS)/node_modules/.installed-stamp
mini-apps-kit: $(MINI_APPS_INSTALLED)

$(MINI_APPS_INSTALLED): $(MINI_APPS)/package.json $(MINI_APPS)/package-lock.json
	cd $(MINI_APPS) && npm ci --no-audit --no-fund --loglevel=error
	touch $(MINI_APPS_INSTALLED)

migrate: install
	$(BIN)/dvorik migrate

# Long runs kept out of `make test`.
bench: install
	$(BIN)/python -m bench

bench-quick: install
	$(BIN)/python -m bench --quick

bench-databases: install
	$(BIN)/python -m bench --quick --database both

fuzz: install
	DVORIK_FUZZ_EXAMPLES=10000 $(BIN)/pytest -q -p no:cacheprovider tests/graphql/test_fuzz_graphql.py tests/ops/test_fuzz_rest.py

load: install
	DVORIK_LOAD_SECONDS=60 $(BIN)/pytest -q -p no:cacheprovider tests/ops/test_load.py

demo: install
	$(BIN)/dvorik demo-data

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache dvorik.db dvorik.db-* \
		$(KIT)/node_modules $(KIT)/example/dist $(MINI_APPS)/node_modules test-artifacts
