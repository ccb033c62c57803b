# `make test` on a fresh Debian machine: installs system packages (root or sudo), a venv, and runs every test.
PYTHON ?= python3
VENV ?= .venv
PIP := $(VENV)/bin/pip
APT_PACKAGES := tesseract-ocr-eng tesseract-ocr-chi-sim tesseract-ocr-deu tesseract-ocr-fra fonts-dejavu-core
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test deps system-deps venv serve bench clean

test: deps
	$(VENV)/bin/pytest -q

deps: system-deps venv
	$(PIP) install -q -e ".[test]"

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
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
