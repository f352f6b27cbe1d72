#!/usr/bin/env bash
# Makes a release from the current commit: every asset into dist/release/ and a tag whose tree runs as a GitHub Action.
#   bash scripts/release.sh [--tag TAG] [--action-only] [--bundle FILE] [--plugin FILE] [--out DIR]
# TAG defaults to the package.json version (e.g. 0.1.0; a leading `v` is allowed and kept in the tag only).
# Assets (DIR, default dist/release): wasmci-linux-x64 and wasmci-linux-arm64 (single executables with the secrets
# plugin inside), wasmci-VERSION.tgz (npm pack), wasmci-image.oci.tar (docker load / podman load), SHA256SUMS.
# The tag: the bundle and the plugin are gitignored, so `uses: OWNER/wasmci@TAG` on a plain source tag dies with
# MODULE_NOT_FOUND. The tag therefore points at a release commit made beside the branch (its parent is HEAD; the
# branch does not move): HEAD's tree plus runner/dist/wasmci.cjs and plugins/secrets/dist/secrets.wasm, force-added
# through a private index. Push it with `git push origin TAG`. --action-only makes only that commit and tag (tests).
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(node -p 'require("./package.json").version')
tag=$version
action_only=0
bundle=""
plugin=""
out=dist/release
while (($#)); do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    --action-only) action_only=1; shift ;;
    --bundle) bundle=$2; shift 2 ;;
    --plugin) plugin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "release.sh: unknown argument $1 (see the header of scripts/release.sh)" >&2; exit 2 ;;
  esac
done
if [[ $action_only == 0 && ( -n $bundle || -n $plugin ) ]]; then
  echo "release.sh: --bundle/--plugin go with --action-only (a full release builds and packs runner/dist itself)" >&2
  exit 2
fi
if [[ ${tag#v} != "$version" ]]; then
  echo "release.sh: tag $tag does not match package.json version $version: bump the version first" >&2
  exit 2
fi
if [[ -n $(git status --porcelain --untracked-files=no) ]]; then
  echo "release.sh: the work tree has uncommitted changes: commit them first (a tag must name what was built)" >&2
  exit 2
fi
if git rev-parse -q --verify "refs/tags/$tag" >/dev/null; then
  echo "release.sh: tag $tag exists already: delete it (git tag -d $tag) or bump the version" >&2
  exit 2
fi

# 1. The bundle and the plugin, built from this commit unless given.
if [[ -z $bundle || -z $plugin ]]; then
  node scripts/build.mjs
fi
bundle=${bundle:-runner/dist/wasmci.cjs}
plugin=${plugin:-plugins/secrets/dist/secrets.wasm}

# 2. The release commit for the Action: HEAD's tree plus the two built files, through a private index.
index=$(mktemp)
trap 'rm -f "$index"' EXIT
export GIT_INDEX_FILE=$index
git read-tree HEAD
add_file() { # add_file SOURCE PATH-IN-TREE
  local blob
  blob=$(git hash-object -w "$1")
  git update-index --add --cacheinfo "100644,$blob,$2"
}
add_file "$bundle" runner/dist/wasmci.cjs
add_file "$plugin" plugins/secrets/dist/secrets.wasm
tree=$(git write-tree)
unset GIT_INDEX_FILE
commit=$(git commit-tree "$tree" -p HEAD -m "release $tag: the GitHub Action's built files (runner/dist/wasmci.cjs, plugins/secrets/dist/secrets.wasm)")
git tag -a "$tag" "$commit" -m "wasmci $version"
echo "release.sh: tag $tag -> $commit (HEAD $(git rev-parse --short HEAD) + built Action files); push with: git push origin $tag"
[[ $action_only == 1 ]] && exit 0

# 3. The assets.
mkdir -p "$out"
for arch in x64 arm64; do
  node scripts/sea.mjs --arch "$arch" --bundle "$bundle" --plugin "$plugin" --out "$out/wasmci-linux-$arch" >/dev/null
done
npm pack --pack-destination "$out" --ignore-scripts --silent >/dev/null # built in step 1
bash scripts/image.sh --bundle "$bundle" --plugin "$plugin" --out "$out/wasmci-image.oci.tar"
(cd "$out" && sha256sum wasmci-linux-x64 wasmci-linux-arm64 "wasmci-$version.tgz" wasmci-image.oci.tar >SHA256SUMS)
echo "release.sh: assets in $out:"
cat "$out/SHA256SUMS"
