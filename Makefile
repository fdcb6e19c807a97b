# One command to build the book, one to run the tests; both set everything up first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= cpu
STAMP := $(VENV)/.installed

.PHONY: setup book student pdf test dry-run bench clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name rtr-book --display-name "rtr-book (Python 3)"
	touch $@

setup: $(STAMP)

book: $(STAMP)
	$(PY) -m rtrlib.book build --profile $(PROFILE)

student: $(STAMP)
	$(PY) -m rtrlib.book build --profile $(PROFILE) --edition student

# The whole book as one PDF (_build/pdf/rtr-book.pdf): builds the book (as `make book`), prints
# every page with headless Chromium, and renders the HTML again so that it links the PDF.
pdf: $(STAMP)
	$(PY) -m rtrlib.book pdf --profile $(PROFILE)

# The tests on two workers; one of them runs the dry run of the gpu profile (every chapter
# with the GPU runners' parameters, a couple of steps each, on CPU; README "GPU runners";
# tests/test_dry_run.py), the smoke book's tests stay together on one worker.
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -n 2 --dist loadgroup

dry-run: $(STAMP)
	$(PY) -m rtrlib.book build --profile $(or $(filter-out cpu,$(PROFILE)),gpu) --dry-run

bench: $(STAMP)
	$(PY) benchmarks/toy_sweep.py
	$(PY) benchmarks/olmo_step.py

clean:
	rm -rf _build
