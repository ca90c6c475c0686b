# bertguide — the README's commands. Everything installs into .venv on first use.
#
#   make serve   install, render the figures, build the site and serve it on :8000
#   make test    install, lint, build the site strictly, run every test and docs page,
#                then every page again after a plain pip install of the wheel
#   make build   the site into site/
#   make bench   the speed benchmarks (ratios against transformers, same run; ~10 min)
#   make experiments  rerun every trained run from scratch, compare with the shipped
#                results within their tolerances (about an hour on 2 cores);
#                EXPERIMENTS="--only tiny-gpt --write" picks runs and ships the result

PYTHON   ?= python3
VENV     := .venv
PY       := $(VENV)/bin/python
BIN      := $(VENV)/bin
STAMPS   := .make
SITE     := site
HOST     ?= 127.0.0.1:8000

export NO_MKDOCS_2_WARNING := 1
export TOKENIZERS_PARALLELISM := false
export HF_HUB_OFFLINE := 1
export PYTHONHASHSEED := 0

.PHONY: install assets figures build serve test lint pytest wheel-check bench experiments \
	notebooks clean

install: $(STAMPS)/python

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first, from the constraints file: an unpinned torch would pull GBs of CUDA wheels.
# The editable install records the package's version: a new one (bertguide/version.py)
# installs again, so that the installed metadata and the footer name the same version.
$(STAMPS)/python: pyproject.toml constraints.txt bertguide/version.py | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt torch
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,docs]"
	$(PY) -m ipykernel install --sys-prefix --name python3 > /dev/null
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/npm: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

assets: $(STAMPS)/npm install
	$(PY) scripts/vendor_assets.py

figures: install
	$(BIN)/bertguide figures --out docs/figures

build: assets figures
	$(BIN)/mkdocs build --strict --site-dir $(SITE)

# Serves the built site as a reader gets it; authors who want live reload run
# `.venv/bin/mkdocs serve` after `make build`.
serve: build
	@echo "serving the guide on http://$(HOST)/ (Ctrl-C stops)"
	$(PY) -m http.server --bind $(firstword $(subst :, ,$(HOST))) \
		--directory $(SITE) $(lastword $(subst :, ,$(HOST)))

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

pytest: install
	BERTGUIDE_SITE_DIR=$(SITE) $(PY) -m pytest

# Every page's visible blocks, run as a reader runs them: the built wheel installed
# without extras into .wheelcheck/ (cached; see scripts/check_wheel.py), one fresh
# process per page, outside the repository.
wheel-check: install
	$(PY) scripts/check_wheel.py

# The chapters' notebooks (the download and Colab links) are committed, so that Colab can
# open them from GitHub; a test fails when they differ from the pages: run this then.
notebooks: install
	$(PY) scripts/chapter_notebooks.py

test: lint build pytest wheel-check

# Never part of `make test`: the results ship with the package, and the tests check by
# behaviour (fingerprints) that the code still computes them.
experiments: install
	$(BIN)/bertguide experiments $(EXPERIMENTS)

bench: install
	$(PY) benchmarks/bench_tokenizer.py
	$(PY) benchmarks/bench_model.py
	$(PY) benchmarks/bench_pretraining.py

clean:
	rm -rf $(SITE) docs/figures docs/assets/vendor $(STAMPS) .wheelcheck
