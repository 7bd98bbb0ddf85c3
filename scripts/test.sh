#!/usr/bin/env bash
# Sets up .venv (if needed) with the test extras, then runs lint, types and the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/pytest "$@"
