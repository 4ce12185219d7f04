# CI environment shim (not part of the product): stand-ins for the compose stack's service images,
# made from Debian 12 packages because no container registry is reachable here. Each target is
# tagged with the upstream name compose.yaml uses and keeps the upstream entrypoint path.
FROM debian:12-slim AS apt-base
RUN apt-get update -qq

FROM apt-base AS redis
RUN DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /data && chown redis:redis /data
WORKDIR /data
CMD ["redis-server"]

FROM apt-base AS prometheus
RUN DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /prometheus /etc/prometheus && chown 65534:65534 /prometheus
USER 65534
WORKDIR /prometheus
ENTRYPOINT ["/bin/prometheus"]

FROM apt-base AS node-exporter
RUN DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-node-exporter >/dev/null \
 && rm -rf /var/lib/apt/lists/* && ln -s /usr/bin/prometheus-node-exporter /bin/node_exporter
USER 65534
ENTRYPOINT ["/bin/node_exporter"]

FROM apt-base AS redis-exporter
RUN DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-redis-exporter >/dev/null \
 && rm -rf /var/lib/apt/lists/* && ln -s /usr/bin/prometheus-redis-exporter /redis_exporter
USER 59000
ENTRYPOINT ["/redis_exporter"]
