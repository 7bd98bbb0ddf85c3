#!/usr/bin/env bash
# Takes the README's pictures (docs/images/*.png) with headless Chromium: the demo's KPI
# report and a lead-cycle flow run in a real Prefect UI (scripts/screenshots.py).
# Installs Debian's chromium and fonts-noto-cjk first when missing (without the CJK fonts
# Chromium draws Japanese names as empty boxes). Run `bash scripts/demo.sh` first.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v chromium >/dev/null || missing+=(chromium)
# (grep without -q: an early exit would SIGPIPE fc-list and fail the pipeline)
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || missing+=(fonts-noto-cjk)
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    $sudo apt-get install -y -q "${missing[@]}"
fi
.venv/bin/python scripts/screenshots.py "$@"
