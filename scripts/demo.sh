#!/usr/bin/env bash
# Sets up .venv (if needed), then runs the demo on the embedded SQLite default.
# Every install, the build of the project included, is pinned by constraints.txt
# (refresh it with scripts/lock.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q -c constraints.txt --upgrade pip setuptools
.venv/bin/python -m pip install -q -c constraints.txt --build-constraint constraints.txt -e .
.venv/bin/leadflow demo "$@"
