# OrderGuard. `make demo` and `make test` work on a fresh machine: uv comes from PyPI if missing,
# everything else from uv.lock.
SHELL := /bin/bash
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := python3 -m uv
endif
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install uv demo test test-sqlite-plain lint bench clean

uv:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

install: uv
	$(UV) sync --frozen

demo: install
	$(UV) run orderguard demo --port $(PORT)

test: install
	$(UV) run pytest -n 2 $(PYTEST_ARGS)

# The SQLite half once more with store/driver.py's fast path off: every statement through SQLAlchemy.
test-sqlite-plain: install
	ORDERGUARD_SQLITE_DIRECT=0 $(UV) run pytest -n 2 -k "not postgresql" $(PYTEST_ARGS)

lint: install
	$(UV) run ruff check src tests benchmarks
	$(UV) run mypy

bench: install
	$(UV) run python -m benchmarks.run

clean:
	rm -rf var .venv
