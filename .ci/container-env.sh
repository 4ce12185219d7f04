#!/usr/bin/env bash
# CI environment shim (not part of the product): a Docker engine with BuildKit/buildx/compose and
# the base images, on a Debian 12 machine that reaches Debian's mirror, PyPI and npm but no
# container registry.
#   - engine: Debian trixie's docker.io 26 + containerd 1.7 + docker-buildx + docker-compose, unpacked
#     into $ENGINE (bookworm's 20.10 cannot hold multi-platform images nor honour start intervals);
#     runc from bookworm. dockerd runs with the containerd image store.
#   - base images: stand-ins built from Debian packages with ../shared/container/mk-*.sh and tagged with
#     the upstream names (debian:12-slim, node:20-bookworm-slim, gcr.io/distroless/python3-debian12 for
#     linux/amd64 + linux/arm64), plus the compose stack's service images (.ci/standins/).
#   - qemu binfmt for running the arm64 image; Debian's docker-registry, prometheus/promtool.
# Source it: `. .ci/container-env.sh` (exports PATH, DOCKER_PIDFILE). Idempotent; safe to run twice.
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=${SHARED_CONTAINER:-$REPO/../shared/container}
ENGINE=${ENGINE:-/opt/moontv-ci-engine}
WORK=${CI_WORK:-/tmp/moontv-ci}
mkdir -p "$WORK"
APT="apt-get -o DPkg::Lock::Timeout=600 -qq"
export DEBIAN_FRONTEND=noninteractive
now() { date +%s; }
t_all=$(now)
# the step running now and its log: a failing command prints both (ERR trap), then the caller's
# set -e ends the run (the caller's EXIT trap stops a dockerd started here)
ENV_STEP="start" ENV_LOG=""
step() { ENV_STEP=$1; ENV_LOG=${2:-}; echo "container-env: $ENV_STEP"; }
env_failed() {
  local rc=$?
  [ -z "${ENV_REPORTED:-}" ] || return 0   # once: the enclosing compound commands fail too
  ENV_REPORTED=1
  echo "container-env: step '$ENV_STEP' failed (exit $rc, line $1)" >&2
  if [ -n "$ENV_LOG" ] && [ -s "$ENV_LOG" ]; then
    echo "---- last 40 lines of $ENV_LOG" >&2
    tail -40 "$ENV_LOG" >&2
    echo "----" >&2
  fi
}
trap 'env_failed $LINENO' ERR

# 1. Debian packages (bookworm)
step "Debian packages" "$WORK/apt.log"
need=""
for p in iptables runc debootstrap qemu-user-static binfmt-support docker-registry prometheus \
         prometheus-node-exporter prometheus-redis-exporter redis-tools curl; do
  dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
  $APT update >"$ENV_LOG" 2>&1
  # shellcheck disable=SC2086
  $APT install -y --no-install-recommends $need >>"$ENV_LOG" 2>&1
fi

# 2. trixie's engine, unpacked (not installed) into $ENGINE
if [ ! -x "$ENGINE/usr/sbin/dockerd" ]; then
  step "engine from trixie packages" "$WORK/engine.log"
  T="$WORK/trixie"
  mkdir -p "$T/etc" "$T/lists/partial" "$T/cache/archives/partial" "$T/debs"
  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    > "$T/etc/trixie.sources"
  O=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$T/etc" -o "Dir::State::Lists=$T/lists"
     -o "Dir::Cache=$T/cache" -o Dir::State::Status=/dev/null)
  apt-get "${O[@]}" -qq update >"$ENV_LOG" 2>&1
  (cd "$T/debs" && apt-get "${O[@]}" -qq download docker.io docker-cli containerd docker-buildx docker-compose tini) >>"$ENV_LOG" 2>&1
  mkdir -p "$ENGINE.partial"
  for d in "$T"/debs/*.deb; do dpkg-deb -x "$d" "$ENGINE.partial"; done
  rm -f "$ENGINE.partial/usr/sbin/runc" "$ENGINE.partial/usr/bin/runc"   # trixie's runc needs glibc 2.38: bookworm's is used
  rm -rf "$ENGINE" && mv "$ENGINE.partial" "$ENGINE"   # a half-unpacked engine is never taken for a ready one
fi
export PATH="$ENGINE/usr/bin:$ENGINE/usr/sbin:$PATH"
mkdir -p "$HOME/.docker/cli-plugins"
ln -sf "$ENGINE/usr/libexec/docker/cli-plugins/docker-buildx" "$HOME/.docker/cli-plugins/docker-buildx"
ln -sf "$ENGINE/usr/libexec/docker/cli-plugins/docker-compose" "$HOME/.docker/cli-plugins/docker-compose"
# ../shared/container/mk-node-slim.sh calls /usr/bin/docker (Debian's client path)
[ -e /usr/bin/docker ] || ln -s "$ENGINE/usr/bin/docker" /usr/bin/docker

# 3. dockerd (containerd image store), unless one already answers
export DOCKER_PIDFILE=""   # set only when this script starts dockerd (then the caller stops it)
if ! docker info >/dev/null 2>&1; then
  step "dockerd" "$WORK/dockerd.log"
  DOCKER_PIDFILE="$WORK/dockerd.pid"
  printf '{"features": {"containerd-snapshotter": true}, "storage-driver": "overlayfs"}\n' > "$WORK/daemon.json"
  setsid dockerd --config-file "$WORK/daemon.json" >"$WORK/dockerd.log" 2>&1 </dev/null &
  echo $! > "$DOCKER_PIDFILE"
  for _ in $(seq 300); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$(cat "$DOCKER_PIDFILE")" 2>/dev/null || break   # it exited: its log says why
    sleep 0.2
  done
  docker info >/dev/null 2>&1 || { echo "dockerd is not answering" >&2; false; }
fi

# 4. qemu for foreign-arch containers (the arm64 smoke test)
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || true
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true

# 5. base image stand-ins (only when the pinned upstream images cannot be pulled)
registry_ok=0
timeout 20 docker buildx imagetools inspect debian:12-slim >/dev/null 2>&1 && registry_ok=1
if [ "$registry_ok" = 0 ]; then
  t=$(now)
  step "stand-in debian:12-slim" "$WORK/standin-debian.log"
  docker image inspect debian:12-slim >/dev/null 2>&1 || bash "$SHARED/mk-debian-slim.sh" >"$ENV_LOG" 2>&1
  step "stand-in node:20-bookworm-slim" "$WORK/standin-node.log"
  docker image inspect node:20-bookworm-slim >/dev/null 2>&1 || bash "$SHARED/mk-node-slim.sh" >"$ENV_LOG" 2>&1
  step "stand-in distroless python (amd64 + arm64)" "$WORK/standin-distroless.log"
  probe="$WORK/arm64-probe"; mkdir -p "$probe"
  echo 'FROM gcr.io/distroless/python3-debian12:latest' > "$probe/Dockerfile"
  if ! docker buildx build -q --platform linux/amd64,linux/arm64 "$probe" >"$ENV_LOG" 2>&1; then
    # per-arch root filesystems from Debian .debs (the arm64 one through an arm64 apt configuration),
    # then one multi-platform image from both (no RUN step, so no emulation)
    A="$WORK/apt-arm64"
    mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/etc"
    cp /etc/apt/sources.list.d/debian.sources "$A/etc/"
    printf 'APT::Architecture "arm64";\nAPT::Architectures { "arm64"; };\nDir::Etc::SourceList "/dev/null";\nDir::Etc::SourceParts "%s/etc";\nDir::State::Lists "%s/lists";\nDir::Cache "%s/cache";\nDir::State::Status "/dev/null";\n' \
      "$A" "$A" "$A" > "$A/apt.conf"
    APT_CONFIG="$A/apt.conf" apt-get -qq update >>"$ENV_LOG" 2>&1
    ctx="$WORK/distroless-ctx"; rm -rf "$ctx"; mkdir -p "$ctx"
    for arch in amd64 arm64; do
      if [ "$arch" = arm64 ]; then export APT_CONFIG="$A/apt.conf"; fi
      FLAVOR=python KEEP_WORK=1 WORK="$WORK/distroless-$arch" TAG="moontv-ci-standin/distroless-$arch" \
        bash "$SHARED/mk-distroless.sh" >>"$ENV_LOG" 2>&1
      unset APT_CONFIG
      tar --numeric-owner -C "$WORK/distroless-$arch/root" -cf "$ctx/rootfs-$arch.tar" .
      rm -rf "$WORK/distroless-$arch"
      docker image rm "moontv-ci-standin/distroless-$arch:latest" "moontv-ci-standin/distroless-$arch:nonroot" >/dev/null 2>&1 || true
    done
    cp "$HERE/standins/distroless-python.Dockerfile" "$ctx/Dockerfile"
    docker buildx build -q --platform linux/amd64,linux/arm64 -t gcr.io/distroless/python3-debian12:latest "$ctx" >>"$ENV_LOG" 2>&1
    rm -rf "$ctx"
  fi
  for target in redis prometheus node-exporter redis-exporter; do
    case $target in
      redis) tag=redis:7.2-bookworm ;;
      prometheus) tag=prom/prometheus:v2.53.2 ;;
      node-exporter) tag=prom/node-exporter:v1.8.2 ;;
      redis-exporter) tag=oliver006/redis_exporter:v1.62.0 ;;
    esac
    docker image inspect "$tag" >/dev/null 2>&1 && continue
    step "stand-in $tag" "$WORK/standin-$target.log"
    docker buildx build -q --target "$target" -t "$tag" -f "$HERE/standins/services.Dockerfile" "$HERE/standins" >"$ENV_LOG" 2>&1
  done
  echo "container-env: stand-in images ready in $(( $(now) - t )) s"
fi
echo "container-env: engine $(docker version -f '{{.Server.Version}}'), buildx $(docker buildx version | awk '{print $2}'), $(docker compose version --short 2>/dev/null) compose; ready in $(( $(now) - t_all )) s"
trap - ERR
