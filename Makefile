# Two entry points for a fresh machine: `make demo` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed  ## set up, then run the tool on SQLite at http://127.0.0.1:5000
	$(BIN)/lms-plugin demo

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint  ## set up, lint, then run every test on SQLite and PostgreSQL
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
