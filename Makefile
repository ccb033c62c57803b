# `make test` on a fresh Debian machine: installs system packages (root or sudo), a venv, and runs every test.
PYTHON ?= python3
VENV ?= .venv
PIP := $(VENV)/bin/pip
# Label Studio (for the end-to-end tests) lives in its own virtualenv: its pins must not leak into ours.
LS_VENV ?= .venv-labelstudio
LABEL_STUDIO_VERSION ?= 1.23.2
APT_PACKAGES := tesseract-ocr-eng tesseract-ocr-chi-sim tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-rus tesseract-ocr-ara \
	fonts-dejavu-core libfribidi0
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test deps system-deps venv labelstudio serve bench clean

test: deps
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy src
	$(VENV)/bin/pytest -q

deps: system-deps venv labelstudio
	$(PIP) install -q -e ".[test]"

labelstudio:
	@[ -x $(LS_VENV)/bin/label-studio ] || { $(PYTHON) -m venv $(LS_VENV) && \
		$(LS_VENV)/bin/pip install -q --upgrade pip && \
		$(LS_VENV)/bin/pip install -q "label-studio==$(LABEL_STUDIO_VERSION)"; }

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

venv:
	@[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

serve: venv
	$(PIP) install -q .
	$(VENV)/bin/ocrserver serve

bench: deps
	$(VENV)/bin/python benchmarks/dev_set.py

clean:
	rm -rf $(VENV) $(LS_VENV) build dist src/*.egg-info .pytest_cache
