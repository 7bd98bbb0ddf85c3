#!/usr/bin/env bash
# Sets up .venv (if needed), then runs the demo on the embedded SQLite default.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
.venv/bin/leadflow demo "$@"
