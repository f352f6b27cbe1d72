#!/usr/bin/env bash
# Builds the wasmci container image reproducibly and writes it as an OCI archive.
#   bash scripts/image.sh [--out FILE] [--tag NAME] [--arch x64|arm64] [--bundle FILE] [--plugin FILE]
#                         [--work DIR] [--rootfs-only] [--push DEST]
# Steps: the single executable (scripts/sea.mjs) -> a rootfs in WORK/rootfs (--work, default dist/image) holding exactly what it needs
# (the executable, the shared libraries ldd lists, static busybox as /bin/sh, git with its http(s) transport for
# diff/history scans and `git fetch --deepen`, CA certificates, passwd/group, /tmp, the secrets plugin in a
# read-only seed cache) -> the Dockerfile (FROM scratch + COPY) built by buildah without a daemon, with the OCI
# labels (version, revision, created = the commit time) -> an archive (default dist/wasmci-image.oci.tar) that is
# both an OCI layout and a `docker load` archive (scripts/image-archive.mjs), tagged --tag (default the README's
# registry.gitlab.com/wasmci/wasmci:VERSION). Every file gets the commit's timestamp (SOURCE_DATE_EPOCH) and the
# build runs with --timestamp, so two builds of one commit give the same image digest. --push DEST also pushes
# (e.g. docker://registry.example.com/group/wasmci:1.0.0).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

out=dist/wasmci-image.oci.tar
version=$(node -p 'require("./package.json").version')
tag=registry.gitlab.com/wasmci/wasmci:$version
arch=x64
rootfs_only=0
work=dist/image
push=""
bundle=()
plugin=plugins/secrets/dist/secrets.wasm
while (($#)); do
  case $1 in
    --out) out=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    --bundle) bundle=(--bundle "$2"); shift 2 ;;
    --plugin) plugin=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --rootfs-only) rootfs_only=1; shift ;;
    --push) push=$2; shift 2 ;;
    *) echo "image.sh: unknown argument $1 (see the header of scripts/image.sh)" >&2; exit 2 ;;
  esac
done
# The commit's time, so `created` says when the source was made (not 1970) and a rebuild of a commit is identical.
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
started=$(date +%s)

if [[ $arch != x64 && $rootfs_only == 0 ]]; then
  # The libraries come from this machine's ldd; another arch needs that arch's libc (a cross sysroot or a native build).
  echo "image.sh: only x64 images are assembled on this machine; sea.mjs --arch $arch builds the executable" >&2
  exit 2
fi

# 1. The executable and the plugin to bake in.
# Everything this build writes lies under WORK/rootfs (builds with different --work dirs can run side by side).
rootfs=$work/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs/usr/local/bin"
sea=$rootfs/usr/local/bin/wasmci
node scripts/sea.mjs --arch "$arch" --out "$sea" "${bundle[@]}" >/dev/null
[[ -f $plugin || $plugin != plugins/secrets/dist/secrets.wasm ]] || bash plugins/secrets/build.sh
[[ -f $plugin ]] || { echo "image.sh: $plugin is missing and plugins/secrets/build.sh did not produce it" >&2; exit 1; }

# 2. The rootfs.
mkdir -p "$rootfs"/{bin,etc/ssl/certs,usr/local/bin,usr/bin,usr/local/share/wasmci,tmp}
chmod 1777 "$rootfs/tmp"
install -m 0755 /usr/bin/git "$rootfs/usr/bin/git"
# git runs its transports as helpers from its exec path: without them `git fetch https://…` fails with
# "git: 'remote-https' is not a git command". curl is linked into them (libcurl and its TLS/HTTP2 libraries,
# ~6 MB); the CA bundle below is what they verify against (SSL_CERT_FILE / git's http.sslCAInfo default).
gitcore=$(git --exec-path)
mkdir -p "$rootfs$gitcore"
install -m 0755 "$gitcore/git-remote-http" "$rootfs$gitcore/git-remote-http"
ln -s git-remote-http "$rootfs$gitcore/git-remote-https" # one program (hard links in Debian's package)

# Exactly the libraries the dynamic binaries link against, at the paths ldd names (the loader included).
copy_libs() {
  local lib
  for lib in $(ldd "$1" | grep -oE '/[^ ]+' | sort -u); do
    [[ -e $rootfs$lib ]] && continue
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
}
copy_libs "$rootfs/usr/local/bin/wasmci"
copy_libs "$rootfs/usr/bin/git"
copy_libs "$rootfs$gitcore/git-remote-https"
# `git fetch` runs `git index-pack`/`fetch-pack` as "git" from its exec path first.
ln -s ../../bin/git "$rootfs$gitcore/git"

busybox=$(command -v busybox || true)
[[ -n $busybox ]] && ! ldd "$busybox" >/dev/null 2>&1 || {
  echo "image.sh: a static busybox is needed for /bin/sh (apt-get install busybox-static)" >&2
  exit 1
}
install -m 0755 "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [[ -e $rootfs/bin/$applet || -e $rootfs/usr/bin/$applet ]] || ln -s busybox "$rootfs/bin/$applet"
done
ln -s ../../bin/busybox "$rootfs/usr/bin/env" # for `#!/usr/bin/env` scripts

cp -L /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/bin/sh\nwasmci:x:10001:10001:wasmci:/tmp:/bin/sh\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nwasmci:x:10001:\n' >"$rootfs/etc/group"
# The checkout belongs to another user in CI (GitLab's helper clones as root); git must still read it.
printf '[safe]\n\tdirectory = *\n' >"$rootfs/etc/gitconfig"

# The baked plugin: a seed cache with the same layout as wasmci's own cache (blobs by sha256 + one index entry per
# reference), read-only, found through WASMCI_SEED_CACHE. The plain file is for `wasmci scan --plugin PATH`.
seed=$rootfs/usr/local/share/wasmci/cache
digest=$(sha256sum "$plugin" | cut -d' ' -f1)
mkdir -p "$seed/blobs/sha256" "$rootfs/usr/local/share/wasmci/plugins"
install -m 0644 "$plugin" "$seed/blobs/sha256/$digest"
# A hard link, so the layer holds the plugin's bytes once (6 MB pre-initialised; gzip does not see the twin).
ln -f "$seed/blobs/sha256/$digest" "$rootfs/usr/local/share/wasmci/plugins/secrets.wasm"
if "$sea" pull --help >/dev/null 2>&1; then
  # Index entries for the references the scan command resolves by default, written by wasmci itself so the
  # layout always matches the runner that reads it.
  for ref in ${WASMCI_BAKED_REFS:-}; do
    WASMCI_CACHE_DIR=$seed WASMCI_SEED_CACHE= "$sea" pull "$ref"
  done
fi

find "$rootfs" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
echo "image.sh: rootfs $(du -sh --apparent-size "$rootfs" | cut -f1) in $rootfs"
[[ $rootfs_only == 1 ]] && exit 0

# 3. The image: private storage so builds never share state, vfs + chroot isolation so no daemon or privileges
# beyond root are needed; --timestamp pins created times and file times in the layer.
command -v buildah >/dev/null || { echo "image.sh: buildah is needed (apt-get install buildah)" >&2; exit 1; }
store=$(mktemp -d "${TMPDIR:-/tmp}/wasmci-buildah-XXXXXX")
trap 'buildah --root "$store/root" --runroot "$store/run" --storage-driver vfs rm -a >/dev/null 2>&1 || true; rm -rf "$store"' EXIT
bah=(buildah --root "$store/root" --runroot "$store/run" --storage-driver vfs)
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
labels=(
  --label "org.opencontainers.image.source=${WASMCI_IMAGE_SOURCE:-https://gitlab.com/wasmci/wasmci}"
  --label "org.opencontainers.image.version=$version"
  --label "org.opencontainers.image.revision=$revision"
  --label "org.opencontainers.image.created=$created"
  --label "org.opencontainers.image.licenses=$(node -p 'require("./package.json").license')"
)
"${bah[@]}" bud --quiet --isolation chroot --timestamp "$SOURCE_DATE_EPOCH" --omit-history --format oci \
  "${labels[@]}" -f Dockerfile -t "$tag" "$work" >/dev/null
mkdir -p "$(dirname "$out")"
rm -f "$out.tmp"
"${bah[@]}" push --quiet --format oci --compression-format "${WASMCI_IMAGE_COMPRESSION:-gzip}" --compression-level "${WASMCI_IMAGE_COMPRESSION_LEVEL:-9}" "$tag" "oci:$store/layout:$tag"
# One file for both `docker load` (manifest.json, Docker 20.10+) and OCI tools (`podman load`, skopeo: index.json).
node scripts/image-archive.mjs "$store/layout" "$out.tmp" "$tag" >"$store/digest"
mv -f "$out.tmp" "$out"
if [[ -n $push ]]; then
  "${bah[@]}" push --quiet --format oci "$tag" "$push"
fi
echo "image.sh: $out $(cat "$store/digest") ($(stat -c %s "$out") bytes) in $(($(date +%s) - started)) s"
