# napari-clickseg developer tasks. `make demo` and `make test` work on a fresh Debian machine.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# What a headless Debian machine needs for napari viewer tests under a virtual X display.
SYSDEPS := xvfb xauth libgl1-mesa-dri libglx-mesa0 libegl1 libxkbcommon-x11-0 libxcb-icccm4 \
	libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-xinerama0 \
	libxcb-xfixes0 libxcb-shape0 libxcb-cursor0 libdbus-1-3
XVFB_RUN := xvfb-run -a -s "-screen 0 1280x1024x24"
PYTEST_ARGS ?=

.PHONY: help venv sysdeps test lint demo demo-cli napari clean

help:
	@echo "make demo     set up .venv and open napari with the annotation dock and a sample"
	@echo "              (without a display: the command-line demo, writes demo_output.png)"
	@echo "make demo-cli the command-line demo only (writes demo_output.png)"
	@echo "make test     set up .venv (+ a virtual display if needed), lint, validate, pytest"
	@echo "make lint     ruff check"
	@echo "make napari   start napari with the plugin installed"
	@echo "make venv     create .venv and install the package with its testing extras"
	@echo "make sysdeps  install xvfb and Mesa OpenGL with apt when there is no display"
	@echo "make clean    remove .venv, caches and build output"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
		echo "creating $(VENV) with $(PYTHON)"; \
		$(PYTHON) -m venv $(VENV) || { \
			echo "python -m venv failed; on Debian: apt-get install python3-venv" >&2; \
			rm -rf $(VENV); exit 1; }; \
	fi
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[testing]'
	touch $@

sysdeps:
	@if [ -n "$${DISPLAY:-}" ]; then \
		echo "sysdeps: DISPLAY=$$DISPLAY is set; nothing to install"; \
	elif command -v xvfb-run >/dev/null 2>&1; then \
		echo "sysdeps: xvfb-run found; nothing to install"; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "sysdeps: no display, no xvfb-run and no apt-get; install Xvfb and Mesa OpenGL" \
			"yourself to run the viewer tests"; \
	else \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
		echo "sysdeps: installing a virtual display and OpenGL with apt-get"; \
		$$SUDO apt-get update -q && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends $(SYSDEPS); \
	fi

lint: venv
	$(BIN)/ruff check src tests

test: venv sysdeps lint
	$(BIN)/npe2 validate napari-clickseg --imports
	@if [ -z "$${DISPLAY:-}" ] && command -v xvfb-run >/dev/null 2>&1; then \
		set -x; $(XVFB_RUN) $(BIN)/python -m pytest $(PYTEST_ARGS); \
	else \
		set -x; $(BIN)/python -m pytest $(PYTEST_ARGS); \
	fi

demo: venv
	@if [ -n "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]; then \
		echo "demo: opening napari with the annotation dock on a synthetic ssTEM stack"; \
		$(BIN)/python -m napari_clickseg._widgets.demo em_stack; \
	else \
		echo "demo: no display; running the command-line demo (make demo-cli) instead"; \
		$(BIN)/clickseg demo --out demo_output.png; \
	fi

demo-cli: venv
	$(BIN)/clickseg demo --out demo_output.png

napari: venv sysdeps
	@if [ -z "$${DISPLAY:-}" ]; then echo "napari: no DISPLAY; napari needs a screen" >&2; fi
	$(BIN)/napari

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -f demo_output.png
