#!/usr/bin/env bash
# Sets up .venv (if needed) with the test extras, then runs lint, types, the import
# contracts (docs/architecture.md) and the test suite.
# Every install, the build of the project included, is pinned by constraints.txt
# (refresh it with scripts/lock.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q -c constraints.txt --upgrade pip setuptools
.venv/bin/python -m pip install -q -c constraints.txt --build-constraint constraints.txt -e '.[test]'
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports
.venv/bin/pytest "$@"
