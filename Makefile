# Two commands do everything on a fresh machine (Python 3.12 via pyenv's .python-version):
#   make demo   set up, then run the demo township under both regimes side by side
#   make test   set up, then lint (ruff check), run the test suite and the statistical regression gate
# Set-up is idempotent: a stamp file skips it once the environment matches pyproject.toml.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-all benchmark regress validate-model dashboard clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 12), f"need Python 3.12, got {sys.version}"' \
		|| (echo "Python 3.12 is required (pyenv reads .python-version)"; exit 1)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

setup: $(STAMP) browser

# Headless Chromium for the dashboard's browser test, and a CJK font for its Chinese labels
# (Debian packages; root on CI).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null) \
			|| echo "warning: could not install chromium; the browser test will be skipped"; \
		else echo "note: chromium not installed (needs root); the browser test will be skipped"; fi; }

demo: $(STAMP)
	$(PY) run.py compare scenarios/comprehensive.yaml scenarios/veto.yaml --seeds 6 --years 3

test: setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest
	$(PY) run.py regress

test-all: setup
	$(PY) -m pytest -m "slow or not slow"

benchmark: $(STAMP)
	$(PY) -m benchmarks

regress: $(STAMP)
	$(PY) run.py regress

validate-model: $(STAMP)
	$(PY) run.py validate-model --full

dashboard: $(STAMP)
	$(PY) run.py dashboard scenarios/demo.yaml

clean:
	rm -rf $(VENV) out runs test-artifacts .pytest_cache
