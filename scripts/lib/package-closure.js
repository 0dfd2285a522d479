"use strict";
// node scripts/lib/package-closure.js <node_modules dir> <package>...
// Prints the top-level folders of <node_modules dir> that the given packages need
// at run time (dependencies and installed optionalDependencies, transitively), one
// per line, sorted. Copying those folders gives a working node_modules without
// running npm: scripts/images uses it to put `pg` into the hunter image.
// A package nested under another's node_modules travels with its parent folder.

const fs = require("node:fs");
const path = require("node:path");

function readManifest(dir) {
  return JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
}

/** Node's lookup: <dir>/node_modules/<name> for <from> and each parent, up to <top>. */
function resolve(name, from, top) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== "node_modules") {
      const candidate = path.join(dir, "node_modules", name);
      if (fs.existsSync(path.join(candidate, "package.json"))) return candidate;
    }
    if (dir === top || dir === path.dirname(dir)) return null;
  }
}

function closure(root, names) {
  const top = path.dirname(root);
  const seen = new Set();
  const topLevel = new Set();
  const queue = names.map((name) => ({ name, from: top, optional: false }));
  while (queue.length > 0) {
    const { name, from, optional } = queue.shift();
    const dir = resolve(name, from, top);
    if (!dir) {
      if (optional) continue;
      throw new Error(`${name} (needed from ${from}) is not installed; run npm ci`);
    }
    if (seen.has(dir)) continue;
    seen.add(dir);
    // The top-level folder that contains this package ("@scope/x" counts as one).
    const rel = path.relative(root, dir).split(path.sep);
    topLevel.add(rel[0].startsWith("@") ? `${rel[0]}/${rel[1]}` : rel[0]);
    const manifest = readManifest(dir);
    for (const dep of Object.keys(manifest.dependencies ?? {})) {
      queue.push({ name: dep, from: dir, optional: false });
    }
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) {
      queue.push({ name: dep, from: dir, optional: true });
    }
  }
  return [...topLevel].sort();
}

const [root, ...names] = process.argv.slice(2);
if (!root || names.length === 0) {
  console.error("usage: node package-closure.js <node_modules dir> <package>...");
  process.exit(2);
}
try {
  for (const name of closure(path.resolve(root), names)) console.log(name);
} catch (err) {
  console.error(`package-closure: ${err.message}`);
  process.exit(1);
}
