# OrderGuard. `make demo` and `make test` work on a fresh machine: uv comes from PyPI if missing,
# everything else from uv.lock.
SHELL := /bin/bash
# A uv that runs (on PATH), else the one `make uv` put in .tools/, else python3's own. Expanded when
# each recipe runs (=, not :=), so the recipes after `uv` find what it installed.
UV = $(shell if uv --version >/dev/null 2>&1; then echo uv; \
       elif test -x .tools/bin/uv; then echo "$(CURDIR)/.tools/bin/uv"; else echo "python3 -m uv"; fi)
PORT ?= 8000
PYTEST_ARGS ?=
BENCH_HTTP_ARGS ?=

.PHONY: install uv demo test test-sqlite-plain lint bench bench-http bench-inprocess bench-peers wrk clean

# Where uv is missing it goes into a virtualenv of its own, .tools/: a system Python that refuses
# `pip install` (PEP 668, "externally-managed-environment", as on Debian and Ubuntu) allows that.
# A Python without venv (Debian's python3-venv not installed) falls back to pip's user site.
uv:
	@if ! $(UV) --version >/dev/null 2>&1; then \
	  echo "make: uv is missing; installing it from PyPI into .tools/"; \
	  if python3 -m venv .tools >/dev/null 2>&1; then \
	    .tools/bin/python -m pip install --quiet --disable-pip-version-check uv; \
	  else \
	    rm -rf .tools; \
	    echo "make: python3 cannot make a virtualenv (Debian/Ubuntu: apt install python3-venv);" \
	         "installing uv for this user instead"; \
	    python3 -m pip install --quiet --user uv 2>/dev/null \
	      || python3 -m pip install --quiet --user --break-system-packages uv; \
	  fi; \
	fi

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

# `make bench`: the HTTP edge first (a served OrderGuard under wrk, on SQLite and PostgreSQL, beside a
# bare FastAPI app of the same run), then the in-process benchmarks. benchmarks/README.md says more.
bench:
	$(MAKE) bench-http
	$(MAKE) bench-inprocess

# e.g. make bench-http BENCH_HTTP_ARGS="--duration 30 --backends postgresql"
bench-http: install wrk
	$(UV) run python -m benchmarks.http_edge $(BENCH_HTTP_ARGS)

bench-inprocess: install
	$(UV) run python -m benchmarks.run

# Optional: the due storm beside its peers (procrastinate, pgqueuer, a raw SKIP LOCKED sweeper), one run,
# one table; see ../shared/peers/README.md. run_all.sh makes the peers' virtualenv from PyPI on first use.
# e.g. make bench-peers PEERS_N=20000 PEERS_DB=mine
PEERS_DIR ?= $(abspath $(CURDIR)/../shared/peers)
PEERS_DB ?= peers
# OrderGuard's storm: 50,000 lasts 1.5-2.5 s, long enough that the processes' start and end weigh little
# (10,000 lasted 0.3-0.4 s); the sweeper's own is 100,000.
PEERS_N ?= 50000
PG_ADMIN = -h 127.0.0.1 -U postgres
bench-peers: install
	@test -f "$(PEERS_DIR)/run_all.sh" || { echo "make: no $(PEERS_DIR)/run_all.sh; set PEERS_DIR"; exit 1; }
	@psql $(PG_ADMIN) -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$(PEERS_DB)'" | grep -q 1 \
	  || createdb $(PG_ADMIN) $(PEERS_DB)
	PEERS_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/$(PEERS_DB) \
	PEERS_EXTRA="$(CURDIR)/.venv/bin/python $(PEERS_DIR)/peer_orderguard.py --project $(CURDIR) -n $(PEERS_N)" \
	  bash "$(PEERS_DIR)/run_all.sh"

# wrk (the HTTP load generator of bench-http) from Debian's packages when it is missing: as root, or
# through sudo.
wrk:
	@if ! command -v wrk >/dev/null 2>&1; then \
	  if ! command -v apt-get >/dev/null 2>&1; then \
	    echo "make: wrk is missing and there is no apt-get: install wrk (e.g. brew install wrk)"; exit 1; \
	  fi; \
	  echo "make: wrk is missing; installing Debian's package"; \
	  sudo=$$(test "$$(id -u)" = 0 || echo sudo); \
	  $$sudo apt-get install -y wrk || { $$sudo apt-get update && $$sudo apt-get install -y wrk; }; \
	fi

clean:
	rm -rf var .venv .tools
