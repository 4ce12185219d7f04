#!/usr/bin/env bash
# Fresh machine -> the whole test suite (installs redis-server etc., lint, then pytest).
# Prints how long each part took.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
scripts/bootstrap.sh --test
t1=$(date +%s)
echo "== install (scripts/bootstrap.sh --test): $((t1 - t0)) s"
.venv/bin/ruff check src tests scripts
.venv/bin/ruff format --check src tests scripts
.venv/bin/mypy  # configured in pyproject.toml ([tool.mypy])
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
echo "== lint + pytest: $(( $(date +%s) - t1 )) s"
if [ "$rc" = 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
