# FlashSale: `make run` starts the local stack, `make test` checks everything.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEPS := $(VENV)/.deps-installed
UI_DEPS := frontend/node_modules/.deps-installed
PIP := $(BIN)/python -m pip --disable-pip-version-check
NPM := npm --prefix frontend --no-audit --no-fund

CHECKOV := build/checkov-venv
CHECKOV_DEPS := $(CHECKOV)/.deps-installed
# Lambda runs python3.13, and `chalice package`/`deploy` take the runtime from the
# interpreter that runs them: packaging is checked under 3.13 in its own venv.
PY313 ?= $(firstword $(wildcard /root/.pyenv/versions/3.13.*/bin/python3) $(shell command -v python3.13))
LAMBDA_VENV := build/lambda-py313
LAMBDA_DEPS := $(LAMBDA_VENV)/.deps-installed
CHALICE_PIN := $(shell grep '^chalice==' requirements-dev.txt)
# The AWS provider's schema, from @cdktf/provider-aws (generated from the pinned provider).
SCHEMA := build/provider-schema
SCHEMA_DEPS := $(SCHEMA)/node_modules/.deps-installed

.PHONY: run emulator test check lint infra-check unit ui-test ui-build browser bench bench-holds bench-rooms loadtest deps clean \
	replay-dlq lambda-venv provider-schema smoke deploy-rehearsal

$(DEPS): requirements.txt requirements-dev.txt
	@echo "==> Python dependencies into $(VENV) (pinned in requirements*.txt)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(PIP) install --progress-bar off -r requirements-dev.txt | grep -v "^Requirement already satisfied" || true
	@$(BIN)/python -c "import chalice, moto, flask, pytest, playwright" || { echo "Python dependency install failed"; exit 1; }
	@touch $@

$(UI_DEPS): frontend/package.json frontend/package-lock.json
	@echo "==> UI dependencies into frontend/node_modules (pinned in package-lock.json)"
	@$(NPM) ci --loglevel=error
	@touch $@

deps: $(DEPS) $(UI_DEPS)

run: deps
	@$(BIN)/python -m local.stack

# The emulator alone (tables, seed, notifier, mailer; EMULATOR_PORT), for a
# `chalice local --stage local` of your own.
emulator: $(DEPS)
	@$(BIN)/python -m local.stack --emulator-only

lint: $(DEPS)
	@echo "==> ruff"
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@echo "==> mypy (chalicelib, bench)"
	@$(BIN)/mypy

$(CHECKOV_DEPS): infra/requirements-checkov.txt
	@echo "==> checkov into $(CHECKOV) (its own virtualenv: it pins an older boto3)"
	@test -x $(CHECKOV)/bin/python || $(PYTHON) -m venv $(CHECKOV)
	@$(CHECKOV)/bin/python -m pip --disable-pip-version-check install --progress-bar off -q -r infra/requirements-checkov.txt
	@touch $@

$(SCHEMA_DEPS): infra/provider-schema/package.json infra/provider-schema/package-lock.json
	@echo "==> AWS provider schema (@cdktf/provider-aws, pinned in its package-lock) into $(SCHEMA)"
	@mkdir -p $(SCHEMA)
	@cp infra/provider-schema/package.json infra/provider-schema/package-lock.json $(SCHEMA)/
	@npm ci --prefix $(SCHEMA) --legacy-peer-deps --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

provider-schema: $(SCHEMA_DEPS)

infra-check: $(DEPS) $(CHECKOV_DEPS) $(SCHEMA_DEPS)
	@echo "==> Terraform arguments and blocks against the pinned AWS provider's schema"
	@$(BIN)/python -m infra.provider_schema
	@echo "==> checkov (Terraform in infra/)"
	@$(CHECKOV)/bin/checkov -d infra --framework terraform --skip-download --quiet --compact
	@echo "==> actionlint (.github/workflows)"
	@$(BIN)/actionlint
	@echo "actionlint: no problems"

$(LAMBDA_DEPS): requirements.txt requirements-dev.txt
	@echo "==> Lambda's python3.13 with requirements.txt and $(CHALICE_PIN) into $(LAMBDA_VENV)"
	@$(PY313) -m venv $(LAMBDA_VENV)
	@$(LAMBDA_VENV)/bin/python -m pip --disable-pip-version-check install --progress-bar off -q \
		-r requirements.txt "$(CHALICE_PIN)"
	@touch $@

# Without a python3.13 the packaging tests say so and skip; this machine and CI have one.
lambda-venv:
	@if [ -n "$(PY313)" ]; then $(MAKE) --no-print-directory $(LAMBDA_DEPS); \
	else echo "==> no python3.13 found (set PY313=...): chalice package tests will skip"; fi

ui-test: $(UI_DEPS)
	@echo "==> vitest (UI components)"
	@$(NPM) test --silent

ui-build: $(UI_DEPS)
	@echo "==> UI production build"
	@$(NPM) run build --silent

# Debian's Chromium drives the browser tests; Playwright never downloads one.
browser:
	@command -v chromium >/dev/null || { \
		echo "==> installing Chromium (apt) for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Two workers, a test file staying on one (`chalice package` keeps a cache in
# the project; each stack test file starts its own stack on free ports). The
# stack tests spend much of their time waiting on the stack, so two stacks at
# once take about two thirds of the time one after the other.
unit: deps browser lambda-venv
	@echo "==> pytest (no stack, two workers)"
	@$(BIN)/pytest -m "not stack" -n 2 --dist loadfile --durations=5
	@echo "==> pytest (local stack, browser; two workers)"
	@$(BIN)/pytest -m stack -n 2 --dist loadfile --durations=15

# `chalice deploy` of dev and prod into the local emulator, create then update,
# through the workflow's state restore/save, then every function, role, policy and
# route read back and checked against the project (deploy/rehearsal.py).
deploy-rehearsal: deps lambda-venv
	@$(BIN)/python -m deploy.rehearsal

test: lint infra-check ui-test ui-build unit deploy-rehearsal

# The fast lane, for every edit: lint, types and the tests that need neither the
# running stack nor a browser (markers decide), on both cores.
check: $(DEPS)
	@$(MAKE) --no-print-directory lint
	@echo "==> pytest (no stack, no browser, not slow)"
	@$(BIN)/pytest -q -m "not stack and not slow" -n 2

bench: deps
	@$(BIN)/python -m bench.orders
	@$(BIN)/python -m bench.flash
	@$(BIN)/python -m bench.coldstart
	@$(BIN)/python -m bench.mail
	@$(BIN)/python -m bench.holds

bench-holds: deps
	@$(BIN)/python -m bench.holds

bench-rooms: deps
	@$(BIN)/python -m bench.rooms

loadtest: deps
	@$(BIN)/python -m loadtest.local

# Post-deploy smoke test (docs/production.md); any Python with boto3 runs it.
SMOKE_PYTHON = $(if $(wildcard $(LAMBDA_VENV)/bin/python),$(LAMBDA_VENV)/bin/python,$(BIN)/python)
smoke:
	@test -n "$(BASE_URL)" || { echo "usage: make smoke BASE_URL=https://<distribution> [SMOKE_ARGS=...]"; exit 2; }
	@$(SMOKE_PYTHON) -m deploy.smoke --base-url "$(BASE_URL)" $(SMOKE_ARGS)

# Send the confirmations the notifier's dead-letter queue points at (docs/confirmations-and-email.md):
# make replay-dlq STAGE=prod [DRY_RUN=1], or STAGE=local against `make run`.
STAGE ?= local
replay-dlq: $(DEPS)
	@$(BIN)/python -m deploy.replay_dlq --stage $(STAGE) $(if $(DRY_RUN),--dry-run) \
		$(if $(ENDPOINT),--endpoint $(ENDPOINT))

clean:
	rm -rf $(VENV) build frontend/node_modules frontend/dist .pytest_cache .mypy_cache .ruff_cache
