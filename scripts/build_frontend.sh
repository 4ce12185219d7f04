#!/usr/bin/env bash
# Browser dependencies of the web UI: `npm ci` (versions pinned in package-lock.json), then copy the
# built files into src/moontv/web/static/vendor/ (gitignored; nothing third-party is committed).
# axe-core (a devDependency, for the accessibility checks of the browser tests) goes to tests/ui/vendor/
# when the checkout has tests; it is never served by the app.
# Installs Debian's nodejs/npm first when they are missing (needs root or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

vendor=src/moontv/web/static/vendor
test_vendor=tests/ui/vendor
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$vendor/.lock-sha256" ] && [ "$(cat "$vendor/.lock-sha256")" = "$lock_sum" ] \
  && [ -f "$vendor/hls.min.js" ] && [ -f "$vendor/hls.worker.js" ] \
  && { [ ! -d tests/ui ] || [ -f "$test_vendor/axe.min.js" ]; }; then
  exit 0  # already built from this lock file
fi

if ! command -v npm >/dev/null 2>&1; then
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root to install nodejs/npm: $*" >&2; return 1; fi; }
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
mkdir -p "$vendor"
dist=node_modules/hls.js/dist
cp "$dist/hls.min.js" "$dist/hls.worker.js" "$vendor/"
cp node_modules/hls.js/LICENSE "$vendor/hls.js.LICENSE.txt"
if [ -d tests/ui ] && [ -f node_modules/axe-core/axe.min.js ]; then
  mkdir -p "$test_vendor"
  cp node_modules/axe-core/axe.min.js "$test_vendor/"
  cp node_modules/axe-core/LICENSE "$test_vendor/axe-core.LICENSE.txt"
fi
echo "$lock_sum" > "$vendor/.lock-sha256"
echo "web UI vendor files: $(ls "$vendor" | tr '\n' ' ')"
