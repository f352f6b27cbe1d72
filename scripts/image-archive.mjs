#!/usr/bin/env node
// Turns the OCI layout buildah wrote into the one archive wasmci ships: an OCI image layout (index.json, oci-layout,
// blobs/ — what `podman load`, skopeo and containerd read) that is also a `docker load` archive (Docker 20.10 reads
// only manifest.json: [{Config, RepoTags, Layers}] with paths into the same blobs, so nothing is stored twice).
// This is the layout `docker save` itself writes since Docker 25.
//   node scripts/image-archive.mjs LAYOUT_DIR OUT.tar TAG      prints the image manifest's digest
// Rules: the tag is written both ways (RepoTags; the index's ref.name and io.containerd.image.name), annotations
// with empty values (buildah writes org.opencontainers.image.base.{name,digest} = "" for FROM scratch) are dropped,
// and the tar is byte-for-byte reproducible (sorted names, SOURCE_DATE_EPOCH times, uid/gid 0).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [layout, out, tag] = process.argv.slice(2);
if (!layout || !out || !tag) {
  process.stderr.write('usage: node scripts/image-archive.mjs LAYOUT_DIR OUT.tar TAG\n');
  process.exit(2);
}
const blobPath = (digest) => path.join(layout, 'blobs', ...digest.split(':'));
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

const index = readJson(path.join(layout, 'index.json'));
if (index.manifests?.length !== 1) throw new Error(`expected one image in ${layout}, found ${index.manifests?.length}`);
const entry = index.manifests[0];
const manifest = readJson(blobPath(entry.digest));

const annotations = Object.fromEntries(Object.entries(manifest.annotations ?? {}).filter(([, v]) => v !== ''));
if (Object.keys(annotations).length) manifest.annotations = annotations;
else delete manifest.annotations;
const manifestBytes = Buffer.from(JSON.stringify(manifest));
const digest = `sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`;
if (digest !== entry.digest) {
  rmSync(blobPath(entry.digest));
  writeFileSync(blobPath(digest), manifestBytes);
}
index.manifests = [
  {
    mediaType: entry.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
    digest,
    size: manifestBytes.length,
    annotations: { 'io.containerd.image.name': tag, 'org.opencontainers.image.ref.name': tag },
  },
];
writeFileSync(path.join(layout, 'index.json'), JSON.stringify(index));

const rel = (d) => path.posix.join('blobs', ...d.split(':'));
writeFileSync(
  path.join(layout, 'manifest.json'),
  JSON.stringify([
    { Config: rel(manifest.config.digest), RepoTags: [tag], Layers: manifest.layers.map((l) => rel(l.digest)) },
  ]),
);

const epoch = process.env.SOURCE_DATE_EPOCH ?? '0';
execFileSync('tar', [
  '--create',
  '--file',
  out,
  '--directory',
  layout,
  '--sort=name',
  '--format=gnu',
  `--mtime=@${epoch}`,
  '--owner=0',
  '--group=0',
  '--numeric-owner',
  '--mode=a+rX,u+w,go-w',
  'oci-layout',
  'index.json',
  'manifest.json',
  'blobs',
]);
process.stdout.write(`${digest}\n`);
