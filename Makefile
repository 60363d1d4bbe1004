# FlashSale: `make run` starts the local stack, `make test` checks everything.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEPS := $(VENV)/.deps-installed
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: run test lint unit bench deps clean

$(DEPS): requirements.txt requirements-dev.txt
	@echo "==> Python dependencies into $(VENV) (pinned in requirements*.txt)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PIP) install --progress-bar off -r requirements-dev.txt | grep -v "^Requirement already satisfied" || true
	@$(BIN)/python -c "import chalice, moto, flask, pytest" || { echo "dependency install failed"; exit 1; }
	@touch $@

deps: $(DEPS)

run: $(DEPS)
	@$(BIN)/python -m local.stack

lint: $(DEPS)
	@echo "==> ruff"
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@echo "==> mypy (chalicelib)"
	@$(BIN)/mypy

unit: $(DEPS)
	@echo "==> pytest"
	@$(BIN)/pytest

test: lint unit

bench: $(DEPS)
	@$(BIN)/python -m bench.orders

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
