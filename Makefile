# Everything sets itself up on a fresh Debian machine: `make test`, `make demo`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test demo lint setup clean bench

test: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

demo: setup
	$(PY) examples/train_mnist.py --out out/train_mnist

# Side-by-side speed and memory (benchmarks/): micrograd, and torch from the local CPU wheel where there is one.
bench: setup
	$(PY) -m pip install -q 'micrograd==0.1.0'
	@$(PY) -m pip install -q 'torch==2.13.0+cpu' || echo "torch not installed: its rows will say so"
	$(PY) benchmarks/run_all.py

lint: setup
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

setup: $(VENV)/.installed system-packages
.PHONY: system-packages

# The system `dot` program renders diagrams; Debian's graphviz package has it.
# Headless Chromium runs the animation's browser tests; Playwright drives it and downloads no browser.
system-packages:
	@command -v dot >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -q graphviz; }
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
# Fashion-MNIST for the main job and the models tests, offline: Debian's dataset-fashion-mnist.
	@test -d /usr/share/datasets/fashion-mnist || { $(SUDO) apt-get update -q && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist; }

$(VENV)/.installed: setup.cfg pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { $(SUDO) apt-get update -q && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
