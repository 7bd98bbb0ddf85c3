#!/usr/bin/env bash
# Audits every locked dependency (constraints.txt) against published advisories with
# pip-audit, installed into a throwaway venv (never into .venv or the lock).
#
# Exit 0 with "AUDIT PASSED": no known vulnerability. Exit 1: vulnerabilities found
# (pip-audit lists them). Exit 0 with "AUDIT SKIPPED": no advisory source answered, so
# nothing was checked — a skip is not a pass. LEADFLOW_AUDIT_SERVICE picks pip-audit's
# advisory source: osv (default) or pypi (one request per locked package).
set -euo pipefail
cd "$(dirname "$0")/.."
service="${LEADFLOW_AUDIT_SERVICE:-osv}"
case "$service" in
  osv|pypi) ;;
  *) echo "LEADFLOW_AUDIT_SERVICE must be osv or pypi, not '$service'" >&2; exit 2 ;;
esac

tools="${TMPDIR:-/tmp}/leadflow-audit-venv"
if [ ! -x "$tools/bin/pip-audit" ]; then
  python3 -m venv "$tools"
  "$tools/bin/python" -m pip install -q --upgrade pip pip-audit
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# --no-deps --disable-pip: audit exactly the pinned lines, without resolving or installing.
set +e
"$tools/bin/pip-audit" -r constraints.txt --no-deps --disable-pip --progress-spinner off \
  --vulnerability-service "$service" >"$log" 2>&1
status=$?
set -e
# pip-audit reports an unreachable advisory source as an error, which reads like a
# problem with the lock: tell the two apart.
if [ "$status" -ne 0 ] && grep -qiE "connection|resolve|timed out|network|unreachable" "$log"; then
  echo "AUDIT SKIPPED: the $service advisory source is not reachable from this machine;" \
    "nothing was checked (run scripts/audit.sh where it is, e.g. CI with internet access)"
  exit 0
fi
cat "$log"
if [ "$status" -ne 0 ]; then
  exit "$status"
fi
echo "AUDIT PASSED: no known vulnerabilities in constraints.txt ($service)"
