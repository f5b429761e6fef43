# The two commands of the README: `make demo` and `make test`. Each creates .venv when it
# is missing and installs skml (editable, so the compiled kernels sit next to the sources)
# with the extras that target needs; constraints.txt pins torch to the CPU build on disk.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
PIP_INSTALL := $(PIP) install --quiet --disable-pip-version-check -c constraints.txt
BUILD_DEPS  := "setuptools>=68" wheel "Cython>=3" "numpy>=1.25" "scipy>=1.10"
SOURCES := pyproject.toml setup.py constraints.txt $(wildcard skml/_kernels/*.pyx skml/_kernels/*.pxd)
PYTEST_ARGS ?= -n auto --maxprocesses=4
BENCH_ARGS  ?=
COMPAT_ARGS ?=

EXTRAS_demo  := deep,bench
EXTRAS_test  := test,deep,bench
EXTRAS_bench := deep,bench
EXTRAS_docs  := docs,deep

.PHONY: demo test bench docs compat clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# One stamp per target: reinstalls when the build inputs change (a .pyx edit rebuilds).
# flock: two make runs at once must not install into the same venv together.
$(VENV)/.installed-%: $(SOURCES) | $(BIN)/python
	flock $(VENV)/.install.lock $(PIP_INSTALL) $(BUILD_DEPS)
	flock $(VENV)/.install.lock $(PIP_INSTALL) --no-build-isolation -e ".[$(EXTRAS_$*)]"
	touch $@

demo: $(VENV)/.installed-demo
	$(BIN)/python -m skml demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-bench
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

# scikit-learn's own unit tests for the estimators skml provides, imports re-pointed to
# skml (not part of `make test`; up to ~30 minutes). Table printed, details in compat_results/.
compat: $(VENV)/.installed-test
	$(BIN)/python -m tests.compat.run $(COMPAT_ARGS)

docs: $(VENV)/.installed-docs
	$(BIN)/python -m sphinx -W --keep-going -b html doc doc/_build/html

clean:
	rm -rf build doc/_build doc/generated skml/_kernels/*.c skml/_kernels/*.so
