# Groundwork: `make run` and `make test` are the whole set-up; see README.md.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
export XDG_RUNTIME_DIR ?= $(CURDIR)/.groundwork/run
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_PROGRESS_BARS := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install install-dev run test test-props test-fast lint typecheck check-migrations browser bench eval clean

# pip (not uv) so the pinned torch==2.13.0 resolves in the same install as
# sentence-transformers; installed apart, pip would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24" "setuptools>=68"
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

.groundwork/run:
	mkdir -p $@ && chmod 700 $@

run: install | .groundwork/run
	$(BIN)/groundwork run

lint: install-dev
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: install-dev
	$(BIN)/mypy

check-migrations: install-dev | .groundwork/run
	$(BIN)/groundwork migrate --check --scratch

# Debian's Chromium for the browser test (never a downloaded browser); needs root and apt.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && { DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 \
	       || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }; } \
	  || echo "chromium is not installed and cannot be: the browser test will be skipped"; }

test: install-dev browser | .groundwork/run
	$(MAKE) --no-print-directory lint typecheck check-migrations
	$(BIN)/python -m pytest

test-props: install-dev | .groundwork/run  ## the 10,000-scenario access-control property run
	GROUNDWORK_PROPERTY_EXAMPLES=10000 $(BIN)/python -m pytest tests/integration/test_access_properties.py -m slow

test-fast: install-dev | .groundwork/run
	$(BIN)/python -m pytest -m "not slow"

bench: install-dev | .groundwork/run
	$(BIN)/groundwork bench all

eval: install-dev | .groundwork/run
	$(BIN)/groundwork eval all

clean:
	rm -rf $(VENV) .groundwork .mypy_cache .ruff_cache
