# Two entry points for a fresh machine: `make demo` and `make test`. Each creates .venv on first use;
# `make test` also installs what the browser tests need (Debian's Chromium, axe-core from npm) and
# Ralph, a real LRS for the xAPI tests, in .ralph-venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The browser tests drive this Chromium through Playwright (never `playwright install`).
CHROMIUM ?= /usr/bin/chromium
NPM ?= npm
# Install system packages with sudo unless we are root already.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Ralph, the real LRS the xAPI tests and bench deliver to, lives in its own virtual environment
# (its dependencies must not mix with the tool's); its `[lrs]` extra forgets `requests`.
RALPH_VENV ?= .ralph-venv
RALPH_VERSION := 5.1.0

.PHONY: demo test lint browser-deps ralph-deps bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Debian's Chromium, only when it is missing; apt's output is shown only if the install fails.
$(CHROMIUM):
	@command -v apt-get >/dev/null || { echo "error: $@ is missing and there is no apt-get: install Chromium at $@ (or set CHROMIUM=/path/to/chromium)" >&2; exit 1; }
	@echo "Installing Debian's chromium for the browser tests (apt-get)..."
	@log=$$(mktemp); \
	if ! { $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends chromium; } >$$log 2>&1; then \
		cat $$log >&2; rm -f $$log; echo "error: could not install chromium with apt-get (output above)" >&2; exit 1; \
	fi; rm -f $$log
	@test -x $@ || { echo "error: apt-get installed chromium but $@ does not exist" >&2; exit 1; }

# npm dev dependencies (axe-core) from the committed lock file, again only when it changed.
node_modules/.installed: package.json package-lock.json
	@command -v $(NPM) >/dev/null || { echo "error: npm is missing: install Node.js and npm, then run make test again" >&2; exit 1; }
	$(NPM) ci --no-audit --no-fund --loglevel=error
	@touch $@

browser-deps: $(CHROMIUM) node_modules/.installed

# Rebuilt only when the pinned version changes (the stamp names it).
$(RALPH_VENV)/.installed-$(RALPH_VERSION):
	rm -rf $(RALPH_VENV)
	$(PYTHON) -m venv $(RALPH_VENV)
	$(RALPH_VENV)/bin/pip install --quiet --upgrade pip
	$(RALPH_VENV)/bin/pip install --quiet "ralph-malph[cli,lrs]==$(RALPH_VERSION)" requests
	touch $@

ralph-deps: $(RALPH_VENV)/.installed-$(RALPH_VERSION)

demo: $(BIN)/.installed  ## set up, then run the tool on SQLite at http://127.0.0.1:5000
	$(BIN)/lms-plugin demo

bench: $(BIN)/.installed ralph-deps browser-deps  ## every benchmark, each printing its figures and targets
	$(BIN)/python -m bench.launches --database sqlite
	$(BIN)/python -m bench.launches --database postgresql
	$(BIN)/python -m bench.assessment --database both
	$(BIN)/python -m bench.grid --database both
	$(BIN)/python -m bench.credentials
	$(BIN)/python -m bench.verifier
	RALPH_VENV=$(RALPH_VENV) $(BIN)/python -m bench.xapi --database both
	$(BIN)/python -m bench.concurrency --database both
	$(BIN)/python -m bench.roster --database both
	$(BIN)/python -m bench.scale

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint browser-deps ralph-deps  ## set up, lint, then run every test (SQLite, PostgreSQL, headless Chromium, Ralph LRS)
	RALPH_VENV=$(RALPH_VENV) $(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache node_modules $(RALPH_VENV)
