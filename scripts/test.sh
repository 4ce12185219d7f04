#!/usr/bin/env bash
# Fresh machine -> the whole test suite (installs redis-server etc., lint, then pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test
.venv/bin/ruff check src tests scripts
.venv/bin/ruff format --check src tests scripts
set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "error: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
