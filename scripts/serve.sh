#!/usr/bin/env bash
# Fresh machine -> a running MoonTV on the embedded SQLite database (./data), port 3000.
# PASSWORD (and optionally USERNAME, default "admin") must be set; config.json is read if present.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
if [ -z "${PASSWORD:-}" ] && [ -z "${MOONTV_PASSWORD:-}" ]; then
  echo "warning: PASSWORD is not set; the site stays locked until it is (e.g. PASSWORD=secret $0)" >&2
fi
exec .venv/bin/moontv serve "$@"
