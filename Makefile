# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv as needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo test lint bench clean screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/splice demo

# chromium (Debian's: Playwright cannot download browsers here) drives the dashboard's tests: installed when missing.
test: $(STAMP) lint
	@command -v chromium >/dev/null || $(SUDO) apt-get install -y chromium || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

# wrk (the load generator of bench/webhooks.py) is a Debian package: installed when missing.
bench: $(STAMP)
	@command -v wrk >/dev/null || $(SUDO) apt-get install -y wrk || { $(SUDO) apt-get update && $(SUDO) apt-get install -y wrk; }
	$(BIN)/python bench/api_client.py
	$(BIN)/python bench/action_overhead.py
	$(BIN)/python bench/isolation.py
	$(BIN)/python bench/webhooks.py
	$(BIN)/python bench/action_http.py
	$(BIN)/python bench/export_import.py
	$(BIN)/python bench/files.py
	$(BIN)/python bench/scale.py

# the dashboard's screenshots in docs/ (shown in the README), taken with chromium from a served demo project
screenshots: $(STAMP)
	@command -v chromium >/dev/null || $(SUDO) apt-get install -y chromium || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
