# One command each: `make demo` (set up and run the bundled example) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# No telemetry, no network at run time; a cold ephemeral Prefect server needs more than 20 s here.
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS := 120
export GX_ANALYTICS_ENABLED := false

.PHONY: install demo test example server serve bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

demo: install
	$(BIN)/coalition run --quarter 2026-Q3 --out output

test: install
	$(BIN)/python -m pytest -q; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; \
	exit $$status

example: install
	$(BIN)/python examples/generate_example.py

# A local Prefect server with its UI on http://127.0.0.1:4200 (until Ctrl-C).
server: install
	$(BIN)/python -m coalition_metrics.prefect_server

# Serve the deployments against that server (in a second shell).
serve: install
	PREFECT_API_URL=http://127.0.0.1:4200/api $(BIN)/coalition serve

bench: install
	$(BIN)/python benchmarks/validate_100k.py
	$(BIN)/python benchmarks/refresh.py

clean:
	rm -rf $(VENV) output .pytest_cache *.egg-info
