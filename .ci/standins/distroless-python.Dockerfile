# CI environment shim (not part of the product): a multi-platform stand-in for
# gcr.io/distroless/python3-debian12, assembled from the per-arch root filesystems that
# ../shared/container/mk-distroless.sh extracts from Debian 12 packages. No RUN step, so no emulation.
FROM scratch
ARG TARGETARCH
ADD rootfs-${TARGETARCH}.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    LANG=C.UTF-8
ENTRYPOINT ["/usr/bin/python3.11"]
