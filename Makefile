# make run  — install into .venv, initialise .data (once), start the server, print the admin key and how to use ngc.
# make test — install into .venv and run the whole suite, then the e2e modules on the shared registry again with
#             that registry on PostgreSQL + S3 (make test-e2e-postgres-s3).
# make bench — benchmarks against nginx, docker-registry, curl and sha256sum on this machine (bench/README.md);
#              installs what it needs (apt-get: nginx docker-registry skopeo curl wrk), writes bench/RESULTS.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR ?= .data
HOST ?= 127.0.0.1
PORT ?= 8000
ORG ?= nvidia
ADMIN_EMAIL ?= admin@example.com
PYTEST_ARGS ?=

.PHONY: install run test test-e2e-postgres-s3 unit bench soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	@if [ -f "$(DATA_DIR)/registry.db" ]; then \
	  echo "Using the registry in $(DATA_DIR). Its admin key was printed when it was created;"; \
	  echo "for a new one (the old one stops working): $(BIN)/ngc-registry user api-key --data-dir $(DATA_DIR) $(ADMIN_EMAIL)"; \
	  $(BIN)/ngc-registry migrate --data-dir $(DATA_DIR); \
	else \
	  $(BIN)/ngc-registry init --data-dir $(DATA_DIR) --org $(ORG) --admin-email $(ADMIN_EMAIL) --admin-name Admin; \
	fi
	@echo
	@echo "Point ngc at this server:"
	@echo "  export PATH=$$PWD/$(BIN):\$$PATH NGC_CLI_API_URL=http://$(HOST):$(PORT)"
	@echo "  ngc config set          # paste the API key above; org $(ORG)"
	@echo "  docker login $(HOST):$(PORT) -u '\$$oauthtoken'   # password: the API key"
	@echo
	$(BIN)/ngc-registry serve --data-dir $(DATA_DIR) --host $(HOST) --port $(PORT)

# The whole suite, then the e2e modules on the shared registry again with that registry on PostgreSQL + Swift's S3.
test: install
	$(BIN)/python -m pytest -n 2 --dist worksteal $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-e2e-postgres-s3

test-e2e-postgres-s3: install
	NGC_E2E_BACKEND=postgres-s3 $(BIN)/python -m pytest -n 2 --dist worksteal -m shared_registry tests/e2e $(PYTEST_ARGS)

unit: install
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

BENCH_SERVER_FLAGS ?= --workers 2

bench: install
	BENCH_SERVER_FLAGS="$(BENCH_SERVER_FLAGS)" $(BIN)/python -m bench.run

SOAK_CLIENTS ?= 200
SOAK_SECONDS ?= 300

# make soak — 200 concurrent clients for 5 minutes against a fresh server on loopback (bench/soak.py): zero errors
#             and flat server memory, or exit 1. Summary in bench/out/soak.json.
soak: install
	$(BIN)/python -m bench.soak --clients $(SOAK_CLIENTS) --duration $(SOAK_SECONDS)

clean:
	rm -rf $(VENV) .pytest_cache build dist src/*.egg-info
