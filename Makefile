# Everything sets itself up on a fresh Debian machine: `make test`, `make demo`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test demo lint setup clean bench

test: setup $(VENV)/.torch
	.ci/install-system-packages $(TEST_PACKAGES)
	.ci/install-system-packages --no-install-recommends $(TEX_PACKAGES)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	node --check graph/views/page/page.js
	node --test tests/page/*.test.js
	$(PY) -m pytest

demo: setup
	.ci/install-system-packages $(DEMO_PACKAGES)
	$(PY) examples/train_mnist.py --out out/train_mnist

# Side-by-side speed and memory (benchmarks/): the bench extra (micrograd, threadpoolctl), and torch from the
# local CPU wheel where there is one.
bench: setup $(VENV)/.torch
	.ci/install-system-packages $(DEMO_PACKAGES)
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) benchmarks/run_all.py

lint: setup
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

setup: $(VENV)/.installed

# Debian packages, installed only where missing: `dot` draws diagrams (graphviz), Fashion-MNIST is the
# offline data set, headless Chromium runs the animation's browser tests (Playwright downloads no browser)
# and Node checks and unit-tests the animation page's script.
DEMO_PACKAGES := dot=graphviz /usr/share/datasets/fashion-mnist=dataset-fashion-mnist
TEST_PACKAGES := $(DEMO_PACKAGES) chromium=chromium node=nodejs
# pdflatex with TikZ compiles the diagrams' .tex, beamer (in latex-recommended) the slides, and poppler's
# pdftotext and pdftoppm read the PDFs back; without recommends.
TEXMF := /usr/share/texlive/texmf-dist/tex/latex
TEX_PACKAGES := pdflatex=texlive-latex-base $(TEXMF)/pgf/frontendlayer/tikz.sty=texlive-pictures \
	$(TEXMF)/beamer/beamer.cls=texlive-latex-recommended pdftotext=poppler-utils

$(VENV)/.installed: setup.cfg pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { $(SUDO) apt-get update -q && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv && $(PYTHON) -m venv $(VENV); }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

# PyTorch is a test oracle only (the optimiser tests compare with torch.optim step by step), never a
# dependency. Its CPU wheel is on disk on this project's machines; where it is not, those tests are skipped.
$(VENV)/.torch: $(VENV)/.installed
	@$(PY) -m pip install -q 'torch==2.13.0+cpu' || echo "no PyTorch CPU wheel here: the torch.optim comparisons will be skipped"
	@touch $@

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
