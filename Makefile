# Njord's two Quick start commands, plus the maintenance targets.
CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test redis chromium prometheus terminal python install docs bench fmt lint
VENV ?= .venv

## demo: build and run the richest pipeline on bundled synthetic data (no Redis, no network)
demo:
	$(CARGO) build --bins -q
	@scripts/demo.sh

## test: install what the tests need (redis-server, chromium, prometheus and promtool, tmux and
## curl, a Python virtual environment with pandas, polars, DuckDB, aiosmtpd, Dask and the njord module)
## and run every test
test: redis chromium prometheus terminal python
	$(CARGO) test --all-targets --no-fail-fast
	PATH="$(CURDIR)/target/debug:$$PATH" $(VENV)/bin/python -m pytest -q -p no:cacheprovider python/tests

## python: the njord Python module (PyO3, maturin) in $(VENV), with what its tests read it with
python: $(VENV)/.installed
	VIRTUAL_ENV="$(abspath $(VENV))" $(VENV)/bin/maturin develop -q --profile python -m python/Cargo.toml

$(VENV)/.installed: python/requirements-test.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -r python/requirements-test.txt
	touch $@

redis:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "installing redis-server (needed by the Redis tests)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium (the HTML report is checked in a headless browser)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

prometheus:
	@{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 || { \
	  echo "installing prometheus (the telemetry tests scrape with a real Prometheus and check rules with promtool)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; }

terminal:
	@{ command -v tmux && command -v curl; } >/dev/null 2>&1 || { \
	  echo "installing tmux and curl (njord-ctl top is tested in a real terminal, its API with curl)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux curl; }

## install: put every binary (njord-sim included) on PATH, in ~/.cargo/bin
install:
	$(CARGO) install --locked --path .
	$(CARGO) install --locked --path crates/njord-sim

## docs: regenerate man pages and shell completions from the clap definitions
docs:
	NJORD_UPDATE_DOCS=1 $(CARGO) test -q --test it docs::
	NJORD_UPDATE_DOCS=1 $(CARGO) test -q -p njord-sim --test docs

## bench: throughput figures (name: value unit) and criterion micro-benchmarks
bench: python
	scripts/bench.sh
	$(CARGO) bench --workspace

fmt:
	$(CARGO) fmt

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
