# The README's two commands: `make run` and `make test`. Each sets up .venv on a fresh machine.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip -q --disable-pip-version-check
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export RAGAS_DO_NOT_TRACK := true

HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_PORT ?= 8001

# Root on CI machines; elsewhere apt needs sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
GATE_HOME := .glovebox/eval-gate

.PHONY: run test lint typecheck unit venv clean browser postgres eval-gate

$(STAMP): pyproject.toml
	test -x $(PY) || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install --upgrade pip 2>&1 | grep -v "is ignored" || true
	# torch first and exactly pinned: the CPU build; a looser pin pulls gigabytes of CUDA.
	$(PIP) install torch==2.13.0 2>&1 | grep -v "is ignored" || true
	$(PIP) install -e '.[dev]' 2>&1 | grep -v "is ignored" || true
	$(PY) -c "import torch, sentence_transformers, chromadb, ui.cli"
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

# The demo runs as the sample carmaker (its VIN table, widget words and demo page).
run: export GLOVEBOX_PROFILE_PATH ?= $(CURDIR)/knowledge/sample/profile/profile.yaml
run: $(STAMP)
	$(VENV)/bin/glovebox serve --check --host $(HOST) --port $(PORT) --demo-port $(DEMO_PORT)
	$(VENV)/bin/glovebox ingest knowledge/sample
	# A first agent for trying the console on this machine only (never on a public interface).
	case "$(HOST)" in 127.*|localhost) $(VENV)/bin/glovebox agents list | grep -q . || { \
	  echo "demo-agent-password" | $(VENV)/bin/glovebox agents add demo \
	    --display-name "Demo Agent" --password-stdin && \
	  echo "Console sign-in: demo / demo-agent-password (glovebox agents disable demo)"; };; esac
	$(VENV)/bin/glovebox serve --host $(HOST) --port $(PORT) --demo-port $(DEMO_PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# Debian's Chromium for the browser tests (Playwright drives it; never `playwright install`).
browser:
	test -x /usr/bin/chromium || { $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends chromium; }

# Debian's PostgreSQL for the desk-store and two-worker tests (each run starts a throwaway
# cluster on loopback; nothing is left running).
postgres:
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends postgresql; }

# The release gate against evals/thresholds.yaml: the golden set on the sample knowledge base,
# and the real-data corpora (read in place) when the shared data folder is beside the project.
EVAL_CORPORA := $(if $(wildcard ../shared/data/manuals),all,sample)
eval-gate: $(STAMP)
	rm -rf $(GATE_HOME) && mkdir -p $(GATE_HOME)
	GLOVEBOX_HOME=$(GATE_HOME) $(VENV)/bin/glovebox eval --corpus $(EVAL_CORPORA) \
	  --judge-samples 0 --out $(GATE_HOME)/results

# The gate runs beside the tests (each mostly keeps one of the two cores busy); its output
# follows theirs, and either failing fails the target.
test: $(STAMP) browser postgres lint typecheck
	mkdir -p .glovebox
	$(MAKE) eval-gate > .glovebox/eval-gate.log 2>&1 & gate=$$!; \
	  $(VENV)/bin/pytest; tests=$$?; \
	  wait $$gate; gated=$$?; \
	  cat .glovebox/eval-gate.log; \
	  echo "tests exit $$tests, eval gate exit $$gated"; \
	  [ $$tests -eq 0 ] && [ $$gated -eq 0 ]

clean:
	rm -rf $(VENV) .glovebox .pytest_cache .mypy_cache .ruff_cache
