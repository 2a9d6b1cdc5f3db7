# Two commands do all the set-up on a fresh machine:
#   make demo   download, train, evaluate and predict, end to end
#   make test   the test suite
# Both create .venv and install what they need from PyPI, pinned by constraints.txt.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SKETCH := $(BIN)/sketch
# The slim install (predict on LiteRT, no TensorFlow) with [onnx] (onnxruntime), built for its tests.
SLIM ?= .venv-slim
# Keras on JAX, no TensorFlow: `sketch train --keras-backend jax`, built for its test.
JAXENV ?= .venv-jax
PIN := -c constraints.txt

# The official bucket, or ../shared/quickdraw (a local mirror) when it is beside the project.
SHARED := ../shared/quickdraw
SOURCE ?= $(if $(wildcard $(SHARED)/full),$(SHARED),https://storage.googleapis.com/quickdraw_dataset/)
CATEGORIES ?= airplane,bicycle,calculator,camera,cat,computer,crayon,dragon,eye,guitar,headphones,map,paint can,paintbrush,television
MAX_PER_CLASS ?= 450
MINUTES ?= 10
DATA_DIR ?= data
RUN_DIR ?= runs/demo

.PHONY: venv slim jaxenv browser lint format test test-fast docs lock demo demo-next download train evaluate predict evaluate-all bench sizes clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(PIN) -e ".[train,beam,test,onnx,docs]"
	touch $@

slim: $(SLIM)/.installed

$(SLIM)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(SLIM)
	$(SLIM)/bin/pip install --quiet --upgrade pip
	$(SLIM)/bin/pip install --quiet $(PIN) -e ".[onnx]"
	touch $@

# ruff (lint and format) on the package, tests and bench; mypy on the package (pyproject.toml).
lint: venv
	$(BIN)/ruff check sketchrnn_cli tests bench
	$(BIN)/ruff format --check sketchrnn_cli tests bench
	$(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix sketchrnn_cli tests bench
	$(BIN)/ruff format sketchrnn_cli tests bench

# The three environments install side by side (then lint), the tests run in two workers
# (pytest-xdist; each test in one, taken by whichever is free), and the 15 slowest tests are
# printed, so that they stay visible.
test:
	$(MAKE) -j3 lint slim jaxenv browser
	SKETCH_SLIM_VENV=$(SLIM) SKETCH_JAX_VENV=$(JAXENV) $(BIN)/pytest -q -n 2 --dist worksteal --durations=15

# The documentation site into site/ (git-ignored), strict: any warning fails. make test builds it
# too (tests/test_docs.py). docs/screenshots.py remakes its pictures from a trained run.
docs: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# The pure tests: no training, no subprocesses, servers or browsers (about a minute).
test-fast: venv
	$(BIN)/pytest -q -m "not slow"

# constraints.txt again from the three environments as they are now (after changing a dependency).
lock: venv slim jaxenv
	{ echo "# Every package of the three environments make test builds (.venv: [train,beam,test,onnx,docs];"; \
	  echo "# .venv-slim: [onnx]; .venv-jax: [jax]), pinned as tested: make installs with -c constraints.txt. Written by make lock."; \
	  for env in $(VENV) $(SLIM) $(JAXENV); do $$env/bin/pip freeze --exclude-editable | grep -v '^-e'; done \
	  | awk -F'==' '!seen[tolower($$1)]++' | sort -f; } > constraints.txt  # a version .venv has wins

# Keras on JAX without TensorFlow (`pip install ".[jax]"`), for the JAX training test.
jaxenv: $(JAXENV)/.installed

$(JAXENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(JAXENV)
	$(JAXENV)/bin/pip install --quiet --upgrade pip
	$(JAXENV)/bin/pip install --quiet $(PIN) -e ".[jax]"
	touch $@

# Headless Chromium for the browser tests (Debian packages; as root only). Without it those
# tests skip and say why.
browser:
	@if command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null; \
	else echo "no chromedriver and not root: the browser tests will skip (apt-get install chromium chromium-driver)"; fi

# The demo run is made afresh each time (a run folder is never overwritten by sketch train).
demo: venv
	rm -rf $(RUN_DIR)
	$(MAKE) download train evaluate predict
	@$(MAKE) --no-print-directory demo-next

# What to do after the demo: three commands that run as printed, and what the model knows.
demo-next:
	@echo
	@echo "The demo's model knows $(CATEGORIES)."
	@echo "Next (or first: source $(BIN)/activate, then the same without $(BIN)/):"
	@echo "  $(SKETCH) draw --model $(RUN_DIR)        # draw in your browser while it guesses"
	@echo "  $(SKETCH) predict --model $(RUN_DIR) --progressive data/samples/my_drawings.ndjson"
	@echo "  $(SKETCH) evaluate $(RUN_DIR) --data-dir $(DATA_DIR) --report $(RUN_DIR)/report.html"

download: venv
	$(SKETCH) download --data-dir $(DATA_DIR) --source "$(SOURCE)" --categories "$(CATEGORIES)" --max-per-class $(MAX_PER_CLASS)

train: venv
	$(SKETCH) train --data-dir $(DATA_DIR) --run-dir $(RUN_DIR) --max-minutes $(MINUTES)

evaluate: venv
	$(SKETCH) evaluate $(RUN_DIR) --data-dir $(DATA_DIR) --report $(RUN_DIR)/report.html

predict: venv
	$(SKETCH) predict --model $(RUN_DIR) --show data/samples/my_drawings.ndjson

# One comparison table of every run under runs/.
evaluate-all: venv
	$(SKETCH) evaluate-all runs --data-dir $(DATA_DIR)

# The figures of BENCHMARKS.md (needs ../shared/quickdraw; about 45 minutes on 2 CPU cores).
bench: venv
	$(BIN)/python bench/bench_download.py
	$(BIN)/python bench/bench_train.py
	$(BIN)/python bench/bench_predict.py bench/results/runs/default --data-dir bench/results/data
	$(BIN)/python bench/bench_errors.py bench/results/runs/default --data-dir bench/results/data

# Install sizes of the full and the slim environment (BENCHMARKS.md).
sizes: venv slim
	du -sm $(VENV) $(SLIM)

clean:
	rm -rf $(VENV) $(SLIM) $(JAXENV) runs site .pytest_cache
