#!/usr/bin/env bash
# Run the Node baseline's own benchmark kit (run_suite.sh, UNCHANGED) against this Python server, for a
# side-by-side with ../shared/spec/node-baseline.md.
#
#   scripts/bench_node_kit.sh                       # both modes, the full protocol (about 2 x 8 minutes)
#   MODE=redis scripts/bench_node_kit.sh            # one mode: localstorage | redis
#   REPS=1 COLD_RUNS=2 BENCH_ARGS="--idle-wait 2 --search-runs 3 --wrk-duration 3 --wrk-warmup 1" \
#     scripts/bench_node_kit.sh                     # quick smoke test
#
# Variables (defaults in brackets):
#   MOONTV_BENCH_KIT  the kit folder (run_suite.sh, bench.py, fake_cms.py)   [<repo>/../shared/bench]
#   MOONTV_BIN        the moontv executable   [<repo>/.venv/bin/moontv, else `moontv` on PATH]
#   MODE              localstorage | redis; unset = both, one after the other
#   SEARCH_CACHE      MOONTV_SEARCH_CACHE for the server [0: the Node original has no server-side
#                     search cache, so every search must go upstream for a like-for-like comparison]
#   OUT_ROOT          where the kit's results go          [<repo>/bench-results] (git-ignored)
#   REPS, COLD_RUNS, BENCH_ARGS, PORT, CMS_PORT, REDIS_PORT: passed through to run_suite.sh unchanged.
#
# What the kit needs and how it is given: run_suite.sh copies its generated fake-source config to
# CONFIG_DEST; the server reads MOONTV_CONFIG, so both point at <tmp>/config.json inside the temporary
# SERVER_DIR. The kit always sets HOSTNAME/PORT/PASSWORD=test and NEXT_PUBLIC_STORAGE_TYPE (localstorage
# maps to the embedded SQLite store in MOONTV_DATA_DIR; redis gets REDIS_URL and USERNAME=admin). In
# localstorage mode it logs in with {"password":"test"} only, which the server treats as the owner.
# Only what this script creates is removed (the temporary SERVER_DIR); the kit stops its own processes.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
KIT="${MOONTV_BENCH_KIT:-$REPO/../shared/bench}"
if [ ! -x "$KIT/run_suite.sh" ] && [ ! -f "$KIT/run_suite.sh" ]; then
  echo "error: no run_suite.sh in $KIT (set MOONTV_BENCH_KIT)" >&2
  exit 2
fi
KIT="$(cd "$KIT" && pwd)"

if [ -n "${MOONTV_BIN:-}" ]; then
  BIN="$MOONTV_BIN"
elif [ -x "$REPO/.venv/bin/moontv" ]; then
  BIN="$REPO/.venv/bin/moontv"
elif command -v moontv >/dev/null 2>&1; then
  BIN="$(command -v moontv)"
else
  echo "error: no moontv executable: create $REPO/.venv (scripts/bootstrap.sh), put moontv on PATH" \
    "or set MOONTV_BIN" >&2
  exit 2
fi
case "$BIN" in /*) ;; *) BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")" ;; esac

for tool in python3 wrk; do
  command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool is not on PATH" >&2; exit 2; }
done

MODES="${MODE:-localstorage redis}"
for m in $MODES; do
  case "$m" in
    localstorage) ;;
    redis) command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 \
      || { echo "error: redis mode needs redis-server and redis-cli" >&2; exit 2; } ;;
    *) echo "error: MODE must be localstorage or redis, not '$m'" >&2; exit 2 ;;
  esac
done

OUT_ROOT="${OUT_ROOT:-$REPO/bench-results}"
STAMP="$(date +%Y%m%d-%H%M%S)"
SERVER_DIR=""
cleanup() {
  if [ -n "$SERVER_DIR" ] && [ -d "$SERVER_DIR" ]; then rm -rf -- "$SERVER_DIR"; fi
}
trap cleanup EXIT

echo "kit: $KIT" >&2
echo "server: $BIN serve (MOONTV_SEARCH_CACHE=${SEARCH_CACHE:-0})" >&2
RESULTS=()
for m in $MODES; do
  cleanup
  SERVER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/moontv-kit-$m.XXXXXX")"
  mkdir -p "$SERVER_DIR/data" "$OUT_ROOT"
  OUT_DIR="$OUT_ROOT/node-kit-$m-$STAMP"
  echo "== mode $m: SERVER_DIR=$SERVER_DIR OUT=$OUT_DIR" >&2
  (
    cd "$SERVER_DIR"
    SERVER_DIR="$SERVER_DIR" \
      SERVER_CMD="$BIN serve" \
      MODE="$m" \
      CONFIG_DEST="$SERVER_DIR/config.json" \
      EXTRA_ENV="MOONTV_CONFIG=$SERVER_DIR/config.json MOONTV_DATA_DIR=$SERVER_DIR/data MOONTV_SEARCH_CACHE=${SEARCH_CACHE:-0}" \
      OUT="$OUT_DIR" \
      bash "$KIT/run_suite.sh"
  )
  RESULTS+=("$OUT_DIR")
done

echo >&2
echo "done; results (aggregate.md, rep*.md, cold.md, raw JSON):" >&2
for d in "${RESULTS[@]}"; do echo "  $d" >&2; done
