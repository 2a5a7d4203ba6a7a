# The two commands of the quickstart: `make demo` and `make test`.
# Each creates .venv when missing and installs the project with its dev extras, pinned by
# requirements.lock, so a fresh clone needs nothing but Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The project's own modules compiled, as pip compiles the packages it installs: an editable install
# leaves them as sources, and where PYTHONDONTWRITEBYTECODE is set (CI images often set it) every
# run would compile them again, ~0.25 s of the demo (docs/performance.md). Current files are skipped.
BYTECODE := $(BIN)/python -m compileall -q dagster_project assets

.PHONY: demo test install lint bench bench-demo dev clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=python3 ...'" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	@$(BYTECODE) >/dev/null
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@$(BYTECODE) >/dev/null
	$(BIN)/aml-finops demo --out reports

# The browser test needs Debian's chromium and the workbook print test LibreOffice; the scripts
# install them when missing (as root, or with sudo). Without either, local runs go on and those
# tests skip; under CI they must be there.
test: $(STAMP)
	-@bash scripts/ensure_chromium.sh
	-@bash scripts/ensure_libreoffice.sh
	$(BIN)/python -m pytest -n 2 --dist loadfile

# ruff for Python; sqlfluff (DuckDB dialect, rules and why in .sqlfluff) for sql/.
lint: $(STAMP)
	$(BIN)/ruff check dagster_project assets tests scripts
	$(BIN)/sqlfluff lint sql --processes 1

# The Dagster UI on http://$(HOST):$(PORT). DAGSTER_HOME (default .dagster_home) is created with a
# dagster.yaml that turns telemetry off; an existing one is kept. `make dev STAMP=` skips the
# install step (an already installed VENV). Configuration: docs/deployment.md (FINOPS_CONFIG, ...).
DAGSTER_HOME ?= $(CURDIR)/.dagster_home
HOST ?= 127.0.0.1
PORT ?= 3000
dev: $(STAMP)
	@mkdir -p "$(DAGSTER_HOME)"
	@test -f "$(DAGSTER_HOME)/dagster.yaml" || printf 'telemetry:\n  enabled: false\n' > "$(DAGSTER_HOME)/dagster.yaml"
	DAGSTER_HOME="$(DAGSTER_HOME)" $(BIN)/dagster dev -w workspace.yaml -h "$(HOST)" -p "$(PORT)"

# `make bench BENCH_ROWS="1000000" BENCH_REPEAT=2` for a quicker or steadier run.
BENCH_ROWS ?= 1000000 10000000
BENCH_REPEAT ?= 1
BENCH_LAYOUT ?= three-months
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev,bench]"
	$(BIN)/python scripts/benchmark.py $(foreach n,$(BENCH_ROWS),--rows $(n)) --repeat $(BENCH_REPEAT) --layout $(BENCH_LAYOUT)

# The demo's fixed cost (imports, Dagster's bookkeeping of the no-op graph, the demo run); no extras.
bench-demo: $(STAMP)
	@$(BYTECODE) >/dev/null
	$(BIN)/python scripts/benchmark.py --demo --repeat $(BENCH_REPEAT)

clean:
	rm -rf $(VENV) .cache
