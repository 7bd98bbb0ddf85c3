#!/usr/bin/env bash
# Refreshes constraints.txt, the lock every install uses (scripts/demo.sh, scripts/test.sh, CI).
# Resolves pyproject.toml's dependencies plus the `test` extra to exact versions with pip-tools'
# pip-compile, run from a throwaway venv. Re-run it after changing a dependency range, or to pick
# up new releases (`--upgrade`, or `--upgrade-package NAME` for one); review and commit the diff.
# Usage: bash scripts/lock.sh [extra pip-compile options, e.g. --upgrade]
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools/venv"
"$tools/venv/bin/python" -m pip install -q --upgrade pip setuptools
"$tools/venv/bin/python" -m pip install -q 'pip-tools>=7.4,<8'
# pip and setuptools are locked too (--allow-unsafe), so the scripts upgrade a fresh venv's
# old ones to known versions first; with wheel they also pin the project's own build
# (pip's --build-constraint).
printf 'pip\nsetuptools\nwheel\n' >"$tools/installers.in"
# No index URLs or local paths are written: the lock names packages and versions only.
CUSTOM_COMPILE_COMMAND="bash scripts/lock.sh" "$tools/venv/bin/pip-compile" \
    --quiet --extra test --strip-extras --allow-unsafe --annotate \
    --no-emit-index-url --no-emit-trusted-host --no-emit-find-links \
    --output-file constraints.txt "$@" pyproject.toml "$tools/installers.in"
sed -i "s|-r $tools/installers.in|scripts/lock.sh (installers)|" constraints.txt
echo "constraints.txt refreshed; review and commit it with pyproject.toml."
