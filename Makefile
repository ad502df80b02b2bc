# archgen: the commands the README names.  `make demo` sets everything up on a fresh
# Debian/Ubuntu machine (python3 with venv); `make test` runs the default test tier.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
HASH   := $(shell cat pyproject.toml setup.py | sha256sum | cut -c1-16)
STAMP  := $(VENV)/.stamp-$(HASH)

.PHONY: setup tools demo test test-all bench lint fixtures clean

setup: $(STAMP) tools

# Re-installs only when pyproject.toml or setup.py changed (the stamp carries their hash).
$(STAMP):
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test,sim,hls]'
	rm -f $(VENV)/.stamp-*
	touch $@

# Simulation and synthesis tools; the tests that need them skip when they are missing.
tools:
	@missing=""; for t in iverilog yosys; do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing$$missing with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iverilog yosys; \
	else \
		echo "warning:$$missing not found and not root: simulation and synthesis tests will be skipped" >&2; \
	fi

demo: setup
	$(VENV)/bin/archgen demo

test: setup
	$(PY) -m pytest -n 2 -q -m "not slow" --durations=25

test-all: setup
	$(PY) -m pytest -n 2 -q

bench: setup
	@set -e; for f in bench/bench_*.py; do \
		[ -e "$$f" ] || { echo "no benchmarks in bench/"; break; }; \
		echo "== $$f"; $(PY) "$$f"; \
	done

lint: setup
	$(PY) -m compileall -q gen tests bench
	@if $(PY) -m ruff --version >/dev/null 2>&1; then $(PY) -m ruff check gen tests bench; \
	elif command -v ruff >/dev/null 2>&1; then ruff check gen tests bench; \
	else echo "ruff not installed: skipped"; fi

# Regenerates tests/fixtures with the real exporters (torch CPU wheel first, then brevitas).
fixtures: setup
	$(PIP) install -q torch==2.13.0  # exactly this pin: any other spec pulls CUDA wheels
	$(PIP) install -q -e '.[test,fixtures]'
	$(PY) tests/fixtures/make_fixtures.py

clean:
	rm -rf build gen/*.egg-info archgen-demo .pytest_cache
