# The two quick-start commands: `make run` and `make test`. Each creates .venv
# (once), installs cnnb into it, then runs a benchmark or the test suite.
PYTHON ?= python3
VENV ?= .venv
TF_EXTRA ?= cpu
ARGS ?=
# Test files run in this many processes (pytest-xdist; one file stays in one
# process, so its module fixtures run once): 11 min -> 7 min on 2 cores.
TEST_WORKERS ?= 2
PY := $(VENV)/bin/python
STAMP := $(VENV)/.cnnb-installed
RUFF := $(VENV)/bin/ruff
# One minor series: a newer ruff may add findings to the selected rules and fail CI.
RUFF_SPEC ?= ruff>=0.17,<0.18

.PHONY: run test test-fast bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=23" "setuptools>=77" wheel
	$(PY) -m pip install --quiet -e ".[$(TF_EXTRA),test]"
	rm -rf *.egg-info  # build by-product; a stale one in the cwd would shadow the entry points
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/cnnb run $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow" $(ARGS)

# Rules and settings: [tool.ruff] in pyproject.toml.
lint: $(RUFF)
	$(RUFF) check .

$(RUFF): | $(STAMP)
	$(PY) -m pip install --quiet "$(RUFF_SPEC)"

bench: $(STAMP)
	$(PY) bench/resnet50_vs_plain_loop.py $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
