# wasmci: the single executable (Node SEA), a static busybox shell, git for diff/history scans, CA certificates and
# the secrets plugin baked into a read-only seed cache, so `wasmci scan` works with no network.
# Build with `npm run image` (scripts/image.sh prepares WORK/rootfs, default dist/image, and
# builds this file with WORK as the context, reproducibly).
# No ENTRYPOINT on purpose: `docker run IMAGE wasmci scan ...` and GitLab's `image:` + `script:` (which runs the
# job script through /bin/sh) both work.
FROM scratch

COPY rootfs/ /

ENV PATH=/usr/local/bin:/usr/bin:/bin \
    HOME=/tmp \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    WASMCI_SEED_CACHE=/usr/local/share/wasmci/cache

LABEL org.opencontainers.image.title="wasmci" \
      org.opencontainers.image.description="Run sandboxed WebAssembly plugins (secrets scanner included) as CI steps"

# root by default: GitLab runs a job with the image's default user and nothing in `image:` changes it, and a
# project dir the runner created root-owned with mode 755 (Kubernetes executor, FF_DISABLE_UMASK_FOR_DOCKER_EXECUTOR)
# is writable by root alone. `docker run` lines pass --user "$(id -u):$(id -g)" so reports belong to the caller.
# The isolation that matters is the wasm sandbox; the image holds no package manager and no setuid file.
USER 0:0
WORKDIR /tmp
CMD ["wasmci", "--help"]
