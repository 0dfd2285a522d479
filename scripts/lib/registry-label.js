"use strict";
// node scripts/lib/registry-label.js <registry host:port> <repository> <label> <tag>...
// Prints "<tag> <value>" per tag: the value of an image label as stored in the
// registry (manifest -> config blob), or "-" when the tag or the label is absent.
// One process for all tags, since starting node is the slow part of scripts/images.

const MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json";

async function labelOf(base, tag, label) {
  const manifest = await fetch(`${base}/manifests/${encodeURIComponent(tag)}`, {
    headers: { accept: MANIFEST_V2 },
  });
  if (manifest.status === 404) return null;
  if (!manifest.ok) throw new Error(`GET manifest ${tag}: HTTP ${manifest.status}`);
  const { config } = await manifest.json();
  if (!config?.digest) return null; // not a schema 2 image manifest
  const blob = await fetch(`${base}/blobs/${config.digest}`);
  if (!blob.ok) throw new Error(`GET config blob of ${tag}: HTTP ${blob.status}`);
  const image = await blob.json();
  return image.config?.Labels?.[label] ?? null;
}

async function main() {
  const [registry, repository, label, ...tags] = process.argv.slice(2);
  if (!registry || !repository || !label || tags.length === 0) {
    console.error("usage: node registry-label.js <registry> <repository> <label> <tag>...");
    process.exit(2);
  }
  const base = `http://${registry}/v2/${repository}`;
  const values = await Promise.all(tags.map((tag) => labelOf(base, tag, label)));
  tags.forEach((tag, i) => console.log(`${tag} ${values[i] ?? "-"}`));
}

main().catch((err) => {
  console.error(`registry-label: ${err.message}`);
  process.exit(1);
});
