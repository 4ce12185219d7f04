# MoonTV container image: four stages, one file.
#
#   (a) system-base   Debian 12 + its python3 (3.11, the interpreter of the distroless runtime)
#   (b) dependencies  py-deps (runtime wheels for the TARGET arch, resolved on the build machine)
#                     and web-assets (npm ci + front-end build) run in parallel
#   (c) app           the moontv wheel, installed and compiled to bytecode; the distroless root
#                     filesystem slimmed (runtime-root: libraries and standard-library parts the
#                     server never loads removed) with the standard-library bytecode a start needs
#   (d) runtime       that distroless Python (Debian 12) root: no shell, uid 1001, read-only root OK
#
# Every build stage runs on $BUILDPLATFORM; the runtime stage only copies files, so an arm64 image
# builds on an amd64 machine without emulation:
#   docker buildx build --platform linux/amd64,linux/arm64 -t moontv:latest .
# Base images are pinned by digest; `python3 scripts/moontv_ops.py pin` refreshes the pins.
# Build and measure with scripts/moontv_ops.py (see docs/deploy.md).

ARG DEBIAN_IMAGE=debian:12-slim@sha256:d5d3f9c23164ea16f31852f95bd5959aad1c5e854332fe00f7b3a20fcc9f635c
ARG NODE_IMAGE=node:20-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0
ARG RUNTIME_IMAGE=gcr.io/distroless/python3-debian12@sha256:7d1042ce588ab97019fe95c24ffca7bc5a82ccdac572511d5e09bda4435c89c5

# ---------------------------------------------------------------------------------------------
# (a) system base
FROM --platform=$BUILDPLATFORM ${DEBIAN_IMAGE} AS system-base
ARG CACHE_NS=moontv
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_WARN_SCRIPT_LOCATION=1 PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8
# Debian's current bookworm packages (security updates included) on a digest-pinned base: no version pins.
# hadolint ignore=DL3008
RUN --mount=type=cache,id=${CACHE_NS}-apt-archives,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,id=${CACHE_NS}-apt-lists,target=/var/lib/apt/lists,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        python3 python3-venv binutils-x86-64-linux-gnu binutils-aarch64-linux-gnu >/dev/null \
 && python3 -m venv /opt/build
RUN --mount=type=cache,id=${CACHE_NS}-pip,target=/root/.cache/pip \
    /opt/build/bin/pip install -q "setuptools>=68" wheel
COPY deploy/docker/pybuild.py deploy/docker/runtime_root.py /usr/local/bin/

# ---------------------------------------------------------------------------------------------
# (b) dependency resolution: runtime requirements -> wheels for the target arch, slimmed
FROM system-base AS py-reqs
COPY pyproject.toml /build/pyproject.toml
RUN python3 /usr/local/bin/pybuild.py requirements /build/pyproject.toml /build/requirements.txt

# The runtime venv: wheels for TARGETARCH (manylinux, glibc <= 2.36), stripped, tests dropped,
# bytecode compiled. Only requirements.txt is copied in, so a change elsewhere in pyproject.toml
# (test tools, version) keeps this layer cached.
FROM system-base AS py-deps
ARG TARGETARCH
ARG CACHE_NS=moontv
COPY --from=py-reqs /build/requirements.txt /build/requirements.txt
# the --platform arguments are meant to split into words
# hadolint ignore=SC2046
RUN --mount=type=cache,id=${CACHE_NS}-pip,target=/root/.cache/pip \
    python3 -m venv --without-pip /opt/venv \
 && /opt/build/bin/pip install -q --no-compile --only-binary=:all: \
        --implementation cp --python-version 3.11 --abi cp311 \
        $(python3 /usr/local/bin/pybuild.py pip-platforms "$TARGETARCH") \
        --target /opt/venv/lib/python3.11/site-packages -r /build/requirements.txt \
 && python3 -X no_debug_ranges /usr/local/bin/pybuild.py slim /opt/venv/lib/python3.11/site-packages "$TARGETARCH" \
 && rm -f /opt/venv/bin/activate* /opt/venv/bin/Activate.ps1

# The same requirements for the build machine itself, to run the server once in the probe below.
FROM system-base AS py-deps-native
ARG CACHE_NS=moontv
COPY --from=py-reqs /build/requirements.txt /build/requirements.txt
RUN --mount=type=cache,id=${CACHE_NS}-pip,target=/root/.cache/pip \
    python3 -m venv --without-pip /opt/venv \
 && /opt/build/bin/pip install -q --no-compile --only-binary=:all: \
        --target /opt/venv/lib/python3.11/site-packages -r /build/requirements.txt

# Front-end assets (hls.js from npm, pinned by package-lock.json), built by the project's script.
FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS web-assets
ARG CACHE_NS=moontv
WORKDIR /web
COPY package.json package-lock.json ./
COPY scripts/build_frontend.sh scripts/build_frontend.sh
RUN --mount=type=cache,id=${CACHE_NS}-npm,target=/root/.npm \
    scripts/build_frontend.sh \
 && test -s src/moontv/web/static/vendor/hls.min.js

# ---------------------------------------------------------------------------------------------
# (c) application build: wheel -> installed package + launcher, compiled; the data directory
FROM system-base AS app
COPY pyproject.toml README.md /src/
COPY src /src/src
RUN /opt/build/bin/pip wheel -q --no-deps --no-build-isolation -w /dist /src \
 && /opt/build/bin/pip install -q --no-deps --no-compile --target /app/site /dist/moontv-*.whl \
 && rm -rf /app/site/bin \
 && python3 /usr/local/bin/pybuild.py verify-package /src/src/moontv /app/site/moontv \
 && python3 -X no_debug_ranges -m compileall -q -j 0 --invalidation-mode unchecked-hash /app/site \
 && mkdir -p /app/bin /app/rootfs/data /app/rootfs/config \
 && chmod 1777 /app/rootfs/data \
 && printf '%s\n' '#!/opt/venv/bin/python' 'import sys' 'from moontv.cli import main' \
        'sys.exit(main())' > /app/bin/moontv \
 && chmod 0755 /app/bin/moontv

# Which standard-library modules a start imports: import-list reads which modules the app imports
# (AST); the probe imports them and serves requests with uvicorn, then lists the standard-library
# modules that were loaded. A source change that adds no import keeps the probe cached.
FROM system-base AS import-list
COPY --from=app /app/site/moontv /scan/moontv
RUN python3 /usr/local/bin/pybuild.py import-list /scan/moontv /imports.txt

FROM py-deps-native AS stdlib-list
COPY --from=import-list /imports.txt /imports.txt
RUN python3 /usr/local/bin/pybuild.py stdlib-probe /opt/venv /imports.txt /stdlib-modules.txt

# The runtime's root filesystem: the distroless base (TARGET arch) minus what the server never
# loads (deploy/docker/runtime_root.py lists each removed part and checks every remaining shared
# object still finds its libraries), plus unchecked-hash bytecode of the listed standard-library
# modules, compiled from the base's own sources (the image is immutable: a start reads no source).
FROM ${RUNTIME_IMAGE} AS runtime-base

FROM system-base AS runtime-root
ARG TARGETARCH
COPY --from=runtime-base / /rootfs/
COPY --from=stdlib-list /stdlib-modules.txt /stdlib-modules.txt
COPY --from=py-deps /opt/venv/ /check/opt/venv/
RUN python3 -X no_debug_ranges /usr/local/bin/runtime_root.py /rootfs "$TARGETARCH" /stdlib-modules.txt /check

# ---------------------------------------------------------------------------------------------
# (d) production runtime
FROM scratch AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="MoonTV (Python)" \
      org.opencontainers.image.description="Self-hosted video aggregation server (Apple CMS v10 search, HLS playback)" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=runtime-root /rootfs/ /
COPY --link --from=py-deps /opt/venv/ /opt/venv/
COPY --link --from=app /app/site/ /opt/venv/lib/python3.11/site-packages/
COPY --link --from=web-assets /web/src/moontv/web/static/vendor/ /opt/venv/lib/python3.11/site-packages/moontv/web/static/vendor/
COPY --link --from=app /app/bin/moontv /opt/venv/bin/moontv
COPY --link --from=app /app/rootfs/ /
ENV PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MOONTV_HOST=0.0.0.0 \
    PORT=3000 \
    MOONTV_DATA_DIR=/data \
    MOONTV_CONFIG=/config/config.json \
    MOONTV_LOG_FORMAT=json
# Any uid works (--user 1234:1234, Kubernetes runAsUser): /data is world-writable (sticky), nothing
# else is written, so --read-only is fine. Mount a volume on /data to keep the SQLite database.
USER 1001:1001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
# The server is PID 1 and handles SIGTERM itself: it drains requests and exits 0 (no shell, no init).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s --start-interval=1s --retries=3 \
    CMD ["/opt/venv/bin/moontv", "healthcheck"]
ENTRYPOINT ["/opt/venv/bin/moontv"]
CMD ["serve"]
