# wasmci: the single executable (Node SEA), a static busybox shell, git for diff/history scans, CA certificates and
# the secrets plugin baked into a read-only seed cache, so `wasmci scan` works with no network.
# Build with `npm run image` (scripts/image.sh prepares dist/image/rootfs, then builds this file reproducibly).
# No ENTRYPOINT on purpose: `docker run IMAGE wasmci scan ...` and GitLab's `image:` + `script:` (which runs the
# job script through /bin/sh) both work.
FROM scratch

COPY dist/image/rootfs/ /

ENV PATH=/usr/local/bin:/usr/bin:/bin \
    HOME=/tmp \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    WASMCI_SEED_CACHE=/usr/local/share/wasmci/cache

LABEL org.opencontainers.image.title="wasmci" \
      org.opencontainers.image.description="Run sandboxed WebAssembly plugins (secrets scanner included) as CI steps"

USER 10001:10001
WORKDIR /tmp
CMD ["wasmci", "--help"]
