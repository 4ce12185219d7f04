#!/usr/bin/env bash
# Install what MoonTV needs on a fresh Debian/Ubuntu machine into ./.venv.
#   scripts/bootstrap.sh           the server only
#   scripts/bootstrap.sh --test    also the test tools and services (redis-server, wrk)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "need root for: $*" >&2; return 1; fi; }

apt_packages=()
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then apt_packages+=(python3-venv); fi
if [ "$want_test" = 1 ]; then
  while read -r pkg _; do
    case "$pkg" in ''|'#'*) continue ;; esac
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || apt_packages+=("$pkg")
  done < scripts/apt-test-packages.txt
fi
if [ "${#apt_packages[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  as_root apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
[ -x .venv/bin/python ] || python3 -m venv .venv
# pip runs only when its input changed: pyproject.toml and the interpreter (the editable install
# follows src/ by itself). One stamp per install kind; a test install also covers the server.
inputs="$(sha256sum pyproject.toml | cut -d' ' -f1) $(.venv/bin/python -VV | tr -d '\n')"
installed() { [ "$(cat ".venv/.moontv-install-$1" 2>/dev/null || true)" = "$inputs" ]; }
if [ "$want_test" = 1 ]; then kind=test extras="[test]"; else kind=server extras=""; fi
if ! { installed "$kind" || { [ "$kind" = server ] && installed test; }; } \
   || ! .venv/bin/python -c 'import moontv' 2>/dev/null; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".$extras"
  echo "$inputs" > ".venv/.moontv-install-$kind"
fi
# Web UI browser dependencies (hls.js from npm, pinned by package-lock.json) into web/static/vendor/.
scripts/build_frontend.sh
# helm for the chart checks (tests/container/test_helm.py).
if [ "$want_test" = 1 ]; then
  scripts/get_helm.sh
fi
