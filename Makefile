# posediff_ros developer tasks. Everything runs from the project's own
# environment in .venv, which `make venv` creates on first use.
#
#   make venv   set up .venv (PyTorch, requirements(-dev).txt, ROS 2 wheels, interfaces)
#   make lint   ruff check and ruff format --check
#   make test   lint, then pytest test/ (unit and integration) on every core
#   make test-fast  the unit tests only (test/unit: no DDS processes, colcon or training runs)
#   make demo   the live demo: synthetic camera + estimator node, live accuracy
#   make clean  remove .venv and all build artefacts
#   make device-wheels  wheels the GPU machine lacks (.whl/, for scripts/device_train.sh)

VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.setup-done

# Redo the set-up when one of these changes (stamp file = last success).
SETUP_INPUTS := scripts/setup_env.sh requirements.txt requirements-dev.txt setup.py setup.cfg package.xml \
                $(shell find interfaces -type f 2>/dev/null)

# Folders with Python code to lint (only those that exist).
LINT_DIRS := $(wildcard posediff_ros test benchmarks scripts launch)

.PHONY: venv lint fix test test-fast demo clean device-wheels

venv: $(STAMP)

$(STAMP): $(SETUP_INPUTS)
	bash scripts/setup_env.sh
	touch $@

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_DIRS)
	$(VENV)/bin/ruff format --check $(LINT_DIRS)

fix: $(STAMP)
	$(VENV)/bin/ruff check --fix $(LINT_DIRS)
	$(VENV)/bin/ruff format $(LINT_DIRS)

# -n auto: one worker per core (pytest-xdist); --dist loadfile keeps a file on one worker,
# so a module's node process is started once. Each worker has a ROS domain of its own
# (test/conftest.py).
test: lint
	$(PY) -m pytest -n auto --dist loadfile test/

test-fast: $(STAMP)
	$(PY) -m pytest -n auto --dist loadfile test/unit

demo: $(STAMP)
	$(PY) -m posediff_ros.ros.live_demo

clean:
	rm -rf $(VENV) .build build install log *.egg-info .pytest_cache .ruff_cache .hypothesis

# The lent GPU machine runs Python 3.12 and lacks these two; they travel in .whl/.
device-wheels:
	python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .whl \
	  embreex==4.4.0.post1 trimesh==5.2.0
