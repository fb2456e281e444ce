# Njord's two Quick start commands, plus the maintenance targets.
CARGO ?= cargo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test redis chromium install docs bench fmt lint

## demo: build and run the richest pipeline on bundled synthetic data (no Redis, no network)
demo:
	$(CARGO) build --bins -q
	@scripts/demo.sh

## test: install what the tests need (redis-server, chromium) and run every test
test: redis chromium
	$(CARGO) test --workspace --all-targets --no-fail-fast

redis:
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "installing redis-server (needed by the Redis tests)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium (the HTML report is checked in a headless browser)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

## install: put every binary (njord-sim included) on PATH, in ~/.cargo/bin
install:
	$(CARGO) install --locked --path .
	$(CARGO) install --locked --path crates/njord-sim

## docs: regenerate man pages and shell completions from the clap definitions
docs:
	NJORD_UPDATE_DOCS=1 $(CARGO) test -q --test it docs::
	NJORD_UPDATE_DOCS=1 $(CARGO) test -q -p njord-sim --test docs

## bench: throughput figures (name: value unit) and criterion micro-benchmarks
bench:
	scripts/bench.sh
	$(CARGO) bench --workspace

fmt:
	$(CARGO) fmt

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
