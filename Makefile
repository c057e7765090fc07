# kws: `make demo` and `make test` set everything up from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.kws-installed
CORE_SRC := $(shell find firmware/core -name '*.c' -o -name '*.h' -o -name '*.cdef' -o -name '*.json')
# Debian packages: the ARM toolchain and emulator for firmware, libsndfile/PortAudio for audio,
# PulseAudio (a private null-sink server) so the recording tests run through real PortAudio,
# and the offline TTS engines of the wake-word command (espeak-ng, flite, festival + voices).
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm libsndfile1 libportaudio2 \
  pulseaudio pulseaudio-utils libasound2-plugins \
  espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
PYTEST_ARGS ?=

.PHONY: setup system-deps test demo lint clean

setup: system-deps $(STAMP)

# Installs missing Debian packages when we are root on a machine with apt; otherwise says
# what is missing (tests that need the ARM tools then skip with that reason).
system-deps:
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  fi; \
	else \
	  for t in arm-none-eabi-gcc qemu-system-arm pulseaudio paplay; do command -v $$t >/dev/null 2>&1 || \
	    echo "warning: $$t not found (install: sudo apt-get install $(APT_PACKAGES))"; done; \
	fi

$(STAMP): pyproject.toml setup.py kws/_core_build.py kws/features/c_structs.py $(CORE_SRC)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	@touch $(STAMP)

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

demo: setup
	$(VENV)/bin/kws demo

lint: setup
	$(VENV)/bin/ruff check kws tests benchmarks

clean:
	rm -rf build runs .pytest_cache kws/_core*.so kws/_core.c
